"""WebSocket frames: parsing client frames, wire shapes of server frames, bad frames."""

from __future__ import annotations

from typing import Any

import pytest
from edgewise.host.errors import ActorNotFound, RequestInvalid
from edgewise.host.protocol.errors import error_body, error_frame, error_status
from edgewise.host.protocol.messages import (
    ActionFrame,
    ConnectFrame,
    ErrorFrame,
    EventFrame,
    InitFrame,
    ResultFrame,
    SubscribeFrame,
    UnsubscribeFrame,
    parse_client_frame,
    parse_server_frame,
    readable_id,
    to_wire,
)


@pytest.mark.parametrize(
    ("raw", "frame"),
    [
        ({"t": "connect", "params": {"user": "ann"}}, ConnectFrame({"user": "ann"})),
        ({"t": "connect"}, ConnectFrame(None)),
        (
            {"t": "action", "id": 7, "name": "increment", "args": [5]},
            ActionFrame(7, "increment", (5,)),
        ),
        ({"t": "action", "id": "x1", "name": "get"}, ActionFrame("x1", "get", ())),
        ({"t": "subscribe", "event": "newCount"}, SubscribeFrame("newCount")),
        ({"t": "unsubscribe", "event": "newCount"}, UnsubscribeFrame("newCount")),
    ],
)
def test_client_frames_parse_and_round_trip(raw: dict[str, Any], frame: object) -> None:
    parsed = parse_client_frame(raw)
    assert parsed == frame
    assert parse_client_frame(to_wire(parsed)) == frame


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([1], "frame must be a map"),
        ({"t": "shout"}, "unknown frame type"),
        ({}, "unknown frame type"),
        ({"t": "action", "name": "get"}, "id must be"),
        ({"t": "action", "id": -1, "name": "get"}, "id must be"),
        ({"t": "action", "id": True, "name": "get"}, "id must be"),
        ({"t": "action", "id": 1, "name": ""}, "name must be a non-empty string"),
        ({"t": "action", "id": 1, "name": "get", "args": {"a": 1}}, "args must be a list"),
        ({"t": "subscribe", "event": 3}, "event must be a non-empty string"),
    ],
)
def test_bad_client_frames(raw: object, words: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        parse_client_frame(raw)
    assert words in info.value.message


def test_readable_id_of_a_bad_action_frame() -> None:
    assert readable_id({"t": "action", "id": 9, "args": "nope"}) == 9
    assert readable_id({"t": "action", "id": [1]}) is None
    assert readable_id("not a map") is None


def test_server_frames_wire_shapes() -> None:
    assert to_wire(InitFrame("a" * 32, 3)) == {"t": "init", "actor_id": "a" * 32, "conn_id": 3}
    assert to_wire(ResultFrame(1, [2])) == {"t": "result", "id": 1, "output": [2]}
    assert to_wire(ErrorFrame(None, "c.x", "m")) == {"t": "error", "code": "c.x", "message": "m"}
    assert to_wire(ErrorFrame(4, "c.x", "m"))["id"] == 4
    assert to_wire(EventFrame("newCount", (3,))) == {"t": "event", "name": "newCount", "args": [3]}
    for frame in (
        InitFrame("a", 1),
        ResultFrame("i", None),
        ErrorFrame(2, "c", "m"),
        EventFrame("e"),
    ):
        assert parse_server_frame(to_wire(frame)) == frame


def test_bad_server_frames() -> None:
    for raw in ({"t": "init"}, {"t": "result"}, {"t": "nope"}, "x"):
        with pytest.raises(RequestInvalid):
            parse_server_frame(raw)


def test_error_mapping() -> None:
    exc = ActorNotFound("no actor")
    assert error_body(exc) == {"error": {"code": "actor.not_found", "message": "no actor"}}
    assert error_status(exc) == 404
    assert error_frame(exc, 5) == ErrorFrame(5, "actor.not_found", "no actor")
    secret = ValueError("secret detail")
    assert error_body(secret) == {"error": {"code": "internal", "message": "internal error"}}
    assert error_status(secret) == 500
    assert error_frame(secret).message == "internal error"
