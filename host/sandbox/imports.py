"""The host imports of guest ABI v1 (module ``ew``, spec section 3), over a ``TurnHost``.

The capabilities themselves work on bytes (``get_value``, ``put_value``, ... below) and are shared
by both kinds of guest. Each core-module handler receives the running ``GuestCall`` (whose ``turn``
is the ``TurnContext`` of the turn in progress) and the raw i32/i64 arguments. Pointers and lengths
are read as unsigned 32-bit; every range is bounds-checked by ``GuestCall`` (``guest.bad_pointer``).
Size limits answer with the spec's negative codes: ``-1`` not found, ``-2`` value too large,
``-3`` key too large, ``-5`` invalid argument. ``random`` past 65536 bytes has no way to answer an
error, so it ends the turn with ``guest.trapped``. ``log`` clamps the level to 0..3 and keeps at
most ``LOG_TEXT_BYTES`` bytes of text (invalid UTF-8 replaced). ``COMPONENT_IMPORTS`` gives the
same capabilities to components (the WIT interface ``edgewise:actor/host@1.0.0``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cbor2
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import GuestTrapped
from edgewise.host.sandbox.component_call import (
    ComponentImport,
    lift_bytes,
    lift_text,
    lower_bytes,
    read_u8,
    read_u32,
    write_bytes_or_code,
    write_optional_bytes_or_code,
    write_s64,
    write_status,
)
from edgewise.host.sandbox.fastcall import U32, GuestCall, HostImport

NOT_FOUND = -1
VALUE_TOO_LARGE = -2
KEY_TOO_LARGE = -3
INVALID_ARGUMENT = -5
MAX_LIST_LIMIT = 1000
MAX_RANDOM_BYTES = 65536
LOG_TEXT_BYTES = 16 * 1024
_I32_MAX = 0x7FFFFFFF


class TurnHost(Protocol):
    """What a turn may do to storage; a storage ``WriteSet`` satisfies it."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def list(self, prefix: bytes, start_after: bytes, limit: int) -> list[tuple[bytes, bytes]]: ...


@dataclass(frozen=True)
class TurnContext:
    host: TurnHost
    log: Callable[[int, str], None]
    limits: LimitsConfig


def _key_problem(length: int, limits: LimitsConfig) -> int:
    if length == 0:
        return INVALID_ARGUMENT
    if length > limits.max_key_bytes:
        return KEY_TOO_LARGE
    return 0


# --- the capabilities on bytes: shared by the core-module handlers below and the component path --


def get_value(turn: TurnContext, key: bytes) -> bytes | int:
    """The value under ``key``, or a negative code (not found, key problems)."""
    problem = _key_problem(len(key), turn.limits)
    if problem:
        return problem
    value = turn.host.get(key)
    return NOT_FOUND if value is None else value


def put_value(turn: TurnContext, key: bytes, value: bytes) -> int:
    problem = _key_problem(len(key), turn.limits)
    if problem:
        return problem
    if len(value) > turn.limits.max_value_bytes:
        return VALUE_TOO_LARGE
    turn.host.put(key, value)
    return 0


def delete_value(turn: TurnContext, key: bytes) -> int:
    problem = _key_problem(len(key), turn.limits)
    if problem:
        return problem
    turn.host.delete(key)
    return 0


def list_page(turn: TurnContext, prefix: bytes, after: bytes, limit: int) -> bytes | int:
    """A CBOR array of ``[key, value]`` pairs, or a negative code."""
    if len(prefix) > turn.limits.max_key_bytes or len(after) > turn.limits.max_key_bytes:
        return KEY_TOO_LARGE
    if not 1 <= limit <= MAX_LIST_LIMIT:
        return INVALID_ARGUMENT
    page = turn.host.list(prefix, after, limit)
    encoded = bytes(cbor2.dumps([[key, value] for key, value in page]))
    return VALUE_TOO_LARGE if len(encoded) > _I32_MAX else encoded


def write_log(turn: TurnContext, level: int, text: bytes) -> None:
    """Clamp the level to 0..3 and keep at most ``LOG_TEXT_BYTES`` of the text."""
    turn.log(min(max(level, 0), 3), text[:LOG_TEXT_BYTES].decode("utf-8", errors="replace"))


def random_bytes(length: int) -> bytes:
    if length > MAX_RANDOM_BYTES:
        raise GuestTrapped(f"random asked for {length} bytes, more than {MAX_RANDOM_BYTES}")
    return os.urandom(length)


def now_ms_value() -> int:
    return time.time_ns() // 1_000_000


# --- ABI v1 core-module handlers: pointers and lengths into guest memory -------------------------


def kv_get(call: GuestCall, kptr: int, klen: int, dst: int, cap: int) -> int:
    turn: TurnContext = call.turn
    klen &= U32
    problem = _key_problem(klen, turn.limits)
    if problem:
        return problem
    value = get_value(turn, call.read(kptr & U32, klen, "kv_get key"))
    if isinstance(value, int):
        return value
    if len(value) <= cap & U32:
        call.write(dst & U32, value, "kv_get buffer")
    return len(value)


def kv_put(call: GuestCall, kptr: int, klen: int, vptr: int, vlen: int) -> int:
    turn: TurnContext = call.turn
    klen, vlen = klen & U32, vlen & U32
    problem = _key_problem(klen, turn.limits)
    if problem:
        return problem
    if vlen > turn.limits.max_value_bytes:
        return VALUE_TOO_LARGE
    key = call.read(kptr & U32, klen, "kv_put key")
    return put_value(turn, key, call.read(vptr & U32, vlen, "kv_put value"))


def kv_delete(call: GuestCall, kptr: int, klen: int) -> int:
    turn: TurnContext = call.turn
    klen &= U32
    problem = _key_problem(klen, turn.limits)
    if problem:
        return problem
    return delete_value(turn, call.read(kptr & U32, klen, "kv_delete key"))


def kv_list(
    call: GuestCall, pptr: int, plen: int, aptr: int, alen: int, limit: int, dst: int,
    cap: int,
) -> int:  # fmt: skip
    turn: TurnContext = call.turn
    plen, alen = plen & U32, alen & U32
    if plen > turn.limits.max_key_bytes or alen > turn.limits.max_key_bytes:
        return KEY_TOO_LARGE
    if not 1 <= limit <= MAX_LIST_LIMIT:
        return INVALID_ARGUMENT
    prefix = call.read(pptr & U32, plen, "kv_list prefix")
    after = call.read(aptr & U32, alen, "kv_list start key")
    encoded = list_page(turn, prefix, after, limit)
    if isinstance(encoded, int):
        return encoded
    if len(encoded) <= cap & U32:
        call.write(dst & U32, encoded, "kv_list buffer")
    return len(encoded)


def log(call: GuestCall, level: int, ptr: int, length: int) -> None:
    ptr, length = ptr & U32, length & U32
    call.check(ptr, length, "log text")
    write_log(call.turn, level, call.read(ptr, min(length, LOG_TEXT_BYTES), "log text"))


def now_ms(call: GuestCall) -> int:
    return now_ms_value()


def random(call: GuestCall, dst: int, length: int) -> None:
    length &= U32
    call.write(dst & U32, random_bytes(length), "random buffer")


HOST_IMPORTS = (
    HostImport("kv_get", ("i32",) * 4, "i32", kv_get),
    HostImport("kv_put", ("i32",) * 4, "i32", kv_put),
    HostImport("kv_delete", ("i32",) * 2, "i32", kv_delete),
    HostImport("kv_list", ("i32",) * 7, "i32", kv_list),
    HostImport("log", ("i32",) * 3, None, log),
    HostImport("now_ms", (), "i64", now_ms),
    HostImport("random", ("i32",) * 2, None, random),
)


# --- the same capabilities for components (the WIT interface edgewise:actor/host@1.0.0) -------


def _optional_value(turn: TurnContext, key: bytes) -> bytes | int | None:
    value = get_value(turn, key)
    return None if value == NOT_FOUND else value


COMPONENT_IMPORTS = (
    ComponentImport("kv-get", (lift_bytes,), _optional_value, write_optional_bytes_or_code),
    ComponentImport("kv-put", (lift_bytes, lift_bytes), put_value, write_status),
    ComponentImport("kv-delete", (lift_bytes,), delete_value, write_status),
    ComponentImport("kv-list", (lift_bytes, lift_bytes, read_u32), list_page, write_bytes_or_code),
    ComponentImport("log", (read_u8, lift_text), write_log, None),
    ComponentImport("now-ms", (), lambda _turn: now_ms_value(), write_s64),
    ComponentImport("random", (read_u32,), lambda _turn, length: random_bytes(length), lower_bytes),
)
