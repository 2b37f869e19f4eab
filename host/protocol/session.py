"""The WebSocket session of one client connection, as a sans-IO state machine.

``awaiting_connect -> connecting -> open -> closed``. The transport feeds raw frames
(``receive``), the outcome of ``Node.connect`` (``accepted`` / ``refused``), clock ticks
(``check_timeout``) and the socket's end (``close``); each returns the commands to carry out
(frames to send, actions to run, subscriptions, closing the socket). Which reaction each
``(state, event)`` pair gets is the transition table ``TRANSITIONS``; a pair missing from it
raises ``IllegalTransition`` naming the state, the event and the actor. Bad frames from
the client are not illegal moves: they are answered with error frames.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from edgewise.host.errors import (
    ConnectionNotOpen,
    ConnectTimeout,
    EdgewiseError,
    IllegalTransition,
    RequestTooLarge,
)
from edgewise.host.protocol.codec import Codec
from edgewise.host.protocol.errors import error_frame
from edgewise.host.protocol.messages import (
    ActionFrame,
    ClientFrame,
    ConnectFrame,
    ErrorFrame,
    FrameId,
    InitFrame,
    ServerFrame,
    SubscribeFrame,
    UnsubscribeFrame,
    parse_client_frame,
    readable_id,
)


class SessionState(enum.Enum):
    AWAITING_CONNECT = "awaiting_connect"
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


class SessionEvent(enum.Enum):
    CONNECT_RECEIVED = "connect_received"
    ACTION_RECEIVED = "action_received"
    SUBSCRIBE_RECEIVED = "subscribe_received"
    BAD_FRAME_RECEIVED = "bad_frame_received"
    OVERSIZED_FRAME_RECEIVED = "oversized_frame_received"
    CONNECT_ACCEPTED = "connect_accepted"
    CONNECT_REFUSED = "connect_refused"
    CONNECT_TIMED_OUT = "connect_timed_out"
    SOCKET_CLOSED = "socket_closed"


class Reaction(enum.Enum):
    OPEN_CONNECTION = "open_connection"
    RUN_ACTION = "run_action"
    CHANGE_SUBSCRIPTION = "change_subscription"
    REJECT_NOT_OPEN = "reject_not_open"
    REJECT_SECOND_CONNECT = "reject_second_connect"
    REJECT_FRAME = "reject_frame"
    REJECT_AND_CLOSE = "reject_and_close"
    SEND_INIT = "send_init"
    NOTHING = "nothing"


# --- commands for the transport ---------------------------------------------------------------


@dataclass(frozen=True)
class SendFrame:
    frame: ServerFrame


@dataclass(frozen=True)
class CloseSocket:
    code: str


@dataclass(frozen=True)
class OpenConnection:
    params: Any


@dataclass(frozen=True)
class RunAction:
    frame: ActionFrame


@dataclass(frozen=True)
class ChangeSubscription:
    event: str
    subscribe: bool


Command = SendFrame | CloseSocket | OpenConnection | RunAction | ChangeSubscription

_S = SessionState
_E = SessionEvent
_R = Reaction
_LIVE = (_S.AWAITING_CONNECT, _S.CONNECTING, _S.OPEN)

TRANSITIONS: dict[tuple[SessionState, SessionEvent], tuple[SessionState, Reaction]] = {
    (_S.AWAITING_CONNECT, _E.CONNECT_RECEIVED): (_S.CONNECTING, _R.OPEN_CONNECTION),
    (_S.AWAITING_CONNECT, _E.ACTION_RECEIVED): (_S.AWAITING_CONNECT, _R.REJECT_NOT_OPEN),
    (_S.AWAITING_CONNECT, _E.SUBSCRIBE_RECEIVED): (_S.AWAITING_CONNECT, _R.REJECT_NOT_OPEN),
    (_S.AWAITING_CONNECT, _E.CONNECT_TIMED_OUT): (_S.CLOSED, _R.REJECT_AND_CLOSE),
    (_S.CONNECTING, _E.CONNECT_RECEIVED): (_S.CONNECTING, _R.REJECT_SECOND_CONNECT),
    (_S.CONNECTING, _E.ACTION_RECEIVED): (_S.CONNECTING, _R.REJECT_NOT_OPEN),
    (_S.CONNECTING, _E.SUBSCRIBE_RECEIVED): (_S.CONNECTING, _R.REJECT_NOT_OPEN),
    (_S.CONNECTING, _E.CONNECT_ACCEPTED): (_S.OPEN, _R.SEND_INIT),
    (_S.CONNECTING, _E.CONNECT_REFUSED): (_S.CLOSED, _R.REJECT_AND_CLOSE),
    (_S.OPEN, _E.CONNECT_RECEIVED): (_S.OPEN, _R.REJECT_SECOND_CONNECT),
    (_S.OPEN, _E.ACTION_RECEIVED): (_S.OPEN, _R.RUN_ACTION),
    (_S.OPEN, _E.SUBSCRIBE_RECEIVED): (_S.OPEN, _R.CHANGE_SUBSCRIPTION),
    (_S.CLOSED, _E.SOCKET_CLOSED): (_S.CLOSED, _R.NOTHING),
    **{(state, _E.BAD_FRAME_RECEIVED): (state, _R.REJECT_FRAME) for state in _LIVE},
    **{(state, _E.OVERSIZED_FRAME_RECEIVED): (_S.CLOSED, _R.REJECT_AND_CLOSE) for state in _LIVE},
    **{(state, _E.SOCKET_CLOSED): (_S.CLOSED, _R.NOTHING) for state in _LIVE},
}


class Session:
    """One WebSocket connection to one actor, from upgrade to close."""

    def __init__(
        self, actor_id: str, codec: Codec, now: float, connect_timeout_s: float, max_bytes: int
    ) -> None:
        self.actor_id = actor_id
        self.codec = codec
        self.state = SessionState.AWAITING_CONNECT
        self.conn_id: int | None = None
        self._deadline = now + connect_timeout_s
        self._max_bytes = max_bytes

    @property
    def deadline(self) -> float | None:
        """When the connect frame must have arrived by; ``None`` once it has."""
        return self._deadline if self.state is SessionState.AWAITING_CONNECT else None

    def timed_out(self, now: float) -> bool:
        return self.state is SessionState.AWAITING_CONNECT and now >= self._deadline

    def _move(self, event: SessionEvent) -> Reaction:
        step = TRANSITIONS.get((self.state, event))
        if step is None:
            raise IllegalTransition(
                f"session of actor {self.actor_id}: no move from {self.state.value} "
                f"on {event.value}"
            )
        self.state, reaction = step
        return reaction

    # --- inputs ---------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[Command]:
        """One frame from the client, still encoded."""
        if self.timed_out(now):
            return self.check_timeout(now)
        if len(data) > self._max_bytes:
            exc = RequestTooLarge(f"frame of {len(data)} bytes exceeds {self._max_bytes}")
            return self._reject(self._move(_E.OVERSIZED_FRAME_RECEIVED), exc, None)
        raw: object = None
        try:
            raw = self.codec.decode(data, self._max_bytes)
            frame = parse_client_frame(raw)
        except EdgewiseError as exc:
            return self._reject(self._move(_E.BAD_FRAME_RECEIVED), exc, readable_id(raw))
        return self._on_frame(frame)

    def accepted(self, conn_id: int) -> list[Command]:
        self._move(_E.CONNECT_ACCEPTED)
        self.conn_id = conn_id
        return [SendFrame(InitFrame(actor_id=self.actor_id, conn_id=conn_id))]

    def refused(self, exc: BaseException) -> list[Command]:
        return self._reject(self._move(_E.CONNECT_REFUSED), exc, None)

    def check_timeout(self, now: float) -> list[Command]:
        if not self.timed_out(now):
            return []
        exc = ConnectTimeout("no connect frame within the connect timeout")
        return self._reject(self._move(_E.CONNECT_TIMED_OUT), exc, None)

    def close(self) -> None:
        self._move(_E.SOCKET_CLOSED)

    # --- reactions --------------------------------------------------------------------------

    def _on_frame(self, frame: ClientFrame) -> list[Command]:
        match frame:
            case ConnectFrame(params):
                reaction = self._move(_E.CONNECT_RECEIVED)
                if reaction is _R.OPEN_CONNECTION:
                    return [OpenConnection(params)]
                return self._reject(reaction, ConnectionNotOpen("already connected"), None)
            case ActionFrame():
                reaction = self._move(_E.ACTION_RECEIVED)
                if reaction is _R.RUN_ACTION:
                    return [RunAction(frame)]
                return self._reject(reaction, self._not_open(), frame.id)
            case SubscribeFrame(event) | UnsubscribeFrame(event):
                reaction = self._move(_E.SUBSCRIBE_RECEIVED)
                if reaction is _R.CHANGE_SUBSCRIPTION:
                    return [ChangeSubscription(event, isinstance(frame, SubscribeFrame))]
                return self._reject(reaction, self._not_open(), None)
        raise TypeError(f"not a client frame: {frame!r}")

    def _not_open(self) -> ConnectionNotOpen:
        return ConnectionNotOpen(f"connection is {self.state.value}: send one connect frame first")

    def _reject(
        self, reaction: Reaction, exc: BaseException, frame_id: FrameId | None
    ) -> list[Command]:
        frame: ErrorFrame = error_frame(exc, frame_id)
        commands: list[Command] = [SendFrame(frame)]
        if reaction is _R.REJECT_AND_CLOSE:
            commands.append(CloseSocket(frame.code))
        return commands
