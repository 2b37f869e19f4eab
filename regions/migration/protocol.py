"""The live-migration protocol between a source node and a target node, as two sans-IO machines.

The source drains the actor, exports its state, offers it to the target, streams it in
checksummed chunks (a window of them in flight, each retransmitted until acknowledged), asks the
target to ingest and verify it, then flips the owner record (CAS, epoch + 1) and hands the actor
over. Messages travel in requests whose answers carry the peer's reply; a lost request or answer
is a missing reply, which the source's timer turns into a retransmission (the target answers
duplicates again, so every step is idempotent). ``now`` is always an argument.

Safety: before ``FlipOwner`` succeeded the actor is the source's (any failure releases it there,
unchanged, and tells the target to discard its copy); once the flip is known to have happened the
target owns it and the source only then drops its copy. A flip whose outcome is unknown (the
directory did not answer) is settled by reading the owner record (``CheckOwner``). A target that
hears nothing for a while after ingesting asks the directory too, never guesses.

    source: draining -> exporting -> offering -> streaming -> ingesting -> flipping -> done
                                 \\-------------------\\-----------\\------> aborted
    target: receiving -> ingesting -> ready -> serving | discarded
"""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass

from edgewise.host.errors import IllegalTransition

CHUNK_BYTES = 1024 * 1024
WINDOW = 4
RETRY_AFTER_S = 1.0
MAX_ATTEMPTS = 5
TARGET_PATIENCE_S = 10.0


# --- messages between the nodes ------------------------------------------------------------


@dataclass(frozen=True)
class MigrationOffered:
    migration_id: str
    actor_id: str
    size_bytes: int
    sha256: str
    chunks: int


@dataclass(frozen=True)
class OfferAccepted:
    migration_id: str


@dataclass(frozen=True)
class SnapshotChunkSent:
    migration_id: str
    index: int
    data: bytes
    crc32: int


@dataclass(frozen=True)
class ChunkAcked:
    migration_id: str
    index: int


@dataclass(frozen=True)
class IngestRequested:
    migration_id: str


@dataclass(frozen=True)
class SnapshotVerified:
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
    MigrationOffered
    | OfferAccepted
    | SnapshotChunkSent
    | ChunkAcked
    | IngestRequested
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


def chunk_of(data: bytes, index: int, migration_id: str) -> SnapshotChunkSent:
    piece = data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
    return SnapshotChunkSent(migration_id, index, piece, zlib.crc32(piece))


# --- the source ------------------------------------------------------------------------------


class SourceState(enum.Enum):
    DRAINING = "draining"
    EXPORTING = "exporting"
    OFFERING = "offering"
    STREAMING = "streaming"
    INGESTING = "ingesting"
    FLIPPING = "flipping"
    CONFIRMING = "confirming"
    DONE = "done"
    ABORTED = "aborted"


_S = SourceState
SOURCE_MOVES: dict[tuple[SourceState, str], SourceState] = {
    (_S.DRAINING, "held"): _S.EXPORTING,
    (_S.EXPORTING, "exported"): _S.OFFERING,
    (_S.OFFERING, "accepted"): _S.STREAMING,
    (_S.STREAMING, "all_acked"): _S.INGESTING,
    (_S.INGESTING, "verified"): _S.FLIPPING,
    (_S.FLIPPING, "flipped"): _S.DONE,
    (_S.FLIPPING, "flip_unknown"): _S.CONFIRMING,
    (_S.CONFIRMING, "flipped"): _S.DONE,
}
ABORTABLE = frozenset({_S.DRAINING, _S.EXPORTING, _S.OFFERING, _S.STREAMING, _S.INGESTING})


class Source:
    """The source side of one migration of ``actor_id`` to node ``target``."""

    def __init__(
        self, migration_id: str, actor_id: str, target: str, epoch: int, now: float
    ) -> None:
        self.migration_id = migration_id
        self.actor_id = actor_id
        self.target = target
        self.epoch = epoch  # the epoch the target will own the actor with
        self.state = SourceState.DRAINING
        self.reason = ""
        self._data = b""
        self._sha256 = ""
        self._chunks = 0
        self._acked: set[int] = set()
        self._sent_at: dict[object, float] = {}  # what awaits a reply -> when it was sent
        self._attempts: dict[object, int] = {}
        self._last_progress = now

    def _move(self, event: str) -> None:
        target = SOURCE_MOVES.get((self.state, event))
        if target is None:
            raise IllegalTransition(
                f"migration of actor {self.actor_id}: event {event!r} in state {self.state.value!r}"
            )
        self.state = target

    def start(self) -> list[Command]:
        return [HoldActor()]

    def held(self) -> list[Command]:
        self._move("held")
        return [ExportState()]

    def exported(self, data: bytes, sha256: str, now: float) -> list[Command]:
        self._move("exported")
        self._data, self._sha256 = data, sha256
        self._chunks = max(1, -(-len(data) // CHUNK_BYTES))
        offer = MigrationOffered(self.migration_id, self.actor_id, len(data), sha256, self._chunks)
        return self._send("offer", offer, now)

    def received(self, message: Message, now: float) -> list[Command]:
        """A reply of the target (duplicates and late ones are ignored)."""
        if isinstance(message, MigrationAborted):
            return self.fail(f"the target refused: {message.reason}") if self._abortable else []
        if self.state is SourceState.OFFERING and isinstance(message, OfferAccepted):
            self._move("accepted")
            self._settle("offer", now)
            return self._send_window(now)
        if self.state is SourceState.STREAMING and isinstance(message, ChunkAcked):
            if message.index in self._acked or not 0 <= message.index < self._chunks:
                return []
            self._acked.add(message.index)
            self._settle(("chunk", message.index), now)
            if len(self._acked) == self._chunks:
                self._move("all_acked")
                return self._send("ingest", IngestRequested(self.migration_id), now)
            return self._send_window(now)
        if self.state is SourceState.INGESTING and isinstance(message, SnapshotVerified):
            self._move("verified")
            self._settle("ingest", now)
            return [FlipOwner(self.epoch)]
        return []

    def flip_succeeded(self) -> list[Command]:
        self._move("flipped")
        return [
            HandOver(),
            SendMessage(OwnerFlipped(self.migration_id, self.epoch)),
            Finished(True),
        ]

    def flip_unknown(self) -> list[Command]:
        """The directory did not say whether the CAS applied: read the record."""
        self._move("flip_unknown")
        return [CheckOwner()]

    def flip_failed(self, reason: str) -> list[Command]:
        """The CAS lost for sure (someone else changed the record): keep the actor here."""
        if self.state is not SourceState.FLIPPING:
            return []
        return self._abort(f"the owner record changed meanwhile: {reason}")

    def owner_is(self, node: str) -> list[Command]:
        """The owner record, read after a flip of unknown outcome."""
        if self.state is not SourceState.CONFIRMING:
            return []
        if node == self.target:
            return self.flip_succeeded()
        return self._abort(f"the flip did not happen (the owner is {node!r})")

    def fail(self, reason: str) -> list[Command]:
        """A local failure before the flip: release the actor here and tell the target."""
        if not self._abortable:
            return []
        return self._abort(reason)

    def _abort(self, reason: str) -> list[Command]:
        self.state, self.reason = SourceState.ABORTED, reason
        self._sent_at.clear()
        abort = MigrationAborted(self.migration_id, reason)
        return [ReleaseActor(), SendMessage(abort), Finished(False, reason)]

    def tick(self, now: float) -> list[Command]:
        """Retransmit what waited too long for its reply; give up after ``MAX_ATTEMPTS``."""
        commands: list[Command] = []
        for what, sent in list(self._sent_at.items()):
            if now - sent < RETRY_AFTER_S:
                continue
            if self._attempts.get(what, 0) >= MAX_ATTEMPTS:
                return self.fail(f"the target did not answer ({what})")
            commands += self._send(what, self._message_for(what), now)
        return commands

    @property
    def _abortable(self) -> bool:
        return self.state in ABORTABLE

    def _message_for(self, what: object) -> Message:
        if what == "offer":
            chunks = self._chunks
            return MigrationOffered(
                self.migration_id, self.actor_id, len(self._data), self._sha256, chunks
            )
        if what == "ingest":
            return IngestRequested(self.migration_id)
        assert isinstance(what, tuple)
        return chunk_of(self._data, what[1], self.migration_id)

    def _send(self, what: object, message: Message, now: float) -> list[Command]:
        self._sent_at[what] = now
        self._attempts[what] = self._attempts.get(what, 0) + 1
        return [SendMessage(message)]

    def _settle(self, what: object, now: float) -> None:
        self._sent_at.pop(what, None)
        self._last_progress = now

    def _send_window(self, now: float) -> list[Command]:
        in_flight = sum(1 for what in self._sent_at if isinstance(what, tuple))
        commands: list[Command] = []
        for index in range(self._chunks):
            if in_flight >= WINDOW:
                break
            key = ("chunk", index)
            if index in self._acked or key in self._sent_at:
                continue
            commands += self._send(key, chunk_of(self._data, index, self.migration_id), now)
            in_flight += 1
        return commands


# --- the target ------------------------------------------------------------------------------


class TargetState(enum.Enum):
    RECEIVING = "receiving"
    INGESTING = "ingesting"
    READY = "ready"
    CHECKING = "checking"
    SERVING = "serving"
    DISCARDED = "discarded"


class Target:
    """The target side of one migration, made when its offer arrives."""

    def __init__(self, offer: MigrationOffered, now: float) -> None:
        self.offer = offer
        self.state = TargetState.RECEIVING
        self._chunks: dict[int, bytes] = {}
        self._heard_at = now

    def received(self, message: Message, now: float) -> tuple[Message | None, list[Command]]:
        """A message of the source: the reply to send back, and commands."""
        self._heard_at = now
        mid = self.offer.migration_id
        state = self.state
        if isinstance(message, MigrationAborted):
            if state in (TargetState.SERVING, TargetState.DISCARDED):
                return None, []
            self.state = TargetState.DISCARDED
            return None, [DiscardActor()]
        if isinstance(message, MigrationOffered):
            return OfferAccepted(mid), []
        if isinstance(message, SnapshotChunkSent):
            if state is not TargetState.RECEIVING:
                return ChunkAcked(mid, message.index), []  # a late duplicate
            if not 0 <= message.index < self.offer.chunks:
                return MigrationAborted(mid, f"chunk {message.index} out of range"), []
            if zlib.crc32(message.data) != message.crc32:
                return None, []  # corrupt: no ack, the source sends it again
            self._chunks[message.index] = message.data
            return ChunkAcked(mid, message.index), []
        if isinstance(message, IngestRequested):
            if state is TargetState.READY:
                return SnapshotVerified(mid), []
            if state is not TargetState.RECEIVING or len(self._chunks) < self.offer.chunks:
                return None, []
            self.state = TargetState.INGESTING
            data = b"".join(self._chunks[i] for i in range(self.offer.chunks))
            self._chunks.clear()
            return None, [IngestSnapshot(data, self.offer.sha256)]
        if isinstance(message, OwnerFlipped):
            if state in (TargetState.READY, TargetState.CHECKING):
                self.state = TargetState.SERVING
                return FlipAcknowledged(mid), [ServeActor()]
            return FlipAcknowledged(mid), []
        return None, []

    def ingested(self, ok: bool, reason: str = "") -> tuple[Message, list[Command]]:
        mid = self.offer.migration_id
        if self.state is not TargetState.INGESTING:
            raise IllegalTransition(
                f"migration of actor {self.offer.actor_id}: event 'ingested' in state "
                f"{self.state.value!r}"
            )
        if ok:
            self.state = TargetState.READY
            return SnapshotVerified(mid), []
        self.state = TargetState.DISCARDED
        return MigrationAborted(mid, f"the snapshot failed verification: {reason}"), [
            DiscardActor()
        ]

    def tick(self, now: float) -> list[Command]:
        """Heard nothing for long after ingesting: only the directory knows who owns it."""
        if self.state is TargetState.READY and now - self._heard_at >= TARGET_PATIENCE_S:
            self.state = TargetState.CHECKING
            return [CheckOwner()]
        if self.state is TargetState.RECEIVING and now - self._heard_at >= TARGET_PATIENCE_S:
            self.state = TargetState.DISCARDED
            return [DiscardActor()]
        return []

    def owner_is(self, node: str, target_node: str) -> list[Command]:
        if self.state is not TargetState.CHECKING:
            return []
        if node == target_node:
            self.state = TargetState.SERVING
            return [ServeActor()]
        self.state = TargetState.DISCARDED
        return [DiscardActor()]
