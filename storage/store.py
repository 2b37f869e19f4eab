"""The actor store: committed reads, write sets, group commit, export and import.

Reads of committed data go straight to RocksDB and are safe from any thread. Writes go through a
``WriteSet`` and ``commit``: the write set joins the current commit window (``GroupCommit``),
the whole window is resolved into one ``WriteBatch`` and written without sync on the event loop
thread (fast), then one ``flush_wal(True)`` runs in a worker thread (it releases the GIL) while
the next window collects. **When ``commit`` returns, the write set is durable**: its WAL records
are fsynced (unless the store was opened with ``sync=False``, for benchmarks). If the write or
the sync fails, every commit of that batch raises a ``StorageError``; one batch is atomic.
``commit_now`` is the synchronous form for startup and the CLI; it does not wait for the window.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from edgewise.storage import keys, migration
from edgewise.storage.engine import Engine
from edgewise.storage.errors import (
    ActorExists,
    ImportInvalid,
    StorageClosed,
    StorageError,
    StorageFailed,
)
from edgewise.storage.groupcommit import CommitState, Flush, GroupCommit, WaitUntil
from edgewise.storage.records import (
    ActorMeta,
    AlarmEntry,
    CommitStats,
    ExportInfo,
    decode_alarm,
    decode_digest,
    decode_meta,
)
from edgewise.storage.resolve import BatchView, resolve
from edgewise.storage.walsync import WalSyncer
from edgewise.storage.writeset import Changes, WriteSet


@dataclass(frozen=True)
class _Ticket:
    changes: Changes
    future: asyncio.Future[None]


def _settle(future: asyncio.Future[None], error: StorageError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(type(error)(error.message))


class Store:
    def __init__(self, engine: Engine, *, sync: bool, commit_window_ms: float) -> None:
        self._engine = engine
        self._wal = WalSyncer(engine.sync_wal)
        self._sync = sync
        self._window: GroupCommit[_Ticket] = GroupCommit(commit_window_ms / 1000.0)
        self._write_lock = threading.Lock()
        self._driver: asyncio.Task[None] | None = None
        self._commits = 0
        self._batches = 0
        self._syncs = 0

    @classmethod
    def open(cls, path: Path, *, sync: bool = True, commit_window_ms: float = 0.0) -> Store:
        if commit_window_ms < 0:
            raise ValueError("commit_window_ms must be >= 0")
        return cls(Engine.open(Path(path)), sync=sync, commit_window_ms=commit_window_ms)

    @property
    def path(self) -> Path:
        return self._engine.path

    @property
    def stats(self) -> CommitStats:
        return CommitStats(commits=self._commits, batches=self._batches, syncs=self._syncs)

    # --- committed reads ----------------------------------------------------------------------

    def kv_get(self, actor_id: str, key: bytes) -> bytes | None:
        return self._engine.get(keys.kv_key(actor_id, key))

    def kv_list(
        self, actor_id: str, prefix: bytes, start_after: bytes, limit: int
    ) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` entries whose key starts with ``prefix`` and is > ``start_after``."""
        base = keys.kv_prefix(actor_id)
        end = keys.prefix_end(base + prefix)
        start = base + max(prefix, start_after)
        found = self._engine.scan(start, end, limit + 1)
        return [(k[len(base) :], v) for k, v in found if k != base + start_after][:limit]

    def get_meta(self, actor_id: str) -> ActorMeta | None:
        value = self._engine.get(keys.meta_key(actor_id))
        return None if value is None else decode_meta(actor_id, value)

    def lookup_key(self, name: str, key: tuple[str, ...]) -> str | None:
        value = self._engine.get(keys.index_key(name, key))
        return None if value is None else value.decode("ascii")

    def list_actors(self, name: str | None, after: str | None, limit: int) -> list[ActorMeta]:
        """Actors ordered by id, after ``after`` (exclusive); of module ``name`` if given."""
        skip = b"" if after is None else after.encode("utf-8") + b"\x00"
        prefix = keys.meta_prefix() if name is None else keys.name_index_prefix(name)
        found = self._engine.scan(prefix + skip, keys.prefix_end(prefix), limit)
        if name is None:
            return [decode_meta(keys.decode_meta_key(k), v) for k, v in found]
        metas = (self.get_meta(keys.decode_name_index_key(k)[1]) for k, _ in found)
        return [meta for meta in metas if meta is not None]

    def due_alarms(self, now_ms: int, limit: int) -> list[AlarmEntry]:
        """Alarms with ``at_ms <= now_ms``, earliest first."""
        prefix = keys.alarm_at_prefix()
        if now_ms < 0:
            return []
        end = prefix + keys.encode_at_ms(min(now_ms + 1, keys.MAX_AT_MS))
        return [
            decode_alarm(actor_id, name, at_ms, value)
            for key, value in self._engine.scan(prefix, end, limit)
            for at_ms, actor_id, name in [keys.decode_alarm_at_key(key)]
        ]

    def next_alarm_ms(self) -> int | None:
        first = self._engine.scan_prefix(keys.alarm_at_prefix(), 1)
        return keys.decode_alarm_at_key(first[0][0])[0] if first else None

    def alarms_of(self, actor_id: str) -> list[AlarmEntry]:
        """The actor's alarms, ordered by name."""
        alarms = []
        for key, at in self._engine.scan_prefix(keys.alarm_of_prefix(actor_id)):
            _, name = keys.decode_alarm_of_key(key)
            at_ms = keys.decode_at_ms(at)
            value = self._engine.get(keys.alarm_at_key(at_ms, actor_id, name))
            if value is not None:
                alarms.append(decode_alarm(actor_id, name, at_ms, value))
        return alarms

    def alarm_is_set(self, alarm: AlarmEntry) -> bool:
        """Whether the actor's alarm ``alarm.name`` is still set for ``alarm.at_ms``."""
        actor_id, name, at_ms = alarm.actor_id, alarm.name, alarm.at_ms
        at = self._engine.get(keys.alarm_of_key(actor_id, name))
        if at is None or keys.decode_at_ms(at) != at_ms:
            return False
        return self._engine.get(keys.alarm_at_key(at_ms, actor_id, name)) is not None

    def deployments(self) -> dict[str, str]:
        found = self._engine.scan_prefix(keys.deployment_prefix())
        return {keys.decode_deployment_key(k): decode_digest(v) for k, v in found}

    # --- writes -------------------------------------------------------------------------------

    def write_set(self, actor_id: str) -> WriteSet:
        """A new write set; actor id ``""`` gives a node-level one (deployments only)."""
        self._engine.check_open()
        return WriteSet(actor_id, self)

    async def commit(self, ws: WriteSet) -> None:
        """Group-commit ``ws``; returns once it is durable. Raises ``StorageError`` on failure."""
        self._engine.check_open()
        if ws.empty and self._window.state is CommitState.IDLE:
            return
        loop = asyncio.get_running_loop()
        ticket = _Ticket(ws.changes(), loop.create_future())
        self._window.submit(ticket, time.monotonic())
        if self._driver is None:
            self._driver = loop.create_task(self._drive())
        await ticket.future

    def commit_now(self, ws: WriteSet) -> None:
        """Commit ``ws`` at once with a synced write, outside the commit window."""
        with self._write_lock:
            view = BatchView(self._engine)
            view.apply(resolve(ws.changes(), view))
            self._engine.write(view.ops, sync=self._sync)
        self._commits += 1
        self._batches += 1
        self._syncs += int(self._sync)

    async def _drive(self) -> None:
        try:
            while True:
                action = self._window.poll(time.monotonic())
                if isinstance(action, Flush):
                    await self._flush(action.items)
                elif isinstance(action, WaitUntil):
                    await asyncio.sleep(max(0.0, action.deadline - time.monotonic()))
                else:
                    return
        finally:
            self._driver = None

    async def _flush(self, tickets: tuple[_Ticket, ...]) -> None:
        accepted: list[_Ticket] = []
        try:
            with self._write_lock:
                view = BatchView(self._engine)
                for ticket in tickets:
                    try:
                        view.apply(resolve(ticket.changes, view))
                        accepted.append(ticket)
                    except StorageError as exc:
                        _settle(ticket.future, exc)
                self._engine.write(view.ops, sync=False)
            if self._sync:
                await self._wal.sync()
                self._syncs += 1
        except Exception as exc:
            error = exc if isinstance(exc, StorageError) else StorageFailed(f"commit: {exc!r}")
            for ticket in accepted:
                _settle(ticket.future, error)
        else:
            self._batches += 1
            self._commits += len(accepted)
            for ticket in accepted:
                _settle(ticket.future, None)
        finally:
            self._window.finish()

    # --- migration ----------------------------------------------------------------------------

    def export_actor(self, actor_id: str, path: Path) -> ExportInfo:
        """Write every key of the actor to an SST file; keep the actor drained meanwhile."""
        return migration.export_actor(self._engine, actor_id, Path(path))

    def import_actor(self, path: Path, *, expected_sha256: str | None = None) -> ExportInfo:
        """Validate an export file and ingest it; refuses an actor that exists here."""
        path = Path(path)
        self._engine.check_open()
        sha256 = migration.file_sha256(path) if path.is_file() else ""
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise ImportInvalid(f"{path} fails its checksum")
        entries = migration.read_export(path)
        meta = migration.check_entries(entries)
        with self._write_lock:
            if self.get_meta(meta.actor_id) is not None:
                raise ActorExists(f"actor {meta.actor_id} already exists here")
            if self.lookup_key(meta.name, meta.key) is not None:
                raise ActorExists(f"actor {meta.name}{list(meta.key)} already exists here")
            self._engine.ingest(path)
        return ExportInfo(meta.actor_id, len(entries), path.stat().st_size, sha256)

    # --- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Fail commits still waiting for their window, sync the WAL and close. Idempotent."""
        if self._engine.closed:
            return
        error = StorageClosed(f"the store at {self.path} was closed before the commit")
        for ticket in self._window.drain():
            try:
                ticket.future.get_loop().call_soon_threadsafe(_settle, ticket.future, error)
            except RuntimeError:
                continue
        self._wal.close()
        self._engine.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
