"""The directory in a NATS JetStream KV bucket shared by every region of a super-cluster.

Regions are NATS clusters (three servers with routes each) joined by gateways into one
super-cluster, so one bucket (replicated in the cluster named by ``placement_cluster``) is
reachable from every region. ``kv.create`` fails on an existing key and ``kv.update(last=rev)``
on a stale revision: both are our compare-and-set. Reads go to the stream's leader (no direct
gets from replicas), so every region sees a record once its write was acknowledged. nats-py
exceptions are mapped here to ``DirectoryConflict`` and ``DirectoryUnavailable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
from edgewise.regions.directory import (
    Owner,
    Placement,
    decode_placement,
    encode_placement,
    key_record,
    owner_record,
)
from edgewise.regions.errors import DirectoryConflict, DirectoryUnavailable
from nats.aio.client import Client as NatsClient
from nats.js.api import KeyValueConfig
from nats.js.api import Placement as StreamPlacement
from nats.js.kv import KeyValue

BUCKET = "edgewise-directory"
CLAIM_READ_ATTEMPTS = 50
CLAIM_READ_PAUSE_S = 0.02
WRONG_LAST_SEQUENCE = 10071  # JetStream's error code for a failed compare-and-set
T = TypeVar("T")
log = logging.getLogger("edgewise.regions")


class _Stale(Exception):
    """The record's revision was not the expected one (for a create: the record exists)."""


async def _mapped(what: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except nats.js.errors.KeyWrongLastSequenceError:
        raise _Stale() from None
    except nats.js.errors.KeyNotFoundError:
        raise
    except nats.js.errors.APIError as exc:
        if exc.err_code == WRONG_LAST_SEQUENCE:
            raise _Stale() from None
        raise DirectoryUnavailable(f"directory {what}: {exc}") from None
    except (TimeoutError, nats.errors.Error, OSError) as exc:
        raise DirectoryUnavailable(f"directory {what}: {type(exc).__name__}: {exc}") from None


async def _quiet(error: Exception) -> None:
    log.debug("NATS: %r", error)


class NatsDirectory:
    def __init__(self, connection: NatsClient, kv: KeyValue) -> None:
        self._nc = connection
        self._kv = kv

    @classmethod
    async def connect(
        cls,
        servers: Sequence[str],
        *,
        replicas: int = 3,
        placement_cluster: str | None = None,
        timeout_s: float = 20.0,
    ) -> NatsDirectory:
        """Connect and open (or create) the bucket; waits for JetStream up to ``timeout_s``."""
        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    list(servers),
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.2,
                    error_cb=_quiet,
                ),
                timeout_s,
            )
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            raise DirectoryUnavailable(f"cannot reach NATS at {list(servers)}: {exc!r}") from None
        placement = StreamPlacement(cluster=placement_cluster) if placement_cluster else None
        config = KeyValueConfig(
            bucket=BUCKET, history=1, replicas=replicas, placement=placement, direct=False
        )
        js = nc.jetstream(timeout=5)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            try:
                kv = await js.create_key_value(config)
                return cls(nc, kv)
            except (TimeoutError, nats.errors.Error) as exc:
                if asyncio.get_running_loop().time() > deadline:
                    await nc.close()
                    raise DirectoryUnavailable(f"JetStream not ready: {exc}") from None
                await asyncio.sleep(0.25)

    async def claim_key(self, name: str, key: tuple[str, ...], actor_id: str) -> str:
        record = key_record(name, key)
        try:
            await _mapped("claim", lambda: self._kv.create(record, actor_id.encode("ascii")))
            return actor_id
        except (_Stale, nats.js.errors.KeyNotFoundError):
            pass  # another claim won; a replica may not show its record yet (NotFound)
        for _ in range(CLAIM_READ_ATTEMPTS):
            found = await self.lookup_key(name, key)
            if found is not None:
                return found
            await asyncio.sleep(CLAIM_READ_PAUSE_S)
        raise DirectoryConflict(f"key {name}{list(key)} is being changed; retry")

    async def lookup_key(self, name: str, key: tuple[str, ...]) -> str | None:
        try:
            entry = await _mapped("lookup", lambda: self._kv.get(key_record(name, key)))
        except nats.js.errors.KeyNotFoundError:
            return None
        return None if entry.value is None else entry.value.decode("ascii")

    async def release_key(self, name: str, key: tuple[str, ...], actor_id: str) -> None:
        record = key_record(name, key)
        try:
            entry = await _mapped("lookup", lambda: self._kv.get(record))
        except nats.js.errors.KeyNotFoundError:
            return
        if entry.value is not None and entry.value.decode("ascii") == actor_id:
            try:
                await _mapped("release", lambda: self._kv.delete(record, last=entry.revision))
            except _Stale:
                return

    async def create_owner(self, actor_id: str, placement: Placement) -> Owner:
        record = owner_record(actor_id)
        try:
            revision = await _mapped(
                "create owner", lambda: self._kv.create(record, encode_placement(placement))
            )
        except _Stale:
            raise DirectoryConflict(f"actor {actor_id} already has an owner") from None
        return Owner(placement, revision)

    async def owner(self, actor_id: str) -> Owner | None:
        try:
            entry = await _mapped("owner", lambda: self._kv.get(owner_record(actor_id)))
        except nats.js.errors.KeyNotFoundError:
            return None
        if entry.value is None or entry.revision is None:
            return None
        return Owner(decode_placement(entry.value), entry.revision)

    async def move_owner(self, actor_id: str, expected: Owner, placement: Placement) -> Owner:
        record, value = owner_record(actor_id), encode_placement(placement)
        try:
            revision = await _mapped(
                "move owner", lambda: self._kv.update(record, value, last=expected.revision)
            )
        except (_Stale, nats.js.errors.KeyNotFoundError):
            raise DirectoryConflict(f"the owner of actor {actor_id} changed meanwhile") from None
        return Owner(placement, revision)

    async def delete_owner(self, actor_id: str, expected: Owner) -> None:
        record = owner_record(actor_id)
        try:
            await _mapped("delete owner", lambda: self._kv.delete(record, last=expected.revision))
        except (_Stale, nats.js.errors.KeyNotFoundError):
            raise DirectoryConflict(f"the owner of actor {actor_id} changed meanwhile") from None

    async def close(self) -> None:
        try:
            await self._nc.close()
        except (nats.errors.Error, OSError):
            return
