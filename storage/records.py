"""Records kept in the store and their value encodings.

Meta is stored as compact JSON (small, rarely written, readable in a debugger); an alarm's time
entry holds ``attempt`` (4 bytes, big endian) followed by the opaque CBOR payload. Decoding a
malformed value raises ``ValueInvalid`` naming what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from edgewise.storage.errors import ValueInvalid
from edgewise.storage.keys import check_actor_id

MAX_VALUE_BYTES = 64 * 1024 * 1024
MAX_ATTEMPT = 2**32 - 1
MAX_DIGEST_CHARS = 128


@dataclass(frozen=True)
class ActorMeta:
    actor_id: str
    name: str
    key: tuple[str, ...]
    created_ms: int
    module_digest: str


@dataclass(frozen=True)
class AlarmEntry:
    actor_id: str
    name: str
    at_ms: int
    payload: bytes
    attempt: int = 0


@dataclass(frozen=True)
class ExportInfo:
    """What an export file holds: one actor, ``entries`` keys, ``bytes`` long, its sha256."""

    actor_id: str
    entries: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class CommitStats:
    """Counters of the group commit since the store was opened."""

    commits: int
    batches: int
    syncs: int


def check_value(value: bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ValueInvalid(f"a value must be bytes, got {type(value).__name__}")
    if len(value) > MAX_VALUE_BYTES:
        raise ValueInvalid(f"a value is {len(value)} bytes, more than {MAX_VALUE_BYTES}")
    return value


def check_digest(digest: str) -> bytes:
    valid = isinstance(digest, str) and 0 < len(digest) <= MAX_DIGEST_CHARS and digest.isascii()
    if not valid:
        raise ValueInvalid(f"a module digest must be 1 to 128 ASCII characters: {digest!r}")
    return digest.encode("ascii")


def decode_digest(value: bytes) -> str:
    text = value.decode("ascii", errors="replace")
    check_digest(text)
    return text


def encode_meta(meta: ActorMeta) -> bytes:
    check_actor_id(meta.actor_id)
    check_digest(meta.module_digest)
    if not isinstance(meta.created_ms, int) or meta.created_ms < 0:
        raise ValueInvalid(f"created_ms must be a non-negative int, got {meta.created_ms!r}")
    record = {
        "name": meta.name,
        "key": list(meta.key),
        "created_ms": meta.created_ms,
        "module_digest": meta.module_digest,
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_meta(actor_id: str, value: bytes) -> ActorMeta:
    try:
        record = json.loads(value)
        meta = ActorMeta(
            actor_id=actor_id,
            name=record["name"],
            key=tuple(record["key"]),
            created_ms=record["created_ms"],
            module_digest=record["module_digest"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueInvalid(f"stored meta of actor {actor_id} is malformed") from exc
    if not isinstance(meta.name, str) or not all(isinstance(p, str) for p in meta.key):
        raise ValueInvalid(f"stored meta of actor {actor_id} is malformed")
    encode_meta(meta)
    return meta


def encode_alarm(alarm: AlarmEntry) -> bytes:
    if not isinstance(alarm.attempt, int) or not 0 <= alarm.attempt <= MAX_ATTEMPT:
        raise ValueInvalid(f"alarm attempt must be an int in [0, 2**32), got {alarm.attempt!r}")
    return alarm.attempt.to_bytes(4, "big") + check_value(alarm.payload)


def decode_alarm(actor_id: str, name: str, at_ms: int, value: bytes) -> AlarmEntry:
    if len(value) < 4:
        raise ValueInvalid(f"stored alarm {name!r} of actor {actor_id} is truncated")
    attempt = int.from_bytes(value[:4], "big")
    return AlarmEntry(actor_id, name, at_ms, bytes(value[4:]), attempt)
