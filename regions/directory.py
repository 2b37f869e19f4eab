"""The directory: which actor a (name, key) is, and which region and node own an actor.

Two records, each changed only by compare-and-set on its revision:

- the key record ``(name, key) -> actor_id``, created once (two regions racing to create the same
  key both get the winner's id) and removed when the actor is destroyed;
- the owner record ``actor_id -> Placement(region, node, epoch)``. Every change of owner is a CAS
  against the revision the caller read, with ``epoch + 1``; a node that finds a newer epoch than
  its own stops serving the actor (fencing), so there are never two writers.

``Directory`` is the interface; ``LocalDirectory`` keeps the records in a RocksDB of the node's
own (the embedded default of ``edgewise dev``, one region) and ``NatsDirectory``
(``directory_nats.py``) in a NATS JetStream KV bucket shared by every region. Both pass the same
contract tests (``tests/integration/test_directory_contract.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edgewise.regions.errors import DirectoryConflict, DirectoryUnavailable
from edgewise.storage.engine import Delete, Engine, Put
from edgewise.storage.errors import StorageError


@dataclass(frozen=True)
class Placement:
    region: str
    node: str
    epoch: int


@dataclass(frozen=True)
class Owner:
    """An owner record as read, with the revision to compare against when changing it."""

    placement: Placement
    revision: int


def key_record(name: str, key: tuple[str, ...]) -> str:
    """The record name of an actor key: ``k.<module>.<sha256 of the key parts>``."""
    digest = hashlib.sha256(json.dumps(list(key), separators=(",", ":")).encode()).hexdigest()
    return f"k.{name}.{digest[:48]}"


def owner_record(actor_id: str) -> str:
    return f"o.{actor_id}"


def encode_placement(placement: Placement) -> bytes:
    body = {"region": placement.region, "node": placement.node, "epoch": placement.epoch}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_placement(raw: bytes) -> Placement:
    try:
        body = json.loads(raw)
        placement = Placement(str(body["region"]), str(body["node"]), int(body["epoch"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise DirectoryUnavailable(f"an owner record is corrupt: {exc}") from None
    return placement


class Directory(Protocol):
    async def claim_key(self, name: str, key: tuple[str, ...], actor_id: str) -> str:
        """Record ``actor_id`` for the key unless one is recorded; returns the recorded id."""

    async def lookup_key(self, name: str, key: tuple[str, ...]) -> str | None: ...

    async def release_key(self, name: str, key: tuple[str, ...], actor_id: str) -> None:
        """Forget the key if it still names ``actor_id``."""

    async def create_owner(self, actor_id: str, placement: Placement) -> Owner:
        """The first owner record; ``DirectoryConflict`` if the actor has one."""

    async def owner(self, actor_id: str) -> Owner | None: ...

    async def move_owner(self, actor_id: str, expected: Owner, placement: Placement) -> Owner:
        """CAS: replace the record read as ``expected``; ``DirectoryConflict`` if it changed."""

    async def delete_owner(self, actor_id: str, expected: Owner) -> None: ...

    async def close(self) -> None: ...


class LocalDirectory:
    """The directory in a RocksDB of its own; one process, so a lock makes every CAS atomic.

    Values are ``revision (8 bytes) + payload``; revisions grow per record from 1.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()

    @classmethod
    def open(cls, path: Path) -> LocalDirectory:
        try:
            return cls(Engine.open(Path(path)))
        except StorageError as exc:
            raise DirectoryUnavailable(f"local directory at {path}: {exc.message}") from None

    def _read(self, record: str) -> tuple[int, bytes] | None:
        raw = self._engine.get(record.encode())
        if raw is None:
            return None
        return int.from_bytes(raw[:8], "big"), raw[8:]

    def _write(self, record: str, revision: int, payload: bytes) -> None:
        self._engine.write([Put(record.encode(), revision.to_bytes(8, "big") + payload)], sync=True)

    async def claim_key(self, name: str, key: tuple[str, ...], actor_id: str) -> str:
        record = key_record(name, key)
        async with self._lock:
            found = self._read(record)
            if found is not None:
                return found[1].decode("ascii")
            self._write(record, 1, actor_id.encode("ascii"))
            return actor_id

    async def lookup_key(self, name: str, key: tuple[str, ...]) -> str | None:
        found = self._read(key_record(name, key))
        return None if found is None else found[1].decode("ascii")

    async def release_key(self, name: str, key: tuple[str, ...], actor_id: str) -> None:
        record = key_record(name, key)
        async with self._lock:
            found = self._read(record)
            if found is not None and found[1].decode("ascii") == actor_id:
                self._engine.write([Delete(record.encode())], sync=True)

    async def create_owner(self, actor_id: str, placement: Placement) -> Owner:
        record = owner_record(actor_id)
        async with self._lock:
            if self._read(record) is not None:
                raise DirectoryConflict(f"actor {actor_id} already has an owner")
            self._write(record, 1, encode_placement(placement))
            return Owner(placement, 1)

    async def owner(self, actor_id: str) -> Owner | None:
        found = self._read(owner_record(actor_id))
        return None if found is None else Owner(decode_placement(found[1]), found[0])

    async def move_owner(self, actor_id: str, expected: Owner, placement: Placement) -> Owner:
        record = owner_record(actor_id)
        async with self._lock:
            found = self._read(record)
            if found is None or found[0] != expected.revision:
                raise DirectoryConflict(f"the owner of actor {actor_id} changed meanwhile")
            self._write(record, expected.revision + 1, encode_placement(placement))
            return Owner(placement, expected.revision + 1)

    async def delete_owner(self, actor_id: str, expected: Owner) -> None:
        record = owner_record(actor_id)
        async with self._lock:
            found = self._read(record)
            if found is None or found[0] != expected.revision:
                raise DirectoryConflict(f"the owner of actor {actor_id} changed meanwhile")
            self._engine.write([Delete(record.encode())], sync=True)

    async def close(self) -> None:
        self._engine.close()
