"""WebSocket frames of protocol v1 as frozen dataclasses, and their wire shapes.

Every frame is a map with a ``"t"`` key naming its type. Client to server: ``connect``,
``action``, ``subscribe``, ``unsubscribe``. Server to client: ``init``, ``result``, ``error``,
``event``, and with regions ``location`` (the actor lives in another region; this node forwards)
and ``moved`` (the actor moved: reconnect to ``url``; the socket closes). ``parse_*`` turn
decoded maps into frames (raising ``request.invalid`` with the field named, through
``parse_name`` / ``parse_args``, which HTTP requests share); ``to_wire`` turns a frame back into a
map for the codec. Action ids are integers or strings chosen by the client and echoed in the
reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgewise.host.errors import RequestInvalid

FrameId = int | str
MAX_ID_CHARS = 64
MAX_NAME_CHARS = 128


@dataclass(frozen=True)
class ConnectFrame:
    params: Any = None


@dataclass(frozen=True)
class ActionFrame:
    id: FrameId
    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SubscribeFrame:
    event: str


@dataclass(frozen=True)
class UnsubscribeFrame:
    event: str


ClientFrame = ConnectFrame | ActionFrame | SubscribeFrame | UnsubscribeFrame


@dataclass(frozen=True)
class InitFrame:
    actor_id: str
    conn_id: int


@dataclass(frozen=True)
class ResultFrame:
    id: FrameId
    output: Any


@dataclass(frozen=True)
class ErrorFrame:
    id: FrameId | None
    code: str
    message: str


@dataclass(frozen=True)
class EventFrame:
    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class LocationFrame:
    region: str
    url: str


@dataclass(frozen=True)
class MovedFrame:
    region: str
    url: str


ServerFrame = InitFrame | ResultFrame | ErrorFrame | EventFrame | LocationFrame | MovedFrame


def _is_id(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < 2**63
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS


def readable_id(raw: object) -> FrameId | None:
    """The id of an action frame, if the map has a valid one, so that errors can carry it."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if _is_id(value):
            return value
    return None


def parse_name(value: object, field: str = "name") -> str:
    """An action, event or module name: a non-empty string of at most 128 characters.

    Shared by the WebSocket frames here and the HTTP requests (``requests.py``)."""
    if not isinstance(value, str) or not value:
        raise RequestInvalid(f"{field} must be a non-empty string")
    if len(value) > MAX_NAME_CHARS:
        raise RequestInvalid(f"{field} must be at most {MAX_NAME_CHARS} characters")
    return value


def parse_args(value: object, field: str = "args") -> tuple[Any, ...]:
    """Action arguments: a list, kept as a tuple."""
    if not isinstance(value, list | tuple):
        raise RequestInvalid(f"{field} must be a list")
    return tuple(value)


def parse_client_frame(raw: object) -> ClientFrame:
    if not isinstance(raw, dict):
        raise RequestInvalid("frame must be a map")
    kind = raw.get("t")
    if kind == "connect":
        return ConnectFrame(params=raw.get("params"))
    if kind == "action":
        if not _is_id(raw.get("id")):
            raise RequestInvalid("action frame: id must be a non-negative integer or a string")
        name = parse_name(raw.get("name"), "action frame: name")
        return ActionFrame(raw["id"], name, parse_args(raw.get("args", []), "action frame: args"))
    if kind == "subscribe" or kind == "unsubscribe":
        event = parse_name(raw.get("event"), f"{kind} frame: event")
        return SubscribeFrame(event) if kind == "subscribe" else UnsubscribeFrame(event)
    raise RequestInvalid(f"unknown frame type {str(kind)[:32]!r}")


def parse_server_frame(raw: object) -> ServerFrame:
    """Used by clients: the same checks in the other direction."""
    if not isinstance(raw, dict):
        raise RequestInvalid("frame must be a map")
    kind = raw.get("t")
    if kind == "init" and isinstance(raw.get("actor_id"), str) and _is_id(raw.get("conn_id")):
        return InitFrame(actor_id=raw["actor_id"], conn_id=raw["conn_id"])
    if kind == "result" and _is_id(raw.get("id")):
        return ResultFrame(id=raw["id"], output=raw.get("output"))
    if kind == "error" and isinstance(raw.get("code"), str):
        return ErrorFrame(id=readable_id(raw), code=raw["code"], message=str(raw.get("message")))
    if kind == "event" and isinstance(raw.get("name"), str):
        return EventFrame(name=raw["name"], args=tuple(raw.get("args") or ()))
    if kind in ("location", "moved") and isinstance(raw.get("url"), str):
        frame = LocationFrame if kind == "location" else MovedFrame
        return frame(region=str(raw.get("region")), url=raw["url"])
    raise RequestInvalid(f"bad server frame of type {str(kind)[:32]!r}")


def to_wire(frame: ServerFrame | ClientFrame) -> dict[str, Any]:
    match frame:
        case InitFrame(actor_id, conn_id):
            return {"t": "init", "actor_id": actor_id, "conn_id": conn_id}
        case ResultFrame(frame_id, output):
            return {"t": "result", "id": frame_id, "output": output}
        case ErrorFrame(None, code, message):
            return {"t": "error", "code": code, "message": message}
        case ErrorFrame(frame_id, code, message):
            return {"t": "error", "id": frame_id, "code": code, "message": message}
        case EventFrame(name, args):
            return {"t": "event", "name": name, "args": list(args)}
        case LocationFrame(region, url):
            return {"t": "location", "region": region, "url": url}
        case MovedFrame(region, url):
            return {"t": "moved", "region": region, "url": url}
        case ConnectFrame(params):
            return {"t": "connect", "params": params}
        case ActionFrame(frame_id, name, args):
            return {"t": "action", "id": frame_id, "name": name, "args": list(args)}
        case SubscribeFrame(event):
            return {"t": "subscribe", "event": event}
        case UnsubscribeFrame(event):
            return {"t": "unsubscribe", "event": event}
    raise TypeError(f"not a frame: {frame!r}")
