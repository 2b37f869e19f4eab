"""The rocksdict boundary: opening, reading, writing and syncing one RocksDB.

This is the only module (with the SST files of ``migration.py``) that touches rocksdict, and
every rocksdict exception is mapped here to a ``StorageError``. Writes are applied as one
``WriteBatch`` (atomic: all of it or none of it). ``write(..., sync=False)`` appends to the WAL
without fsync and is quick; ``sync_wal()`` then makes everything written so far durable and
releases the GIL while it waits for the disk, so it belongs in a worker thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import rocksdict
from edgewise.storage.errors import (
    NotADatabase,
    StorageClosed,
    StorageError,
    StorageFailed,
    StorageOpenFailed,
)
from edgewise.storage.keys import prefix_end

SCAN_ALL = 1 << 30


@dataclass(frozen=True)
class Put:
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Delete:
    key: bytes


@dataclass(frozen=True)
class DeleteRange:
    start: bytes
    end: bytes


Op = Put | Delete | DeleteRange


def mapped(what: str, exc: Exception) -> StorageError:
    """The ``StorageError`` that stands for a rocksdict exception raised while doing ``what``."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, rocksdict.DbClosedError):
        return StorageClosed(f"{what}: the store is closed")
    return StorageFailed(f"{what} failed: {exc}")


@contextmanager
def boundary(what: str) -> Iterator[None]:
    """Map any rocksdict exception raised inside the block to a ``StorageError``."""
    try:
        yield
    except Exception as exc:
        raise mapped(what, exc) from exc


def db_options() -> rocksdict.Options:
    """Options for a small node: WAL on, 2 background jobs, bounded logs and memtables."""
    options = rocksdict.Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_max_background_jobs(2)
    options.set_write_buffer_size(16 * 1024 * 1024)
    options.set_max_write_buffer_number(3)
    options.set_max_total_wal_size(64 * 1024 * 1024)
    options.set_keep_log_file_num(3)
    options.set_max_open_files(512)
    options.set_level_compaction_dynamic_level_bytes(True)
    return options


def _check_path(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise NotADatabase(f"{path} is a file, not a RocksDB directory")
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not (path / "CURRENT").is_file():
        raise NotADatabase(f"{path} is a non-empty directory without a RocksDB in it")
    config = path / "rocksdict-config.json"
    try:
        raw_mode = json.loads(config.read_text()).get("raw_mode") if config.exists() else True
    except (OSError, ValueError, AttributeError) as exc:
        raise NotADatabase(f"{config} is unreadable") from exc
    if raw_mode is not True:
        raise NotADatabase(f"{path} is a RocksDB written by another program (not raw mode)")


class Engine:
    """One open RocksDB. Reads are thread-safe; ``close()`` waits for a running WAL sync."""

    def __init__(self, db: rocksdict.Rdict, path: Path) -> None:
        self._db = db
        self.path = path
        self._closed = False
        self._sync_lock = threading.Lock()
        self._unsynced = rocksdict.WriteOptions()
        self._synced = rocksdict.WriteOptions()
        self._synced.sync = True

    @classmethod
    def open(cls, path: Path) -> Engine:
        _check_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = rocksdict.Rdict(str(path), db_options())
        except Exception as exc:
            if "LOCK" in str(exc):
                raise StorageOpenFailed(
                    f"the store at {path} is in use by another process (another node?)"
                ) from exc
            raise StorageOpenFailed(f"cannot open the store at {path}: {exc}") from exc
        return cls(db, path)

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise StorageClosed(f"the store at {self.path} is closed")

    def get(self, key: bytes) -> bytes | None:
        self.check_open()
        try:  # the hot path of every KV read: no context manager
            value = self._db.get(key)
        except Exception as exc:
            raise mapped("read", exc) from exc
        return None if value is None else bytes(value)

    def scan(self, start: bytes, end: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` entries with ``start <= key < end``, in key order."""
        self.check_open()
        if limit <= 0:
            return []
        found: list[tuple[bytes, bytes]] = []
        with boundary("scan"):
            options = rocksdict.ReadOptions()
            options.set_iterate_upper_bound(end)
            cursor = self._db.iter(options)
            cursor.seek(start)
            while cursor.valid() and len(found) < limit:
                found.append((bytes(cursor.key()), bytes(cursor.value())))
                cursor.next()
            cursor.status()
        return found

    def scan_prefix(self, prefix: bytes, limit: int = SCAN_ALL) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` entries whose key starts with ``prefix``, in key order."""
        return self.scan(prefix, prefix_end(prefix), limit)

    def write(self, ops: Sequence[Op], *, sync: bool) -> None:
        """Apply ``ops`` in order as one atomic batch."""
        self.check_open()
        with boundary("write"):
            batch = rocksdict.WriteBatch(raw_mode=True)
            for op in ops:
                if isinstance(op, Put):
                    batch.put(op.key, op.value)
                elif isinstance(op, Delete):
                    batch.delete(op.key)
                else:
                    batch.delete_range(op.start, op.end)
            self._db.write(batch, self._synced if sync else self._unsynced)

    def sync_wal(self) -> None:
        """fsync the WAL: everything written before this call becomes durable."""
        with self._sync_lock:
            self.check_open()
            with boundary("WAL sync"):
                self._db.flush_wal(True)

    def ingest(self, sst: Path) -> None:
        self.check_open()
        with boundary("ingest"):
            self._db.ingest_external_file([str(sst)], rocksdict.IngestExternalFileOptions())

    def close(self) -> None:
        """Sync the WAL and close. Idempotent."""
        with self._sync_lock:
            if self._closed:
                return
            self._closed = True
            with boundary("close"):
                try:
                    self._db.flush_wal(True)
                finally:
                    self._db.close()
