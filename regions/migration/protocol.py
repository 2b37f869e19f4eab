"""The live-migration protocol between a source node and a target node, as two sans-IO machines.

The source drains the actor, exports its state and streams it to the target in checksummed
chunks (a window of them in flight, each retransmitted until acknowledged; every chunk also
carries the offer: actor, size, sha256, chunk count, so whichever arrives first opens the
migration at the target). The target ingests and verifies the snapshot as soon as it has every
chunk and answers the completing chunk with ``SnapshotVerified``; the source then flips the owner
record (CAS, epoch + 1) and hands the actor over. A small actor thus moves in one round trip
plus the CAS. Messages travel in requests whose answers carry the peer's reply; a lost request
or answer is a missing reply, which the source's timer turns into a retransmission (the target
answers duplicates again, so every step is idempotent). ``now`` is always an argument.

Safety: before ``FlipOwner`` succeeded the actor is the source's (any failure releases it there,
unchanged, and tells the target to discard its copy); once the flip is known to have happened the
target owns it and the source only then drops its copy. A flip whose outcome is unknown (the
directory did not answer) is settled by reading the owner record (``CheckOwner``). A target that
hears nothing for a while after ingesting asks the directory too, never guesses.

    source: draining -> exporting -> streaming -> flipping -> done (or confirming -> done)
                        \\-----------\\------------\\------> aborted
    target: receiving -> ingesting -> ready -> serving | discarded
"""

from __future__ import annotations

import enum
import zlib

from edgewise.host.errors import IllegalTransition
from edgewise.regions.migration.messages import (
    CheckOwner,
    ChunkAcked,
    Command,
    DiscardActor,
    ExportState,
    Finished,
    FlipAcknowledged,
    FlipOwner,
    HandOver,
    HoldActor,
    IngestSnapshot,
    Message,
    MigrationAborted,
    OwnerFlipped,
    ReleaseActor,
    SendMessage,
    ServeActor,
    SnapshotChunkSent,
    SnapshotVerified,
)

CHUNK_BYTES = 1024 * 1024
WINDOW = 4
RETRY_AFTER_S = 1.0
MAX_ATTEMPTS = 5
TARGET_PATIENCE_S = 10.0


def chunk_count(size_bytes: int) -> int:
    return max(1, -(-size_bytes // CHUNK_BYTES))


# --- the source ------------------------------------------------------------------------------


class SourceState(enum.Enum):
    DRAINING = "draining"
    EXPORTING = "exporting"
    STREAMING = "streaming"
    FLIPPING = "flipping"
    CONFIRMING = "confirming"
    DONE = "done"
    ABORTED = "aborted"


_S = SourceState
SOURCE_MOVES: dict[tuple[SourceState, str], SourceState] = {
    (_S.DRAINING, "held"): _S.EXPORTING,
    (_S.EXPORTING, "exported"): _S.STREAMING,
    (_S.STREAMING, "verified"): _S.FLIPPING,
    (_S.FLIPPING, "flipped"): _S.DONE,
    (_S.FLIPPING, "flip_unknown"): _S.CONFIRMING,
    (_S.CONFIRMING, "flipped"): _S.DONE,
}
ABORTABLE = frozenset({_S.DRAINING, _S.EXPORTING, _S.STREAMING})


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
        self._sent_at: dict[int, float] = {}  # chunks awaiting a reply -> when sent
        self._attempts: dict[int, int] = {}
        self._checked_at = now

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
        self._chunks = chunk_count(len(data))
        return self._send_window(now)

    def received(self, message: Message, now: float) -> list[Command]:
        """A reply of the target (duplicates and late ones are ignored)."""
        if isinstance(message, MigrationAborted):
            return self.fail(f"the target refused: {message.reason}") if self._abortable else []
        if self.state is not SourceState.STREAMING:
            return []
        if isinstance(message, SnapshotVerified):
            self._move("verified")
            self._sent_at.clear()
            return [FlipOwner(self.epoch)]
        if isinstance(message, ChunkAcked) and 0 <= message.index < self._chunks:
            if message.index not in self._acked:
                self._acked.add(message.index)
                self._sent_at.pop(message.index, None)
            return self._send_window(now)
        return []

    def flip_succeeded(self) -> list[Command]:
        self._move("flipped")
        return [
            HandOver(),
            SendMessage(OwnerFlipped(self.migration_id, self.epoch)),
            Finished(True),
        ]

    def flip_unknown(self, now: float) -> list[Command]:
        """The directory did not say whether the CAS applied: read the record."""
        self._move("flip_unknown")
        self._checked_at = now
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

    @property
    def acked_bytes(self) -> int:
        return min(len(self._data), len(self._acked) * CHUNK_BYTES)

    def _abort(self, reason: str) -> list[Command]:
        self.state, self.reason = SourceState.ABORTED, reason
        self._sent_at.clear()
        abort = MigrationAborted(self.migration_id, reason)
        return [ReleaseActor(), SendMessage(abort), Finished(False, reason)]

    def tick(self, now: float) -> list[Command]:
        """Retransmit what waited too long for its reply; give up after ``MAX_ATTEMPTS``.

        A flip of unknown outcome is never given up: the owner record is read again and again
        until the directory answers (the actor stays held meanwhile: it has one owner, but which
        one is not known yet)."""
        if self.state is SourceState.CONFIRMING:
            if now - self._checked_at < RETRY_AFTER_S:
                return []
            self._checked_at = now
            return [CheckOwner()]
        commands: list[Command] = []
        for index, sent in list(self._sent_at.items()):
            if now - sent < RETRY_AFTER_S:
                continue
            if self._attempts.get(index, 0) >= MAX_ATTEMPTS:
                return self.fail(f"the target did not answer (chunk {index})")
            commands += self._send(index, now)
        return commands

    @property
    def _abortable(self) -> bool:
        return self.state in ABORTABLE

    def _chunk(self, index: int) -> SnapshotChunkSent:
        piece = self._data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
        return SnapshotChunkSent(
            self.migration_id, self.actor_id, len(self._data), self._sha256, self._chunks,
            index, piece, zlib.crc32(piece),
        )  # fmt: skip

    def _send(self, index: int, now: float) -> list[Command]:
        self._sent_at[index] = now
        self._attempts[index] = self._attempts.get(index, 0) + 1
        return [SendMessage(self._chunk(index))]

    def _send_window(self, now: float) -> list[Command]:
        """Keep ``WINDOW`` chunks in flight; the last chunks wait in flight for the verdict."""
        commands: list[Command] = []
        for index in range(self._chunks):
            if len(self._sent_at) >= WINDOW:
                break
            if index not in self._acked and index not in self._sent_at:
                commands += self._send(index, now)
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
    """The target side of one migration, made when its first chunk arrives."""

    def __init__(self, first: SnapshotChunkSent, now: float) -> None:
        self.offer = first  # the offer fields of every chunk must match the first one's
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
        if isinstance(message, OwnerFlipped):
            if state in (TargetState.READY, TargetState.CHECKING):
                self.state = TargetState.SERVING
                return FlipAcknowledged(mid), [ServeActor()]
            return FlipAcknowledged(mid), []
        if not isinstance(message, SnapshotChunkSent):
            return None, []
        if state in (TargetState.READY, TargetState.SERVING):
            return SnapshotVerified(mid), []  # a duplicate after the verdict
        if state is not TargetState.RECEIVING:
            return None, []  # ingesting: the verdict comes with a later retransmission
        offer = self.offer
        same = (message.actor_id, message.size_bytes, message.sha256, message.chunks)
        if same != (offer.actor_id, offer.size_bytes, offer.sha256, offer.chunks):
            return MigrationAborted(mid, "chunks disagree about the snapshot"), []
        if not 0 <= message.index < offer.chunks:
            return MigrationAborted(mid, f"chunk {message.index} out of range"), []
        if zlib.crc32(message.data) != message.crc32:
            return None, []  # corrupt: no ack, the source sends it again
        self._chunks[message.index] = message.data
        if len(self._chunks) < offer.chunks:
            return ChunkAcked(mid, message.index), []
        self.state = TargetState.INGESTING
        data = b"".join(self._chunks[i] for i in range(offer.chunks))
        self._chunks.clear()
        return None, [IngestSnapshot(data, offer.sha256)]

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
