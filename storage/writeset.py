"""The per-turn write set: buffered writes with read-your-writes over the committed store.

A turn reads through ``get``/``list``, which merge the turn's own buffered puts and deletes over
committed data, and writes only into the buffer. Nothing reaches RocksDB until the store commits
the write set; dropping it (a trapped turn) throws the writes away. Every write is validated
here, so a commit never fails on bad input. ``destroy_actor`` drops what was buffered before it
and hides committed data; writes after it land on the empty actor.

A write set of actor id ``""`` is a node-level write set: only ``set_deployment`` is allowed.
A write set belongs to one turn and is not shared between threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from edgewise.storage.errors import KeyInvalid
from edgewise.storage.keys import (
    alarm_at_key,
    check_actor_id,
    check_user_key,
    deployment_key,
    index_key,
)
from edgewise.storage.records import (
    ActorMeta,
    AlarmEntry,
    check_digest,
    check_value,
    encode_alarm,
    encode_meta,
)


class CommittedReader(Protocol):
    def kv_get(self, actor_id: str, key: bytes) -> bytes | None: ...

    def kv_list(
        self, actor_id: str, prefix: bytes, start_after: bytes, limit: int
    ) -> list[tuple[bytes, bytes]]: ...


@dataclass(frozen=True)
class Changes:
    """What a write set asks the store to do, in the order it is applied at commit."""

    actor_id: str
    destroyed: bool
    meta: ActorMeta | None
    kv: tuple[tuple[bytes, bytes | None], ...]
    alarms: tuple[tuple[str, AlarmEntry | None], ...]
    deployments: tuple[tuple[str, str], ...]


class WriteSet:
    def __init__(self, actor_id: str, reader: CommittedReader) -> None:
        if actor_id != "":
            check_actor_id(actor_id)
        self.actor_id = actor_id
        self._reader = reader
        self._kv: dict[bytes, bytes | None] = {}
        self._meta: ActorMeta | None = None
        self._alarms: dict[str, AlarmEntry | None] = {}
        self._deployments: dict[str, str] = {}
        self._destroyed = False
        self._size = 0

    # --- reads --------------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        check_user_key(key)
        if key in self._kv:
            return self._kv[key]
        if self._destroyed:
            return None
        return self._reader.kv_get(self._actor(), key)

    def list(self, prefix: bytes, start_after: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` live entries whose key starts with ``prefix`` and is > start_after."""
        if limit <= 0:
            return []
        mine = {k: v for k, v in self._kv.items() if k.startswith(prefix) and k > start_after}
        merged: dict[bytes, bytes | None] = {}
        if not self._destroyed:
            wanted = limit + len(mine)
            merged.update(self._reader.kv_list(self._actor(), prefix, start_after, wanted))
        merged.update(mine)
        live = sorted((k, v) for k, v in merged.items() if v is not None)
        return live[:limit]

    # --- writes -------------------------------------------------------------------------------

    def put(self, key: bytes, value: bytes) -> None:
        self._actor()
        self._kv[check_user_key(key)] = check_value(value)
        self._size += len(key) + len(value)

    def delete(self, key: bytes) -> None:
        self._actor()
        self._kv[check_user_key(key)] = None
        self._size += len(key)

    def put_meta(self, meta: ActorMeta) -> None:
        if meta.actor_id != self._actor():
            raise KeyInvalid(f"meta of actor {meta.actor_id} in the write set of {self.actor_id}")
        encoded = encode_meta(meta)
        index_key(meta.name, meta.key)
        self._meta = meta
        self._size += len(encoded)

    def set_alarm(self, alarm: AlarmEntry) -> None:
        if alarm.actor_id != self._actor():
            raise KeyInvalid(f"alarm of actor {alarm.actor_id} in the write set of {self.actor_id}")
        alarm_at_key(alarm.at_ms, alarm.actor_id, alarm.name)
        self._size += len(encode_alarm(alarm))
        self._alarms[alarm.name] = alarm

    def cancel_alarm(self, name: str) -> None:
        alarm_at_key(0, self._actor(), name)
        self._alarms[name] = None

    def destroy_actor(self) -> None:
        self._actor()
        self._kv.clear()
        self._alarms.clear()
        self._meta = None
        self._destroyed = True

    def set_deployment(self, module_name: str, digest: str) -> None:
        deployment_key(module_name)
        check_digest(digest)
        self._deployments[module_name] = digest
        self._size += len(module_name) + len(digest)

    # --- inspection ---------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        buffered = self._kv or self._alarms or self._deployments
        return not (buffered or self._meta is not None or self._destroyed)

    @property
    def size_bytes(self) -> int:
        """Approximate bytes this write set will write (keys and values)."""
        return self._size

    def changes(self) -> Changes:
        return Changes(
            actor_id=self.actor_id,
            destroyed=self._destroyed,
            meta=self._meta,
            kv=tuple(self._kv.items()),
            alarms=tuple(self._alarms.items()),
            deployments=tuple(self._deployments.items()),
        )

    def _actor(self) -> str:
        if self.actor_id == "":
            raise KeyInvalid("a node-level write set (actor id '') only sets deployments")
        return self.actor_id
