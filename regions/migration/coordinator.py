"""Carrying out migrations: the asyncio side of ``protocol.py``, for both roles.

``Migrations.migrate(actor_id, region)`` runs the source machine: it executes each command on
the node (hold, export, hand over), the directory (flip, read) or the target (messages, posted to
``/v1/internal/migrations`` with the cluster secret; the answer carries the reply), and feeds the
outcomes back with the clock. ``Migrations.receive(raw)`` runs the target machine of the
migration a message belongs to, and answers with its reply. While an actor is coming in, the
router treats it as remote (``Router.incoming``), so that no request is served from a copy the
directory does not give to this node yet. ``progress(actor_id)`` says how far a running
migration got, for ``edgewise migrate``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import time
import uuid
from dataclasses import dataclass

import aiohttp
from edgewise.host.actors import Node
from edgewise.host.errors import EdgewiseError, RequestInvalid
from edgewise.regions.directory import Directory, Owner, Placement
from edgewise.regions.errors import (
    DirectoryConflict,
    DirectoryUnavailable,
    MigrationFailed,
    RegionUnknown,
)
from edgewise.regions.follow import FollowPolicy
from edgewise.regions.migration import wire
from edgewise.regions.migration.messages import (
    CheckOwner,
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
)
from edgewise.regions.migration.protocol import (
    Source,
    Target,
    TargetState,
)
from edgewise.regions.router import PEER_HEADER, Router
from edgewise.regions.topology import NodeEntry, Topology

log = logging.getLogger("edgewise.regions")

MESSAGES_PATH = "/v1/internal/migrations"
TICK_S = 0.05
SEND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class MigrationReport:
    actor_id: str
    from_region: str
    to_region: str
    to_node: str
    size_bytes: int
    elapsed_ms: float
    held_ms: float  # how long the actor's turns waited (from the hold to the hand-over)


@dataclass
class Progress:
    sent_bytes: int
    total_bytes: int
    state: str


class Migrations:
    def __init__(
        self, node: Node, router: Router, directory: Directory, topology: Topology
    ) -> None:
        self._node = node
        self._router = router
        self._directory = directory
        self._topology = topology
        self._session: aiohttp.ClientSession | None = None
        self._sources: dict[str, Progress] = {}
        self._targets: dict[str, tuple[Target, asyncio.Task[None]]] = {}
        self._work = node.config.data_path / "migrations"  # export files while in transit
        shutil.rmtree(self._work, ignore_errors=True)  # what a crash left behind
        self._work.mkdir(parents=True)
        self._policy = FollowPolicy(node.config.follow)
        self._following: set[asyncio.Task[None]] = set()

    def progress(self, actor_id: str) -> Progress | None:
        return self._sources.get(actor_id)

    def observe(self, actor_id: str, region: str) -> None:
        """A call of the actor came from ``region``: follow its users there if the policy says."""
        now = time.monotonic()
        if region not in self._topology.regions:
            region = self._router.region
        self._policy.observe(actor_id, region, now)
        to = self._policy.decide(actor_id, self._router.region, now)
        if to is None or actor_id in self._sources:
            return
        self._policy.moving(actor_id, now)
        task = asyncio.create_task(self._follow(actor_id, to))
        self._following.add(task)
        task.add_done_callback(self._following.discard)

    async def _follow(self, actor_id: str, region: str) -> None:
        log.info("actor %s: most calls come from region %s, moving it there", actor_id, region)
        try:
            report = await self.migrate(actor_id, region)
        except EdgewiseError as exc:
            log.warning("actor %s: following its users failed: %s", actor_id, exc.message)
            return
        log.info("actor %s moved to %s in %.1f ms", actor_id, region, report.elapsed_ms)

    # --- the source -----------------------------------------------------------------------

    async def migrate(self, actor_id: str, region: str) -> MigrationReport:
        """Move the actor (served here) to ``region``; raises ``MigrationFailed`` if it stayed."""
        target = self._target_node(region)
        if actor_id in self._sources:
            raise MigrationFailed(f"actor {actor_id} is already migrating")
        owner = await self._directory.owner(actor_id)
        if owner is None or owner.placement.node != self._node.node_id:
            raise MigrationFailed(f"actor {actor_id} is not owned by this node")
        started = time.monotonic()
        machine = Source(
            uuid.uuid4().hex, actor_id, target.node_id, owner.placement.epoch + 1, started
        )
        progress = Progress(0, 0, machine.state.value)
        self._sources[actor_id] = progress
        run = _SourceRun(self, machine, owner, target, progress)
        try:
            size = await run.run()
        finally:
            del self._sources[actor_id]
        elapsed = (time.monotonic() - started) * 1000.0
        here = self._router.region
        return MigrationReport(actor_id, here, region, target.node_id, size, elapsed, run.held_ms)

    def _target_node(self, region: str) -> NodeEntry:
        if region == self._router.region:
            raise RequestInvalid(f"the actor is already in region {region!r}")
        self._topology.region(region)
        nodes = self._topology.nodes_of(region)
        if not nodes:
            raise RegionUnknown(f"region {region!r} has no nodes")
        return nodes[0]

    async def post(self, target: NodeEntry, message: Message) -> Message | None:
        """Send one message to the target; its reply, or None when it did not answer."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
            )
        headers = {PEER_HEADER: self._topology.secret, "Content-Type": "application/cbor"}
        try:
            async with self._session.post(
                target.url + MESSAGES_PATH, data=wire.encode(message), headers=headers
            ) as answer:
                body = await answer.read()
                if answer.status != 200 or not body:
                    return None
                return wire.decode(body)
        except (aiohttp.ClientError, TimeoutError, EdgewiseError) as exc:
            log.debug("migration message to %s failed: %r", target.node_id, exc)
            return None

    # --- the target -----------------------------------------------------------------------

    async def receive(self, raw: bytes) -> bytes | None:
        """One message from a source; the encoded reply, if there is one."""
        message = wire.decode(raw)
        found = self._targets.get(message.migration_id)
        if found is None:
            if isinstance(message, OwnerFlipped):  # the flip happened; we serve it on access
                return wire.encode(FlipAcknowledged(message.migration_id))
            if not isinstance(message, SnapshotChunkSent):
                return wire.encode(MigrationAborted(message.migration_id, "unknown migration"))
            if self._node.has_actor(message.actor_id):
                return wire.encode(MigrationAborted(message.migration_id, "actor already here"))
            machine = Target(message, time.monotonic())
            self._router.incoming.add(message.actor_id)
            task = asyncio.create_task(self._watch(machine))
            self._targets[message.migration_id] = (machine, task)
        else:
            machine = found[0]
        reply, commands = machine.received(message, time.monotonic())
        reply = await self._target_commands(machine, commands) or reply
        return None if reply is None else wire.encode(reply)

    async def _target_commands(self, machine: Target, commands: list[Command]) -> Message | None:
        reply: Message | None = None
        actor_id = machine.offer.actor_id
        for command in commands:
            if isinstance(command, IngestSnapshot):
                ok, reason = await self._ingest(machine.offer, command)
                reply, more = machine.ingested(ok, reason)
                await self._target_commands(machine, more)
            elif isinstance(command, ServeActor):
                owner = await self._directory.owner(actor_id)
                if owner is not None:
                    self._router.owned_here(actor_id, owner)
                else:  # no record: the first access claims it (Router._verify)
                    self._router.incoming.discard(actor_id)
            elif isinstance(command, DiscardActor):
                if self._node.has_actor(actor_id):
                    await self._node.drop_local(actor_id)
                self._router.incoming.discard(actor_id)
            elif isinstance(command, CheckOwner):
                owner = await self._directory.owner(actor_id)
                node = "" if owner is None else owner.placement.node
                more = machine.owner_is(node, self._node.node_id)
                await self._target_commands(machine, more)
        return reply

    async def _ingest(self, offer: SnapshotChunkSent, command: IngestSnapshot) -> tuple[bool, str]:
        if hashlib.sha256(command.data).hexdigest() != command.sha256:
            return False, "checksum mismatch"
        path = self._work / f"{offer.migration_id}.sst"
        path.write_bytes(command.data)
        try:
            info = await self._node.import_actor(path, command.sha256)
        except EdgewiseError as exc:
            return False, exc.message
        finally:
            path.unlink(missing_ok=True)
        if info.actor_id != offer.actor_id:
            await self._node.drop_local(info.actor_id)
            return False, "the snapshot holds another actor"
        return True, ""

    async def _watch(self, machine: Target) -> None:
        """Tick the target until it ends; forget it a while later (late duplicates)."""
        while machine.state not in (TargetState.SERVING, TargetState.DISCARDED):
            await asyncio.sleep(TICK_S * 4)
            try:
                await self._target_commands(machine, machine.tick(time.monotonic()))
            except EdgewiseError as exc:
                log.warning("migration %s: %s", machine.offer.migration_id, exc)
        await asyncio.sleep(SEND_TIMEOUT_S)
        self._targets.pop(machine.offer.migration_id, None)

    async def close(self) -> None:
        for _, task in self._targets.values():
            task.cancel()
        for following in list(self._following):
            following.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None


class _SourceRun:
    """One migration, source side: a loop that feeds the machine events and carries out its
    commands, until ``Finished``."""

    def __init__(
        self,
        migrations: Migrations,
        machine: Source,
        owner: Owner,
        target: NodeEntry,
        progress: Progress,
    ) -> None:
        self.m = migrations
        self.machine = machine
        self.owner = owner
        self.target = target
        self.progress = progress
        self.replies: asyncio.Queue[Message] = asyncio.Queue()
        self.sends: set[asyncio.Task[None]] = set()
        self.finished: Finished | None = None
        self.size = 0
        self.held_at = 0.0
        self.held_ms = 0.0

    async def run(self) -> int:
        try:
            await self.carry_out(self.machine.start())
            while self.finished is None:
                try:
                    reply = await asyncio.wait_for(self.replies.get(), TICK_S)
                except TimeoutError:
                    await self.carry_out(self.machine.tick(time.monotonic()))
                else:
                    await self.carry_out(self.machine.received(reply, time.monotonic()))
                self.progress.state = self.machine.state.value
                self.progress.sent_bytes = self.machine.acked_bytes
        finally:
            if self.sends:
                await asyncio.wait(self.sends, timeout=SEND_TIMEOUT_S)
        if not self.finished.ok:
            raise MigrationFailed(f"migration failed, the actor stayed: {self.finished.reason}")
        return self.size

    async def carry_out(self, commands: list[Command]) -> None:
        for command in commands:
            try:
                more = await self.one(command)
            except EdgewiseError as exc:
                more = self.machine.fail(exc.message)
            await self.carry_out(more)

    async def one(self, command: Command) -> list[Command]:
        node, machine, actor_id = self.m._node, self.machine, self.machine.actor_id
        if isinstance(command, HoldActor):
            self.held_at = time.monotonic()
            await node.hold(actor_id)
            return machine.held()
        if isinstance(command, ExportState):
            path = self.m._work / f"{machine.migration_id}-out.sst"
            try:
                info = await node.export_actor(actor_id, path)
                data = await asyncio.to_thread(path.read_bytes)
            finally:
                path.unlink(missing_ok=True)
            self.size = len(data)
            self.progress.total_bytes = len(data)
            return machine.exported(data, info.sha256, time.monotonic())
        if isinstance(command, SendMessage):
            task = asyncio.create_task(self.send(command.message))
            self.sends.add(task)
            task.add_done_callback(self.sends.discard)
            return []
        if isinstance(command, FlipOwner):
            return await self.flip(command.epoch)
        if isinstance(command, CheckOwner):
            try:
                owner = await self.m._directory.owner(actor_id)
            except DirectoryUnavailable:
                return []  # asked again at the next tick
            return machine.owner_is("" if owner is None else owner.placement.node)
        if isinstance(command, ReleaseActor):
            node.release(actor_id)
            self.held_ms = (time.monotonic() - self.held_at) * 1000.0
            return []
        if isinstance(command, HandOver):
            await self.hand_over()
            return []
        if isinstance(command, Finished):
            self.finished = command
        return []

    async def send(self, message: Message) -> None:
        reply = await self.m.post(self.target, message)
        if reply is not None:
            self.replies.put_nowait(reply)

    async def flip(self, epoch: int) -> list[Command]:
        placement = Placement(self.target.region, self.target.node_id, epoch)
        try:
            self.owner = await self.m._directory.move_owner(
                self.machine.actor_id, self.owner, placement
            )
        except DirectoryConflict as exc:
            return self.machine.flip_failed(exc.message)
        except DirectoryUnavailable:
            return self.machine.flip_unknown(time.monotonic())
        return self.machine.flip_succeeded()

    async def hand_over(self) -> None:
        actor_id, node = self.machine.actor_id, self.m._node
        self.m._router.moved_away(actor_id, self.owner)  # a stale cache heals on the next read
        public = self.m._topology.region(self.target.region).http_url
        node.release(actor_id, moved_to=(self.target.region, public))
        self.held_ms = (time.monotonic() - self.held_at) * 1000.0
        await node.drop_local(actor_id)
