"""Migration messages on the wire between nodes: one CBOR map per message (sans-IO).

``{"type": "chunk", "migration_id": .., "index": .., "data": <bytes>, "crc32": ..}`` and so on:
the ``type`` names the message, the other keys are its fields. ``decode`` checks every field's
type and refuses anything else with ``request.invalid``: a peer's bytes are input like any other.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cbor2
from edgewise.host.errors import RequestInvalid
from edgewise.regions.migration.messages import (
    ChunkAcked,
    FlipAcknowledged,
    Message,
    MigrationAborted,
    OwnerFlipped,
    SnapshotChunkSent,
    SnapshotVerified,
)

TYPES: dict[str, type[Any]] = {
    "chunk": SnapshotChunkSent,
    "chunk_acked": ChunkAcked,
    "verified": SnapshotVerified,
    "flipped": OwnerFlipped,
    "flip_acked": FlipAcknowledged,
    "aborted": MigrationAborted,
}
NAMES = {cls: name for name, cls in TYPES.items()}


def encode(message: Message) -> bytes:
    fields = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    return bytes(cbor2.dumps({"type": NAMES[type(message)], **fields}))


def decode(raw: bytes) -> Message:
    try:
        value = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise RequestInvalid(f"migration message is not CBOR: {exc}") from None
    if not isinstance(value, dict) or value.get("type") not in TYPES:
        raise RequestInvalid("migration message has no known type")
    cls = TYPES[value.pop("type")]
    expected = {f.name: f.type for f in dataclasses.fields(cls)}
    if set(value) != set(expected):
        raise RequestInvalid(f"migration message {NAMES[cls]!r} has the wrong fields")
    for name, kind in expected.items():
        python_type = {"str": str, "int": int, "bytes": bytes}[str(kind)]
        field_value = value[name]
        if isinstance(field_value, bool) or not isinstance(field_value, python_type):
            raise RequestInvalid(f"migration message field {name!r} must be {kind}")
    message: Message = cls(**value)
    return message
