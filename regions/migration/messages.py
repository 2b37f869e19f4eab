"""What the two sides of a migration say to each other (messages) and what their machines ask
their coordinators to do (commands): frozen dataclasses, named for what happened (messages) or
what to do (commands). ``protocol.py`` has the machines; ``wire.py`` the messages' bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- messages between the nodes ------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotChunkSent:
    migration_id: str
    actor_id: str
    size_bytes: int
    sha256: str
    chunks: int
    index: int
    data: bytes
    crc32: int


@dataclass(frozen=True)
class ChunkAcked:
    migration_id: str
    index: int


@dataclass(frozen=True)
class SnapshotVerified:
    """The target has the whole snapshot, ingested and checked against its sha256."""

    migration_id: str


@dataclass(frozen=True)
class OwnerFlipped:
    migration_id: str
    epoch: int


@dataclass(frozen=True)
class FlipAcknowledged:
    migration_id: str


@dataclass(frozen=True)
class MigrationAborted:
    migration_id: str
    reason: str


Message = (
    SnapshotChunkSent
    | ChunkAcked
    | SnapshotVerified
    | OwnerFlipped
    | FlipAcknowledged
    | MigrationAborted
)


# --- commands to the coordinators ------------------------------------------------------------


@dataclass(frozen=True)
class HoldActor:
    """New turns wait; the activation finishes and leaves memory."""


@dataclass(frozen=True)
class ExportState:
    """Write the held actor's keys to an export file; answer with ``exported``."""


@dataclass(frozen=True)
class SendMessage:
    message: Message


@dataclass(frozen=True)
class FlipOwner:
    """CAS the owner record to the target with ``epoch``; answer with ``flip_*``."""

    epoch: int


@dataclass(frozen=True)
class CheckOwner:
    """Read the owner record; answer with ``owner_is(node)``."""


@dataclass(frozen=True)
class ReleaseActor:
    """Serve the actor here again (the migration failed before the flip)."""


@dataclass(frozen=True)
class HandOver:
    """The flip happened: waiting turns and sockets go to the target; drop the local copy."""


@dataclass(frozen=True)
class IngestSnapshot:
    """Target: write ``data`` to a file, ingest and verify it against ``sha256``; answer with
    ``ingested(ok)``."""

    data: bytes
    sha256: str


@dataclass(frozen=True)
class ServeActor:
    """Target: the actor is yours."""


@dataclass(frozen=True)
class DiscardActor:
    """Target: drop whatever was ingested; the actor stays at the source."""


@dataclass(frozen=True)
class Finished:
    ok: bool
    reason: str = ""


Command = (
    HoldActor
    | ExportState
    | SendMessage
    | FlipOwner
    | CheckOwner
    | ReleaseActor
    | HandOver
    | IngestSnapshot
    | ServeActor
    | DiscardActor
    | Finished
)
