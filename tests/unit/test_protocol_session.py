"""The WebSocket session state machine, driven by hand with a fake clock value."""

from __future__ import annotations

from typing import Any

import pytest
from edgewise.host.errors import ConnectionRefused, IllegalTransition
from edgewise.host.protocol.codec import CBOR, JSON, Codec
from edgewise.host.protocol.messages import ActionFrame, ErrorFrame, InitFrame
from edgewise.host.protocol.session import (
    TRANSITIONS,
    ChangeSubscription,
    CloseSocket,
    OpenConnection,
    RunAction,
    SendFrame,
    Session,
    SessionEvent,
    SessionState,
)

ACTOR = "ab" * 16


def new_session(codec: Codec = JSON, now: float = 100.0) -> Session:
    return Session(ACTOR, codec, now=now, connect_timeout_s=2.0, max_bytes=256)


def frame(codec: Codec, **fields: Any) -> bytes:
    return codec.encode(fields)


def open_session(codec: Codec = JSON) -> Session:
    session = new_session(codec)
    assert session.receive(frame(codec, t="connect", params={"user": "a"}), 100.5) == [
        OpenConnection({"user": "a"})
    ]
    assert session.accepted(7) == [SendFrame(InitFrame(ACTOR, 7))]
    return session


def only_error(commands: list[Any]) -> ErrorFrame:
    sent = [c.frame for c in commands if isinstance(c, SendFrame)]
    assert len(sent) == 1 and isinstance(sent[0], ErrorFrame)
    return sent[0]


@pytest.mark.parametrize("codec", [JSON, CBOR], ids=["json", "cbor"])
def test_connect_then_actions_and_subscriptions(codec: Codec) -> None:
    session = open_session(codec)
    assert session.state is SessionState.OPEN
    assert session.deadline is None
    action = frame(codec, t="action", id=1, name="increment", args=[2])
    assert session.receive(action, 200.0) == [RunAction(ActionFrame(1, "increment", (2,)))]
    sub = frame(codec, t="subscribe", event="newCount")
    assert session.receive(sub, 200.0) == [ChangeSubscription("newCount", True)]
    unsub = frame(codec, t="unsubscribe", event="newCount")
    assert session.receive(unsub, 200.0) == [ChangeSubscription("newCount", False)]


def test_connect_timeout_uses_the_given_clock() -> None:
    session = new_session(now=100.0)
    assert session.deadline == 102.0
    assert not session.timed_out(101.9)
    assert session.check_timeout(101.9) == []
    assert session.timed_out(102.0)
    commands = session.check_timeout(102.0)
    assert only_error(commands).code == "connection.connect_timeout"
    assert commands[-1] == CloseSocket("connection.connect_timeout")
    assert session.state is SessionState.CLOSED


def test_a_late_connect_frame_times_out() -> None:
    session = new_session(now=0.0)
    commands = session.receive(frame(JSON, t="connect"), 5.0)
    assert only_error(commands).code == "connection.connect_timeout"
    assert session.state is SessionState.CLOSED


def test_frames_before_connect_are_refused_and_the_session_waits() -> None:
    session = new_session()
    commands = session.receive(frame(JSON, t="action", id=3, name="get"), 100.1)
    error = only_error(commands)
    assert (error.id, error.code) == (3, "connection.not_open")
    assert session.state is SessionState.AWAITING_CONNECT
    assert only_error(session.receive(frame(JSON, t="subscribe", event="e"), 100.1)).id is None


def test_a_second_connect_is_refused() -> None:
    session = open_session()
    error = only_error(session.receive(frame(JSON, t="connect"), 101.0))
    assert error.code == "connection.not_open"
    assert "already connected" in error.message
    assert session.state is SessionState.OPEN


def test_refused_connect_closes() -> None:
    session = new_session()
    session.receive(frame(JSON, t="connect"), 100.0)
    commands = session.refused(ConnectionRefused("user is required"))
    assert only_error(commands) == ErrorFrame(None, "connection.refused", "user is required")
    assert commands[-1] == CloseSocket("connection.refused")
    assert session.state is SessionState.CLOSED


@pytest.mark.parametrize("codec", [JSON, CBOR], ids=["json", "cbor"])
def test_malformed_and_invalid_frames_get_error_frames(codec: Codec) -> None:
    session = open_session(codec)
    assert only_error(session.receive(b"\xff{", 101.0)).code == "request.malformed"
    bad_action = frame(codec, t="action", id=12, name="get", args="no")
    error = only_error(session.receive(bad_action, 101.0))
    assert (error.id, error.code) == (12, "request.invalid")
    assert session.state is SessionState.OPEN


def test_oversized_frame_closes() -> None:
    session = open_session()
    commands = session.receive(b"[" + b"1," * 200 + b"1]", 101.0)
    assert only_error(commands).code == "request.too_large"
    assert commands[-1] == CloseSocket("request.too_large")
    assert session.state is SessionState.CLOSED


def test_illegal_moves_name_state_event_and_actor() -> None:
    session = open_session()
    with pytest.raises(IllegalTransition) as info:
        session.accepted(8)
    assert "open" in info.value.message
    assert "connect_accepted" in info.value.message
    assert ACTOR in info.value.message
    session.close()
    session.close()
    with pytest.raises(IllegalTransition, match="closed"):
        session.receive(frame(JSON, t="action", id=1, name="get"), 101.0)


def test_every_live_state_can_close_and_closed_is_final() -> None:
    for (state, event), (after, _) in TRANSITIONS.items():
        if state is SessionState.CLOSED:
            assert after is SessionState.CLOSED
        if event is SessionEvent.SOCKET_CLOSED:
            assert after is SessionState.CLOSED
