"""The migration protocol's two machines, driven by a pair harness with no I/O: a channel that
drops, delays, duplicates and reorders messages (seeded), a clock, and a directory that is one
variable. The state must arrive whole and the owner change exactly when the flip happens."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

import cbor2
import pytest
from edgewise.host.errors import IllegalTransition, RequestInvalid
from edgewise.regions.migration import wire
from edgewise.regions.migration.messages import (
    CheckOwner,
    ChunkAcked,
    Command,
    DiscardActor,
    ExportState,
    Finished,
    FlipOwner,
    HandOver,
    HoldActor,
    IngestSnapshot,
    Message,
    MigrationAborted,
    ReleaseActor,
    SendMessage,
    ServeActor,
    SnapshotChunkSent,
)
from edgewise.regions.migration.protocol import (
    CHUNK_BYTES,
    MAX_ATTEMPTS,
    RETRY_AFTER_S,
    TARGET_PATIENCE_S,
    Source,
    SourceState,
    Target,
    TargetState,
)

STEP_S = 0.05
MAX_STEPS = 4000


@dataclass
class Channel:
    rng: random.Random
    drop: float = 0.0
    duplicate: float = 0.0
    max_delay_s: float = 0.0
    in_flight: list[tuple[float, int, str, Message]] = field(default_factory=list)
    seq: int = 0

    def send(self, to: str, message: Message, now: float) -> None:
        copies = 2 if self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            if self.rng.random() < self.drop:
                continue
            self.seq += 1
            due = now + self.rng.uniform(0.0, self.max_delay_s)
            self.in_flight.append((due, self.seq, to, message))

    def due(self, now: float) -> list[tuple[str, Message]]:
        ready = [m for m in self.in_flight if m[0] <= now]
        self.in_flight = [m for m in self.in_flight if m[0] > now]
        self.rng.shuffle(ready)  # reorder
        return [(to, message) for _, _, to, message in ready]


@dataclass
class Pair:
    """Runs one migration of ``data`` from node ``src`` to node ``dst``."""

    data: bytes
    channel: Channel
    owner: str = "src"
    flip_outcome: str = "ok"  # ok | lost | unknown
    corrupt_ingest: bool = False
    target_silent: bool = False
    now: float = 0.0
    source: Source = field(init=False)
    target: Target | None = None
    ingested: bytes | None = None
    serving: bool = False
    discarded: bool = False
    released: bool = False
    handed_over: bool = False
    finished: Finished | None = None

    def __post_init__(self) -> None:
        self.source = Source("m1", "a" * 32, "dst", epoch=2, now=0.0)

    def run(self) -> None:
        self.source_do(self.source.start())
        for _ in range(MAX_STEPS):
            for to, message in self.channel.due(self.now):
                self.deliver(to, message)
            self.source_do(self.source.tick(self.now))
            if self.target is not None:
                self.target_do(self.target.tick(self.now))
            done_target = self.target is None or self.target.state in (
                TargetState.SERVING, TargetState.DISCARDED)  # fmt: skip
            if self.finished is not None and done_target and not self.channel.in_flight:
                return
            self.now += STEP_S
        raise AssertionError("the migration did not settle")

    def deliver(self, to: str, message: Message) -> None:
        if to == "src":
            self.source_do(self.source.received(message, self.now))
            return
        if self.target_silent:
            return
        if self.target is None and isinstance(message, SnapshotChunkSent):
            self.target = Target(message, self.now)
        if self.target is None:
            return
        reply, commands = self.target.received(message, self.now)
        if reply is not None:
            self.channel.send("src", reply, self.now)
        self.target_do(commands)

    def source_do(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, HoldActor):
                self.source_do(self.source.held())
            elif isinstance(command, ExportState):
                digest = hashlib.sha256(self.data).hexdigest()
                self.source_do(self.source.exported(self.data, digest, self.now))
            elif isinstance(command, SendMessage):
                self.channel.send("dst", command.message, self.now)
            elif isinstance(command, FlipOwner):
                self.source_do(self.flip(command.epoch))
            elif isinstance(command, CheckOwner):
                self.source_do(self.source.owner_is(self.owner))
            elif isinstance(command, ReleaseActor):
                self.released = True
            elif isinstance(command, HandOver):
                assert self.owner == "dst", "handed over before the flip"
                self.handed_over = True
            elif isinstance(command, Finished):
                self.finished = command

    def flip(self, epoch: int) -> list[Command]:
        assert epoch == 2
        if self.flip_outcome == "lost":
            return self.source.flip_failed("a racing move")
        self.owner = "dst"
        if self.flip_outcome == "unknown":
            return self.source.flip_unknown(self.now)
        return self.source.flip_succeeded()

    def target_do(self, commands: list[Command]) -> None:
        assert self.target is not None
        for command in commands:
            if isinstance(command, IngestSnapshot):
                ok = hashlib.sha256(command.data).hexdigest() == command.sha256
                ok = ok and not self.corrupt_ingest
                self.ingested = command.data if ok else None
                reply, more = self.target.ingested(ok, "" if ok else "checksum")
                self.channel.send("src", reply, self.now)
                self.target_do(more)
            elif isinstance(command, ServeActor):
                assert self.owner == "dst", "serving before the flip"
                self.serving = True
            elif isinstance(command, DiscardActor):
                self.discarded = True
            elif isinstance(command, CheckOwner):
                self.target_do(self.target.owner_is(self.owner, "dst"))


def state(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("size", [0, 1024, CHUNK_BYTES, 3 * CHUNK_BYTES + 17])
def test_a_clean_migration_moves_the_state_whole(size: int) -> None:
    pair = Pair(state(size), Channel(random.Random(0)))
    pair.run()
    assert pair.finished == Finished(True)
    assert pair.ingested == pair.data and pair.serving and pair.handed_over
    assert pair.owner == "dst" and not pair.released and not pair.discarded
    assert pair.source.state is SourceState.DONE


@pytest.mark.parametrize("seed", range(8))
def test_loss_delay_duplicates_and_reordering_only_slow_it_down(seed: int) -> None:
    channel = Channel(random.Random(seed), drop=0.25, duplicate=0.2, max_delay_s=0.6)
    pair = Pair(state(5 * CHUNK_BYTES + 3, seed), channel)
    pair.run()
    if pair.finished == Finished(True):
        assert pair.ingested == pair.data and pair.serving and pair.owner == "dst"
    else:  # so much was lost that the source gave up: nothing moved
        assert pair.released and pair.owner == "src" and not pair.serving


def test_a_failed_verification_keeps_the_actor_at_the_source() -> None:
    pair = Pair(state(2048), Channel(random.Random(0)), corrupt_ingest=True)
    pair.run()
    assert pair.finished is not None and not pair.finished.ok
    assert "verification" in pair.finished.reason
    assert pair.released and pair.discarded and pair.owner == "src" and not pair.serving


def test_a_silent_target_is_given_up_after_bounded_retries() -> None:
    pair = Pair(state(2048), Channel(random.Random(0)), target_silent=True)
    pair.run()
    assert pair.finished is not None and not pair.finished.ok
    assert pair.released and pair.owner == "src"
    assert pair.now <= RETRY_AFTER_S * (MAX_ATTEMPTS + 2)


def test_a_lost_flip_keeps_the_actor_at_the_source() -> None:
    pair = Pair(state(2048), Channel(random.Random(0)), flip_outcome="lost")
    pair.run()
    assert pair.finished is not None and not pair.finished.ok
    assert pair.released and pair.discarded and pair.owner == "src" and not pair.serving


def test_a_flip_of_unknown_outcome_is_settled_by_reading_the_owner() -> None:
    pair = Pair(state(2048), Channel(random.Random(0)), flip_outcome="unknown")
    pair.run()
    assert pair.finished == Finished(True) and pair.serving and pair.handed_over


def test_a_target_that_hears_nothing_after_ingesting_asks_the_directory() -> None:
    source = Source("m1", "a" * 32, "dst", epoch=2, now=0.0)
    source.start()
    source.held()
    [send] = source.exported(b"state", hashlib.sha256(b"state").hexdigest(), 0.0)
    assert isinstance(send, SendMessage) and isinstance(send.message, SnapshotChunkSent)
    target = Target(send.message, 0.0)
    reply, commands = target.received(send.message, 0.0)
    assert reply is None and isinstance(commands[0], IngestSnapshot)
    verdict, _ = target.ingested(True)
    assert source.received(verdict, 0.0) == [FlipOwner(2)]
    assert target.tick(TARGET_PATIENCE_S / 2) == []
    assert target.tick(TARGET_PATIENCE_S + 1) == [CheckOwner()]
    assert target.owner_is("dst", "dst") == [ServeActor()]


def test_chunks_that_disagree_about_the_snapshot_are_refused() -> None:
    first = SnapshotChunkSent("m", "a" * 32, 10, "0" * 64, 2, 0, b"x", 0)
    target = Target(first, 0.0)
    liar = SnapshotChunkSent("m", "a" * 32, 10, "1" * 64, 2, 1, b"y", 0)
    reply, _ = target.received(liar, 0.0)
    assert isinstance(reply, MigrationAborted)


def test_an_illegal_move_names_the_state_the_event_and_the_actor() -> None:
    source = Source("m1", "b" * 32, "dst", epoch=2, now=0.0)
    with pytest.raises(IllegalTransition) as info:
        source.flip_succeeded()
    message = info.value.message
    assert "b" * 32 in message and "'flipped'" in message and "'draining'" in message


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\x00",
        cbor2.dumps([1, 2]),
        cbor2.dumps({"type": "teleport"}),
        cbor2.dumps({"type": "chunk_acked", "migration_id": "m", "index": "0"}),
        cbor2.dumps({"type": "chunk_acked", "migration_id": "m"}),
        cbor2.dumps({"type": "verified", "migration_id": "m", "extra": 1}),
        cbor2.dumps({"type": "flipped", "migration_id": "m", "epoch": True}),
    ],
)
def test_bad_messages_from_a_peer_are_refused(raw: bytes) -> None:
    with pytest.raises(RequestInvalid):
        wire.decode(raw)


def test_every_message_survives_the_wire() -> None:
    for message in [
        SnapshotChunkSent("m", "a" * 32, 10, "0" * 64, 1, 3, b"\x00\x01", 7),
        ChunkAcked("m", 3),
        MigrationAborted("m", "why"),
    ]:
        assert wire.decode(wire.encode(message)) == message
