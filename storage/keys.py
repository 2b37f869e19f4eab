"""Typed RocksDB keys: one encode/decode pair per kind, each owning its byte layout.

Every key starts with one tag byte naming its kind, so kinds never collide and each kind is a
contiguous range. Actor ids are fixed-length (32 lowercase hex), so ``tag + actor_id`` is a prefix
of exactly one actor's keys. Variable strings inside a key are length-prefixed (2 bytes, big
endian) unless they end the key, so no two different tuples encode to the same bytes.

| kind        | layout                                               | value              |
| ----------- | ---------------------------------------------------- | ------------------ |
| kv          | 0x01 actor_id 0x00 user_key                          | user value         |
| meta        | 0x02 actor_id                                        | meta record        |
| key index   | 0x03 lp(name) count(1) lp(part)...                   | actor_id           |
| name index  | 0x04 lp(name) actor_id                               | empty              |
| alarm at    | 0x05 at_ms(8, big endian) actor_id 0x00 alarm_name   | alarm record       |
| alarm of    | 0x06 actor_id 0x00 alarm_name                        | at_ms(8)           |
| deployment  | 0x07 module_name                                     | digest (ascii)     |
"""

from __future__ import annotations

import enum
import functools
import re

from edgewise.storage.errors import KeyInvalid

ACTOR_ID_LENGTH = 32
MAX_USER_KEY_BYTES = 8 * 1024
MAX_NAME_BYTES = 256
MAX_KEY_PART_BYTES = 4 * 1024
MAX_KEY_PARTS = 64
MAX_AT_MS = 2**63 - 1

_ACTOR_ID = re.compile(r"[0-9a-f]{32}")
_SEP = b"\x00"


class KeyKind(enum.IntEnum):
    KV = 0x01
    META = 0x02
    KEY_INDEX = 0x03
    NAME_INDEX = 0x04
    ALARM_AT = 0x05
    ALARM_OF = 0x06
    DEPLOYMENT = 0x07


def kind_of(raw: bytes) -> KeyKind:
    if not raw or raw[0] not in KeyKind._value2member_map_:
        raise KeyInvalid(f"unknown key kind in {raw[:8]!r}")
    return KeyKind(raw[0])


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key that starts with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise KeyInvalid("a prefix of only 0xff bytes has no end")
    return stripped[:-1] + bytes([stripped[-1] + 1])


# --- validation -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)  # every KV read and write of a turn checks its actor id
def check_actor_id(actor_id: str) -> bytes:
    if not isinstance(actor_id, str) or not _ACTOR_ID.fullmatch(actor_id):
        raise KeyInvalid(f"actor id must be 32 lowercase hex characters, got {actor_id!r}")
    return actor_id.encode("ascii")


def _utf8(text: str, what: str, limit: int, *, allow_empty: bool = False) -> bytes:
    if not isinstance(text, str):
        raise KeyInvalid(f"{what} must be a string, got {type(text).__name__}")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise KeyInvalid(f"{what} is not valid UTF-8: {text!r}") from exc
    if not data and not allow_empty:
        raise KeyInvalid(f"{what} must not be empty")
    if len(data) > limit:
        raise KeyInvalid(f"{what} is {len(data)} bytes, more than {limit}")
    return data


def check_user_key(key: bytes) -> bytes:
    if not isinstance(key, bytes):
        raise KeyInvalid(f"a KV key must be bytes, got {type(key).__name__}")
    if not key:
        raise KeyInvalid("a KV key must not be empty")
    if len(key) > MAX_USER_KEY_BYTES:
        raise KeyInvalid(f"a KV key is {len(key)} bytes, more than {MAX_USER_KEY_BYTES}")
    return key


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyInvalid(f"stored name is not valid UTF-8: {data[:40]!r}") from exc


def _lp(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _read_lp(raw: bytes, at: int) -> tuple[bytes, int]:
    if at + 2 > len(raw):
        raise KeyInvalid("truncated length-prefixed field")
    size = int.from_bytes(raw[at : at + 2], "big")
    end = at + 2 + size
    if end > len(raw):
        raise KeyInvalid("truncated length-prefixed field")
    return raw[at + 2 : end], end


def _expect(raw: bytes, kind: KeyKind, length: int | None = None) -> None:
    if not raw or raw[0] != kind:
        raise KeyInvalid(f"not a {kind.name.lower()} key: {raw[:8]!r}")
    if length is not None and len(raw) != length:
        raise KeyInvalid(f"a {kind.name.lower()} key has {len(raw)} bytes, expected {length}")


def _actor_at(raw: bytes, at: int) -> str:
    text = raw[at : at + ACTOR_ID_LENGTH].decode("ascii", errors="replace")
    check_actor_id(text)
    return text


# --- kv ---------------------------------------------------------------------------------------


def kv_prefix(actor_id: str, user_prefix: bytes = b"") -> bytes:
    return bytes([KeyKind.KV]) + check_actor_id(actor_id) + _SEP + user_prefix


def kv_key(actor_id: str, user_key: bytes) -> bytes:
    return kv_prefix(actor_id, check_user_key(user_key))


def decode_kv_key(raw: bytes) -> tuple[str, bytes]:
    _expect(raw, KeyKind.KV)
    if len(raw) < ACTOR_ID_LENGTH + 3 or raw[ACTOR_ID_LENGTH + 1] != 0:
        raise KeyInvalid(f"malformed kv key {raw[:40]!r}")
    return _actor_at(raw, 1), raw[ACTOR_ID_LENGTH + 2 :]


# --- meta -------------------------------------------------------------------------------------


def meta_prefix() -> bytes:
    return bytes([KeyKind.META])


def meta_key(actor_id: str) -> bytes:
    return meta_prefix() + check_actor_id(actor_id)


def decode_meta_key(raw: bytes) -> str:
    _expect(raw, KeyKind.META, 1 + ACTOR_ID_LENGTH)
    return _actor_at(raw, 1)


# --- key index: (name, key) -> actor_id --------------------------------------------------------


def index_key(name: str, key: tuple[str, ...]) -> bytes:
    if not isinstance(key, tuple) or len(key) > MAX_KEY_PARTS:
        raise KeyInvalid(f"an actor key must be a tuple of at most {MAX_KEY_PARTS} strings")
    parts = [_lp(_utf8(p, "actor key part", MAX_KEY_PART_BYTES, allow_empty=True)) for p in key]
    head = bytes([KeyKind.KEY_INDEX]) + _lp(_utf8(name, "actor name", MAX_NAME_BYTES))
    return head + bytes([len(key)]) + b"".join(parts)


def decode_index_key(raw: bytes) -> tuple[str, tuple[str, ...]]:
    _expect(raw, KeyKind.KEY_INDEX)
    name, at = _read_lp(raw, 1)
    if at >= len(raw):
        raise KeyInvalid("truncated key index entry")
    count, at = raw[at], at + 1
    parts = []
    for _ in range(count):
        part, at = _read_lp(raw, at)
        parts.append(_text(part))
    if at != len(raw):
        raise KeyInvalid("trailing bytes in key index entry")
    return _text(name), tuple(parts)


# --- name index: name -> actor ids, ordered -----------------------------------------------------


def name_index_prefix(name: str) -> bytes:
    return bytes([KeyKind.NAME_INDEX]) + _lp(_utf8(name, "actor name", MAX_NAME_BYTES))


def name_index_key(name: str, actor_id: str) -> bytes:
    return name_index_prefix(name) + check_actor_id(actor_id)


def decode_name_index_key(raw: bytes) -> tuple[str, str]:
    _expect(raw, KeyKind.NAME_INDEX)
    name, at = _read_lp(raw, 1)
    if len(raw) - at != ACTOR_ID_LENGTH:
        raise KeyInvalid("malformed name index entry")
    return _text(name), _actor_at(raw, at)


# --- alarms -----------------------------------------------------------------------------------


def encode_at_ms(at_ms: int) -> bytes:
    if not isinstance(at_ms, int) or isinstance(at_ms, bool) or not 0 <= at_ms <= MAX_AT_MS:
        raise KeyInvalid(f"alarm time must be an int in [0, 2**63), got {at_ms!r}")
    return at_ms.to_bytes(8, "big")


def alarm_at_prefix() -> bytes:
    return bytes([KeyKind.ALARM_AT])


def alarm_at_key(at_ms: int, actor_id: str, name: str) -> bytes:
    alarm = _utf8(name, "alarm name", MAX_NAME_BYTES)
    return alarm_at_prefix() + encode_at_ms(at_ms) + check_actor_id(actor_id) + _SEP + alarm


def decode_alarm_at_key(raw: bytes) -> tuple[int, str, str]:
    _expect(raw, KeyKind.ALARM_AT)
    sep = 9 + ACTOR_ID_LENGTH
    if len(raw) < sep + 2 or raw[sep] != 0:
        raise KeyInvalid(f"malformed alarm key {raw[:50]!r}")
    return int.from_bytes(raw[1:9], "big"), _actor_at(raw, 9), _text(raw[sep + 1 :])


def alarm_of_prefix(actor_id: str) -> bytes:
    return bytes([KeyKind.ALARM_OF]) + check_actor_id(actor_id) + _SEP


def alarm_of_key(actor_id: str, name: str) -> bytes:
    return alarm_of_prefix(actor_id) + _utf8(name, "alarm name", MAX_NAME_BYTES)


def decode_alarm_of_key(raw: bytes) -> tuple[str, str]:
    _expect(raw, KeyKind.ALARM_OF)
    if len(raw) < ACTOR_ID_LENGTH + 3 or raw[ACTOR_ID_LENGTH + 1] != 0:
        raise KeyInvalid(f"malformed alarm index key {raw[:40]!r}")
    return _actor_at(raw, 1), _text(raw[ACTOR_ID_LENGTH + 2 :])


def decode_at_ms(value: bytes) -> int:
    if len(value) != 8:
        raise KeyInvalid(f"alarm time must be 8 bytes, got {len(value)}")
    return int.from_bytes(value, "big")


# --- deployments ------------------------------------------------------------------------------


def deployment_prefix() -> bytes:
    return bytes([KeyKind.DEPLOYMENT])


def deployment_key(module_name: str) -> bytes:
    return deployment_prefix() + _utf8(module_name, "module name", MAX_NAME_BYTES)


def decode_deployment_key(raw: bytes) -> str:
    _expect(raw, KeyKind.DEPLOYMENT)
    if len(raw) < 2:
        raise KeyInvalid("empty module name in deployment key")
    return _text(raw[1:])
