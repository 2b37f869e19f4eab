"""The node: the one transport-neutral invocation path into actors.

Every transport calls these methods and nothing else. The node owns the store, the sandbox,
the module registry, the alarm scheduler, the thread pool that runs turns, the connections
table (the sockets outlive an actor's sleep) and the activations (actor id -> activation,
created on demand and removed when an actor sleeps or is destroyed). Creation of an actor is
serialized per (name, key), so racing ``get_or_create`` calls end with one actor.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from edgewise.host.actors.activation import Activation, ActivationServices, now_ms
from edgewise.host.actors.alarms import AlarmScheduler
from edgewise.host.actors.connections import Connections, EventSink
from edgewise.host.actors.keys import ACTOR_ID, MAX_LIST_LIMIT, validate_key
from edgewise.host.actors.mailbox import (
    Command,
    DestroyActor,
    RunAction,
    RunAlarm,
    RunConnect,
    RunCreate,
    RunDisconnect,
)
from edgewise.host.actors.placement import TurnPlacement
from edgewise.host.actors.storage_gate import commit, storage_errors
from edgewise.host.config import Config
from edgewise.host.errors import (
    ActorAlreadyExists,
    ActorMoved,
    ActorNotFound,
    ConnectionNotFound,
    EdgewiseError,
    NodeStopping,
    RequestInvalid,
)
from edgewise.host.manifest import Manifest
from edgewise.host.modules import ModuleRegistry, validate_module_name
from edgewise.host.sandbox import Sandbox
from edgewise.storage import ActorMeta, AlarmEntry, ExportInfo, Store

log = logging.getLogger("edgewise.actors")

DRAIN_TIMEOUT_S = 5.0
TURN_THREADS = 2


@dataclass(frozen=True)
class ActorInfo:
    actor_id: str
    name: str
    key: tuple[str, ...]
    created_ms: int
    state: str


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    def hold(self, key: object) -> _HeldLock:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        return _HeldLock(self, key, lock)

    def _release(self, key: object) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)


class _HeldLock:
    def __init__(self, owner: KeyedLocks, key: object, lock: asyncio.Lock) -> None:
        self._owner, self._key, self._lock = owner, key, lock

    async def __aenter__(self) -> None:
        try:
            await self._lock.acquire()
        except BaseException:
            self._owner._release(self._key)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()
        self._owner._release(self._key)


class Node:
    def __init__(
        self, config: Config, store: Store, sandbox: Sandbox, executor: ThreadPoolExecutor
    ) -> None:
        self.config = config
        self.node_id = config.node.node_id
        self.region = config.node.region
        self._store = store
        self._sandbox = sandbox
        self._executor = executor
        self._modules = ModuleRegistry(sandbox, store, config.data_path / "modules")
        self._connections = Connections()
        self._activations: dict[str, Activation] = {}
        self._creating = KeyedLocks()
        self._alarms = AlarmScheduler(store, config.actors, self._fire_alarm)
        self._services = ActivationServices(
            store=store,
            executor=executor,
            connections=self._connections,
            idle_timeout_s=config.actors.idle_timeout_s,
            mailbox_capacity=config.actors.mailbox_capacity,
            placement=TurnPlacement(config.actors.inline_turn_budget_ms / 1000.0),
            alarms_changed=self._alarms.alarms_changed,
            gone=self._activation_gone,
        )
        self._holds: dict[str, asyncio.Event] = {}  # actors being handed over: turns wait
        self._moved: dict[str, tuple[str, str]] = {}  # actors handed over: (region, url)
        self._closing = False
        self._closed = asyncio.Event()

    @classmethod
    async def open(cls, config: Config) -> Node:
        data = config.data_path
        with ExitStack() as undo:
            data.mkdir(parents=True, exist_ok=True)
            with storage_errors():
                store = Store.open(
                    data / "db",
                    sync=config.storage.sync,
                    commit_window_ms=config.storage.commit_window_ms,
                )
            undo.callback(store.close)
            sandbox = Sandbox(config.limits, data / "cache")
            undo.callback(sandbox.close)
            executor = ThreadPoolExecutor(TURN_THREADS, thread_name_prefix="edgewise-turn")
            undo.callback(executor.shutdown)
            node = cls(config, store, sandbox, executor)
            node._modules.load_all()
            node._alarms.start()
            undo.pop_all()
        log.info("node %s open on %s", node.node_id, data)
        return node

    async def close(self) -> None:
        """Stop accepting, drain the mailboxes (bounded), close sockets, close everything."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            await self._alarms.close()
            activations = list(self._activations.values())
            await asyncio.gather(*(a.stop(DRAIN_TIMEOUT_S) for a in activations))
            self._connections.close_all("node.stopping", "node is stopping")
            await asyncio.to_thread(self._executor.shutdown, True)
            for activation in activations:
                activation.release()
            self._activations.clear()
            self._sandbox.close()
            self._store.close()
        finally:
            self._closed.set()
        log.info("node %s closed", self.node_id)

    async def __aenter__(self) -> Node:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- modules ------------------------------------------------------------------------

    async def deploy(
        self,
        wasm: bytes,
        name: str,
        *,
        language: str = "unknown",
        actions: tuple[str, ...] | None = None,
    ) -> Manifest:
        """Deploy ``wasm`` under ``name``; ``language`` and ``actions`` are what its build knew."""
        self._check_open()
        return await self._modules.deploy(wasm, name, self._executor, language, actions)

    def manifests(self) -> list[Manifest]:
        return self._modules.manifests()

    # --- actors -------------------------------------------------------------------------

    async def get_or_create(
        self,
        name: str,
        key: tuple[str, ...],
        input: Any = None,
        *,
        create: bool = True,
        must_create: bool = False,
        actor_id: str | None = None,
    ) -> tuple[ActorInfo, bool]:
        """The actor of ``(name, key)`` here, made if missing (with ``actor_id`` when given)."""
        self._check_open()
        validate_module_name(name)
        module = self._modules.module(name)
        parts = validate_key(key, self.config.limits)
        async with self._creating.hold((name, parts)):
            with storage_errors():
                existing = self._store.lookup_key(name, parts)
            if existing is not None:
                if must_create:
                    raise ActorAlreadyExists(f"actor {name} {list(parts)} already exists")
                return self.get(existing), False
            if not create:
                raise ActorNotFound(f"actor {name} {list(parts)} does not exist")
            self._check_open()
            meta = ActorMeta(actor_id or uuid.uuid4().hex, name, parts, now_ms(), module.digest)
            activation = Activation(meta, module, self._services)
            self._activations[meta.actor_id] = activation
            await activation.post(RunCreate(input))
            return self._info(meta), True

    def get(self, actor_id: str) -> ActorInfo:
        activation = self._activations.get(actor_id)  # an active actor's meta is in memory
        return self._info(activation.meta if activation is not None else self._meta(actor_id))

    def list(self, name: str | None, after: str | None, limit: int) -> list[ActorInfo]:
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_LIST_LIMIT
        ):
            raise RequestInvalid(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
        with storage_errors():
            metas = self._store.list_actors(name, after, limit)
        return [self._info(meta) for meta in metas]

    async def destroy(self, actor_id: str) -> None:
        await self._post(actor_id, DestroyActor())

    async def call(
        self, actor_id: str, action: str, args: tuple[Any, ...], conn: int | None = None
    ) -> Any:
        if not isinstance(action, str) or not action:
            raise RequestInvalid("action must be a non-empty string")
        if conn is not None and self._connections.get(conn).actor_id != actor_id:
            raise ConnectionNotFound(f"connection {conn} is not connected to actor {actor_id}")
        return await self._post(actor_id, RunAction(action, tuple(args), conn))

    async def connect(self, actor_id: str, params: Any, sink: EventSink) -> int:
        self._check_open()
        self._meta(actor_id)
        conn = self._connections.open(actor_id, sink)
        try:
            await self._post(actor_id, RunConnect(conn.conn_id, params))
        except BaseException:
            self._connections.remove(conn.conn_id)
            raise
        return conn.conn_id

    def subscribe(self, conn_id: int, event: str) -> None:
        self._connections.get(conn_id).subscriptions.add(event)

    def unsubscribe(self, conn_id: int, event: str) -> None:
        self._connections.get(conn_id).subscriptions.discard(event)

    async def disconnect(self, conn_id: int) -> None:
        """Forget the connection and run the actor's disconnect turn (errors are logged)."""
        conn = self._connections.remove(conn_id)
        if conn is None or self._closing:
            return
        try:
            await self._post(conn.actor_id, RunDisconnect(conn_id))
        except ActorNotFound:
            return
        except EdgewiseError as error:
            log.warning("disconnect turn of actor %s failed: %s", conn.actor_id, error.message)

    # --- handover to another node (regions: migration and fencing) ----------------------

    def has_actor(self, actor_id: str) -> bool:
        """Whether the actor's data is on this node."""
        with storage_errors():
            return ACTOR_ID.fullmatch(actor_id) is not None and (
                self._store.get_meta(actor_id) is not None
            )

    def local_actor_id(self, name: str, key: tuple[str, ...]) -> str | None:
        """The id of the actor of ``(name, key)`` if its data is on this node."""
        parts = validate_key(key, self.config.limits)
        with storage_errors():
            return self._store.lookup_key(name, parts)

    def moved_to(self, actor_id: str) -> tuple[str, str] | None:
        """``(region, url)`` if the actor left this node while it ran."""
        return self._moved.get(actor_id)

    async def hold(self, actor_id: str) -> None:
        """New turns of the actor wait; its activation finishes its turns and leaves memory."""
        self._holds.setdefault(actor_id, asyncio.Event())
        activation = self._activations.get(actor_id)
        if activation is not None:
            await activation.stop(DRAIN_TIMEOUT_S)
            activation.release()

    def release(self, actor_id: str, moved_to: tuple[str, str] | None = None) -> None:
        """Let the waiting turns go: here, or, with ``moved_to = (region, url)``, to fail with
        ``actor.moved`` (the router forwards them), and the actor's sockets are told where."""
        gate = self._holds.pop(actor_id, None)
        if moved_to is not None:
            self._moved[actor_id] = moved_to
            # After the waiting turns (woken first, FIFO) have answered actor.moved on their
            # sockets, tell the sockets where the actor went and close them.
            asyncio.get_running_loop().call_soon(self._connections.move_actor, actor_id, *moved_to)
        if gate is not None:
            gate.set()

    async def drop_local(self, actor_id: str) -> None:
        """Delete the actor's data here: it lives on another node now."""
        ws = self._store.write_set(actor_id)
        ws.destroy_actor()
        await commit(self._store, ws)
        self._services.placement.forget(actor_id)

    async def export_actor(self, actor_id: str, path: Path) -> ExportInfo:
        """Write the actor's keys to an SST file (hold it first); in a worker thread."""
        with storage_errors():
            return await asyncio.to_thread(self._store.export_actor, actor_id, path)

    async def import_actor(self, path: Path, sha256: str) -> ExportInfo:
        """Ingest an export made by another node, checked against ``sha256``."""
        with storage_errors():
            info = await asyncio.to_thread(self._store.import_actor, path, expected_sha256=sha256)
        self._moved.pop(info.actor_id, None)  # it may be coming back
        return info

    # --- internals ----------------------------------------------------------------------

    async def _post(self, actor_id: str, command: Command) -> Any:
        self._check_open()
        gate = self._holds.get(actor_id)
        if gate is not None:
            await gate.wait()
        moved = self._moved.get(actor_id)
        if moved is not None:
            region, url = moved
            raise ActorMoved(f"actor {actor_id} moved to region {region}", region=region, url=url)
        return await self._activation(actor_id).post(command)

    def _activation(self, actor_id: str) -> Activation:
        activation = self._activations.get(actor_id)
        if activation is None:
            meta = self._meta(actor_id)
            activation = Activation(meta, self._modules.module(meta.name), self._services)
            self._activations[actor_id] = activation
        return activation

    def _activation_gone(self, actor_id: str) -> None:
        self._activations.pop(actor_id, None)

    async def _fire_alarm(self, entry: AlarmEntry) -> None:
        await self._post(entry.actor_id, RunAlarm(entry))

    def _meta(self, actor_id: str) -> ActorMeta:
        if not isinstance(actor_id, str) or not ACTOR_ID.fullmatch(actor_id):
            raise ActorNotFound(f"actor {actor_id!r} does not exist")
        with storage_errors():
            meta = self._store.get_meta(actor_id)
        if meta is None:
            raise ActorNotFound(f"actor {actor_id} does not exist")
        return meta

    def _info(self, meta: ActorMeta) -> ActorInfo:
        activation = self._activations.get(meta.actor_id)
        state = activation.lifecycle.state.value if activation is not None else "sleeping"
        return ActorInfo(meta.actor_id, meta.name, meta.key, meta.created_ms, state)

    def _check_open(self) -> None:
        if self._closing:
            raise NodeStopping("node is stopping")
