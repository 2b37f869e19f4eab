"""`Context`: what a handler sees of its turn, and what it asks the turn to do.

Reads (`actor_id`, `key`, `now_ms`, ...) come from the envelope. Effects (events, alarms, sleep,
destroy) are gathered here, each encoded to CBOR when it is asked for, so that a value with no
CBOR form fails at the call; `result_fields` hands them to the turn result. `ctx.kv` goes to the
host at once. `ctx.state` is a dict kept in KV under STATE_KEY: read on first access, written by
`flush_state` at the end of the turn only when its encoding changed (deleted when it became empty).
Keys starting with byte 0x00 are reserved for the SDK: `ctx.kv` refuses them and lists skip them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import cbor
from .host import (
    INVALID_ARGUMENT,
    KEY_TOO_LARGE,
    LOG_DEBUG,
    LOG_ERROR,
    LOG_INFO,
    LOG_WARN,
    MAX_KEY_BYTES,
    MAX_LIST_LIMIT,
    MAX_RANDOM_BYTES,
    Host,
    KvError,
    kv_error,
)

RESERVED_PREFIX = b"\x00"
STATE_KEY = b"\x00state"
Pairs = list[tuple[bytes, bytes]]  # named here: inside Kv, `list` is the method


def _key_bytes(key: str | bytes, *, empty_ok: bool = False) -> bytes:
    """A user's key as bytes, checked against the limits and the SDK's reserved keys."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes):
        raise TypeError(f"kv keys are str or bytes, not {type(key).__name__}")
    if not key and not empty_ok:
        raise KvError(INVALID_ARGUMENT, "kv keys must not be empty")
    if len(key) > MAX_KEY_BYTES:
        raise kv_error(KEY_TOO_LARGE, key)
    if key.startswith(RESERVED_PREFIX):
        raise KvError(INVALID_ARGUMENT, "keys starting with byte 0x00 are reserved for the SDK")
    return key


def _check_int(value: object, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{what} must be an int in {low}..{high}, not {value!r}")
    return value


def _is_pair(entry: object) -> bool:
    return isinstance(entry, list) and len(entry) == 2 and all(type(p) is bytes for p in entry)


class Kv:
    """The actor's private key-value store. Keys are str (UTF-8) or bytes, values bytes."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def get(self, key: str | bytes) -> bytes | None:
        """The value under `key`, None when absent (this turn's own writes included)."""
        return self._host.kv_get(_key_bytes(key))

    def put(self, key: str | bytes, value: bytes) -> None:
        """Store `value`; KvError when it is past the node's max_value_bytes."""
        if not isinstance(value, bytes):
            raise TypeError(f"kv values are bytes, not {type(value).__name__} (see ctx.state)")
        self._host.kv_put(_key_bytes(key), value)

    def delete(self, key: str | bytes) -> None:
        """Remove `key` (nothing happens when it is absent)."""
        self._host.kv_delete(_key_bytes(key))

    def list(
        self, prefix: str | bytes = b"", start_after: str | bytes = b"", limit: int = 100
    ) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) pair whose key starts with `prefix`, after `start_after`, in key
        order, fetched lazily `limit` (1..1000) at a time. Stop iterating to stop fetching."""
        return self._pages(
            _key_bytes(prefix, empty_ok=True),
            _key_bytes(start_after, empty_ok=True),
            _check_int(limit, "limit", 1, MAX_LIST_LIMIT),
        )

    def _pages(self, prefix: bytes, after: bytes, limit: int) -> Iterator[tuple[bytes, bytes]]:
        while True:
            page = self._page(prefix, after, limit)
            yield from ((k, v) for k, v in page if not k.startswith(RESERVED_PREFIX))
            if len(page) < limit:
                return
            after = page[-1][0]

    def _page(self, prefix: bytes, after: bytes, limit: int) -> Pairs:
        entries = cbor.decode(self._host.kv_list(prefix, after, limit))
        if not isinstance(entries, list) or not all(_is_pair(e) for e in entries):
            raise cbor.CborError("kv_list did not answer an array of [key, value] pairs")
        return [(key, value) for key, value in entries]


class Log:
    """The actor's log (the node's log, under edgewise.guest, with the actor's id)."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def debug(self, text: object) -> None:
        self._host.log(LOG_DEBUG, str(text))

    def info(self, text: object) -> None:
        self._host.log(LOG_INFO, str(text))

    def warn(self, text: object) -> None:
        self._host.log(LOG_WARN, str(text))

    def error(self, text: object) -> None:
        self._host.log(LOG_ERROR, str(text))


class Context:
    """The first argument of every handler: one turn of one actor."""

    def __init__(
        self, host: Host, *, actor_id: str, name: str, key: tuple[str, ...], now_ms: int,
        conn: int | None,
    ) -> None:  # fmt: skip
        self.actor_id = actor_id
        self.name = name
        self.key = key
        self.now_ms = now_ms
        self.conn = conn
        self.kv = Kv(host)
        self.log = Log(host)
        self._host = host
        self._state: dict[str, Any] | None = None
        self._stored_state: bytes | None = None
        self._broadcast: list[cbor.Encoded] = []
        self._send: list[cbor.Encoded] = []
        self._alarms: dict[str, cbor.Encoded] = {}
        self._cancels: dict[str, None] = {}
        self._sleep = False
        self._destroy = False

    @property
    def state(self) -> dict[str, Any]:
        """The actor's state: a dict of CBOR-encodable values, saved at the end of the turn."""
        if self._state is None:
            self._stored_state = self._host.kv_get(STATE_KEY)
            stored = {} if self._stored_state is None else cbor.decode(self._stored_state)
            if not isinstance(stored, dict):
                raise cbor.CborError("the stored state is not a map")
            self._state = stored
        return self._state

    def flush_state(self) -> None:
        """Write the state back when this turn changed it (the turn calls this at its end)."""
        if self._state is None:
            return
        encoded = cbor.encode(self._state) if self._state else None
        if encoded == self._stored_state:
            return
        if encoded is None:
            self._host.kv_delete(STATE_KEY)
        else:
            self._host.kv_put(STATE_KEY, encoded)
        self._stored_state = encoded

    def broadcast(self, name: str, *args: Any) -> None:
        """Send the event `name` with `args` to every connection subscribed to it."""
        self._broadcast.append(cbor.Encoded(cbor.encode([_text(name, "event name"), args])))

    def send(self, conn_id: int, name: str, *args: Any) -> None:
        """Send the event `name` with `args` to the connection `conn_id` alone."""
        conn = _check_int(conn_id, "conn_id", 0, cbor.I64_MAX)
        self._send.append(cbor.Encoded(cbor.encode([conn, _text(name, "event name"), args])))

    def set_alarm(
        self, name: str, *, at_ms: int | None = None, delay_ms: int | None = None,
        payload: Any = None,
    ) -> None:  # fmt: skip
        """Set (or replace) the alarm `name`, due at `at_ms` or `delay_ms` after now_ms; the
        alarm turn gets `payload`. A time in the past (or before 0) fires at once."""
        if (at_ms is None) == (delay_ms is None):
            raise ValueError("set_alarm takes exactly one of at_ms and delay_ms")
        if delay_ms is not None:
            at_ms = self.now_ms + _check_int(delay_ms, "delay_ms", 0, cbor.I64_MAX)
        when = max(0, _check_int(at_ms, "at_ms", cbor.I64_MIN, cbor.I64_MAX))
        alarm: dict[str, Any] = {"name": _text(name, "alarm name"), "at_ms": when}
        if payload is not None:
            alarm["payload"] = payload
        self._alarms[name] = cbor.Encoded(cbor.encode(alarm))
        self._cancels.pop(name, None)

    def cancel_alarm(self, name: str) -> None:
        """Cancel the alarm `name` (also one set earlier in this turn)."""
        self._cancels[_text(name, "alarm name")] = None
        self._alarms.pop(name, None)

    def sleep(self) -> None:
        """Deactivate the actor after this turn (the next turn wakes it)."""
        self._sleep = True

    def destroy(self) -> None:
        """Remove the actor and all its data after this turn."""
        self._destroy = True

    def random(self, size: int) -> bytes:
        """`size` (0..65536) random bytes from the host."""
        return self._host.random(_check_int(size, "size", 0, MAX_RANDOM_BYTES))

    def result_fields(self) -> dict[str, Any]:
        """The keys of the turn result (spec section 4) for the effects asked for, and no others."""
        fields = {
            "broadcast": self._broadcast,
            "send": self._send,
            "set_alarms": list(self._alarms.values()),
            "cancel_alarms": list(self._cancels),
            "sleep": self._sleep,
            "destroy": self._destroy,
        }
        return {key: value for key, value in fields.items() if value}


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return value
