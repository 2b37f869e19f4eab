"""Guest ABI v1 data: the turn envelope the host sends and the turn result the guest returns.

Both are CBOR maps with text keys (``guest-sdk/abi/v1/spec.md`` sections 2 and 4). ``encode``
writes only the keys the spec lists for the envelope's kind. ``TurnResult.decode`` trusts nothing:
the bytes must be exactly one CBOR map; every key has its type checked; values of type "any" may
hold only null, bool, integers within i64, floats, text, bytes, arrays and text-keyed maps (no
tags); unknown keys are refused, so a typo in a guest SDK fails loudly instead of losing events.
Any violation raises ``GuestBadResult`` with a message naming the key.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

import cbor2
from edgewise.host.errors import GuestBadResult, RequestInvalid

TurnKind = Literal["create", "wake", "action", "connect", "disconnect", "alarm"]
TURN_KINDS: frozenset[str] = frozenset(get_args(TurnKind))
USER_ERROR_CODE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
RESULT_KEYS = frozenset(
    {
        "ok",
        "error",
        "refuse",
        "broadcast",
        "send",
        "set_alarms",
        "cancel_alarms",
        "sleep",
        "destroy",
    }
)


@dataclass(frozen=True)
class ActorIdentity:
    id: str
    name: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class TurnEnvelope:
    kind: TurnKind
    actor: ActorIdentity
    now_ms: int
    input: Any = None
    action: str | None = None
    args: tuple[Any, ...] = ()
    conn: int | None = None
    params: Any = None
    alarm: str | None = None
    payload: Any = None

    def encode(self) -> bytes:
        """The CBOR map of spec section 2.

        Raises ValueError for an envelope missing what its kind needs (a host bug) and
        RequestInvalid for an input, argument or parameter that has no CBOR form or holds an
        integer outside i64.
        """
        fields = self._fields()
        for key in ("input", "args", "params", "payload"):
            if key in fields:
                _check_i64(fields[key], key)
        try:
            return bytes(cbor2.dumps(fields))
        except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
            raise RequestInvalid(f"turn input cannot be encoded as CBOR: {exc}") from None

    def _fields(self) -> dict[str, Any]:
        if self.kind not in TURN_KINDS:
            raise ValueError(f"unknown turn kind {self.kind!r}")
        if self.now_ms < 0:
            raise ValueError("now_ms must not be negative")
        actor = {"id": self.actor.id, "name": self.actor.name, "key": list(self.actor.key)}
        fields: dict[str, Any] = {"kind": self.kind, "actor": actor, "now_ms": self.now_ms}
        if self.kind == "create":
            fields["input"] = self.input
        elif self.kind == "action":
            if self.action is None:
                raise ValueError("an action turn needs an action name")
            fields.update(action=self.action, args=list(self.args), conn=self.conn)
        elif self.kind == "connect":
            fields.update(conn=self.conn, params=self.params)
        elif self.kind == "disconnect":
            fields["conn"] = self.conn
        elif self.kind == "alarm":
            if self.alarm is None:
                raise ValueError("an alarm turn needs the alarm's name")
            fields.update(alarm=self.alarm, payload=self.payload)
        return fields


def _check_i64(value: Any, where: str) -> None:
    """Refuse integers the spec cannot carry (CBOR integers of ABI v1 are within i64)."""
    if type(value) is int:
        if not I64_MIN <= value <= I64_MAX:
            raise RequestInvalid(f"turn {where} holds an integer outside the signed 64-bit range")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_i64(item, where)
    elif isinstance(value, dict):
        for item in value.values():
            _check_i64(item, where)


@dataclass(frozen=True)
class AlarmRequest:
    name: str
    at_ms: int
    payload: Any = None


@dataclass(frozen=True)
class TurnResult:
    ok: Any = None
    error: tuple[str, str] | None = None
    refuse: str | None = None
    broadcast: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    send: tuple[tuple[int, str, tuple[Any, ...]], ...] = ()
    set_alarms: tuple[AlarmRequest, ...] = ()
    cancel_alarms: tuple[str, ...] = ()
    sleep: bool = False
    destroy: bool = False

    @classmethod
    def decode(cls, data: bytes) -> TurnResult:
        """Parse and check a guest's result bytes (spec section 4); raises GuestBadResult."""
        raw = _load_one(data)
        if not isinstance(raw, dict):
            raise GuestBadResult(f"turn result must be a CBOR map, got {_kind(raw)}")
        for key in raw:
            if not isinstance(key, str):
                raise GuestBadResult("turn result map keys must be text")
            if key not in RESULT_KEYS:
                raise GuestBadResult(f"turn result has unknown key {key!r}")
        if "ok" in raw and "error" in raw:
            raise GuestBadResult("turn result has both 'ok' and 'error'")
        return cls(
            ok=_any(raw["ok"], "ok") if "ok" in raw else None,
            error=_user_error(raw["error"]) if "error" in raw else None,
            refuse=_text(raw["refuse"], "refuse") if "refuse" in raw else None,
            broadcast=tuple(_broadcast(item, i) for i, item in _items(raw, "broadcast")),
            send=tuple(_send(item, i) for i, item in _items(raw, "send")),
            set_alarms=tuple(_alarm(item, i) for i, item in _items(raw, "set_alarms")),
            cancel_alarms=tuple(
                _text(item, f"cancel_alarms[{i}]") for i, item in _items(raw, "cancel_alarms")
            ),
            sleep=_bool(raw.get("sleep", False), "sleep"),
            destroy=_bool(raw.get("destroy", False), "destroy"),
        )


def _load_one(data: bytes) -> Any:
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, EOFError) as exc:
        raise GuestBadResult(f"turn result is not valid CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise GuestBadResult("turn result has bytes after the CBOR map")
    return value


def _kind(value: Any) -> str:
    return type(value).__name__


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise GuestBadResult(f"turn result {where} must be text, got {_kind(value)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise GuestBadResult(f"turn result {where} must be a bool, got {_kind(value)}")
    return value


def _uint(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= I64_MAX:
        raise GuestBadResult(f"turn result {where} must be an unsigned integer within i64")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise GuestBadResult(f"turn result {where} must be an array, got {_kind(value)}")
    return value


def _items(raw: dict[str, Any], key: str) -> list[tuple[int, Any]]:
    return list(enumerate(_array(raw[key], key))) if key in raw else []


def _any(value: Any, where: str) -> Any:
    """Check that a value of type "any" holds plain data only."""
    if value is None or type(value) in (bool, float, str, bytes):
        return value
    if type(value) is int:
        if not I64_MIN <= value <= I64_MAX:
            raise GuestBadResult(f"turn result {where} holds an integer outside i64")
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            _any(item, f"{where}[{i}]")
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise GuestBadResult(f"turn result {where} holds a map with a non-text key")
            _any(item, f"{where}.{key}")
        return value
    raise GuestBadResult(f"turn result {where} holds an unsupported CBOR value ({_kind(value)})")


def _args(value: Any, where: str) -> tuple[Any, ...]:
    return tuple(_any(item, f"{where}[{i}]") for i, item in enumerate(_array(value, where)))


def _user_error(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise GuestBadResult(f"turn result error must be a map, got {_kind(value)}")
    extra = set(value) - {"code", "message"}
    if extra:
        raise GuestBadResult(f"turn result error has unknown key {sorted(map(str, extra))[0]!r}")
    code = _text(value.get("code"), "error.code")
    message = _text(value.get("message"), "error.message")
    if not USER_ERROR_CODE.fullmatch(code):
        raise GuestBadResult(
            f"turn result error.code {code[:80]!r} must match [a-z][a-z0-9_.]{{0,63}}"
        )
    return code, message


def _broadcast(item: Any, i: int) -> tuple[str, tuple[Any, ...]]:
    where = f"broadcast[{i}]"
    pair = _array(item, where)
    if len(pair) != 2:
        raise GuestBadResult(f"turn result {where} must be [name, args]")
    return _text(pair[0], f"{where}[0]"), _args(pair[1], f"{where}[1]")


def _send(item: Any, i: int) -> tuple[int, str, tuple[Any, ...]]:
    where = f"send[{i}]"
    triple = _array(item, where)
    if len(triple) != 3:
        raise GuestBadResult(f"turn result {where} must be [conn, name, args]")
    conn = _uint(triple[0], f"{where}[0]")
    return conn, _text(triple[1], f"{where}[1]"), _args(triple[2], f"{where}[2]")


def _alarm(item: Any, i: int) -> AlarmRequest:
    where = f"set_alarms[{i}]"
    if not isinstance(item, dict):
        raise GuestBadResult(f"turn result {where} must be a map, got {_kind(item)}")
    extra = set(item) - {"name", "at_ms", "payload"}
    if extra:
        raise GuestBadResult(f"turn result {where} has unknown key {sorted(map(str, extra))[0]!r}")
    name = _text(item.get("name"), f"{where}.name")
    at_ms = _uint(item.get("at_ms"), f"{where}.at_ms")
    return AlarmRequest(name, at_ms, _any(item.get("payload"), f"{where}.payload"))
