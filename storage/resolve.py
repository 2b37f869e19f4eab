"""Turning write sets into RocksDB operations, as seen from inside one commit batch.

A batch holds the write sets of many turns. Some changes need to read before they write
(replacing an alarm deletes its old time entry; destroying an actor deletes its index entries and
alarms), and they must see the write sets earlier in the same batch, not only committed data.
``BatchView`` is that view: committed data with the batch's earlier operations laid over it.
``resolve`` reads through it and returns the operations of one write set; it raises
``ActorExists`` (and writes nothing) when a new (name, key) index entry belongs to another actor.
"""

from __future__ import annotations

from edgewise.storage import keys
from edgewise.storage.engine import Delete, DeleteRange, Engine, Op, Put
from edgewise.storage.errors import ActorExists
from edgewise.storage.records import (
    ActorMeta,
    AlarmEntry,
    decode_meta,
    encode_alarm,
    encode_meta,
)
from edgewise.storage.writeset import Changes


class BatchView:
    """Committed data plus the operations already placed in the current batch."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._written: dict[bytes, bytes | None] = {}
        self._erased: list[DeleteRange] = []
        self.ops: list[Op] = []

    def get(self, key: bytes) -> bytes | None:
        if key in self._written:
            return self._written[key]
        if any(r.start <= key < r.end for r in self._erased):
            return None
        return self._engine.get(key)

    def scan_prefix(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        end = keys.prefix_end(prefix)
        found: dict[bytes, bytes | None] = dict(self._engine.scan_prefix(prefix))
        for erased in self._erased:
            found = {k: v for k, v in found.items() if not erased.start <= k < erased.end}
        found.update({k: v for k, v in self._written.items() if prefix <= k < end})
        return sorted((k, v) for k, v in found.items() if v is not None)

    def apply(self, ops: list[Op]) -> None:
        for op in ops:
            if isinstance(op, Put):
                self._written[op.key] = op.value
            elif isinstance(op, Delete):
                self._written[op.key] = None
            else:
                self._erased.append(op)
                self._written = {
                    k: v for k, v in self._written.items() if not op.start <= k < op.end
                }
        self.ops.extend(ops)

    def meta(self, actor_id: str) -> ActorMeta | None:
        value = self.get(keys.meta_key(actor_id))
        return None if value is None else decode_meta(actor_id, value)


def resolve(changes: Changes, view: BatchView) -> list[Op]:
    """The operations of one write set, in order; reads see earlier write sets of the batch."""
    actor_id = changes.actor_id
    ops: list[Op] = []
    if changes.destroyed:
        ops += _destroy(actor_id, view)
    if changes.meta is not None:
        current = None if changes.destroyed else view.meta(actor_id)
        ops += _put_meta(changes.meta, current, view)
    for key, value in changes.kv:
        full = keys.kv_key(actor_id, key)
        ops.append(Delete(full) if value is None else Put(full, value))
    for name, alarm in changes.alarms:
        old_at = None if changes.destroyed else view.get(keys.alarm_of_key(actor_id, name))
        ops += _set_alarm(actor_id, name, alarm, old_at)
    for module_name, digest in changes.deployments:
        ops.append(Put(keys.deployment_key(module_name), digest.encode("ascii")))
    return ops


def _index_ops(meta: ActorMeta, view: BatchView) -> list[Op]:
    """Deletes of the (name, key) and name index entries of ``meta``, if they are its own."""
    index = keys.index_key(meta.name, meta.key)
    ops: list[Op] = [Delete(keys.name_index_key(meta.name, meta.actor_id))]
    if view.get(index) == meta.actor_id.encode("ascii"):
        ops.append(Delete(index))
    return ops


def _destroy(actor_id: str, view: BatchView) -> list[Op]:
    ops: list[Op] = []
    meta = view.meta(actor_id)
    if meta is not None:
        ops += _index_ops(meta, view)
        ops.append(Delete(keys.meta_key(actor_id)))
    kv = keys.kv_prefix(actor_id)
    ops.append(DeleteRange(kv, keys.prefix_end(kv)))
    alarms_of = keys.alarm_of_prefix(actor_id)
    for key, value in view.scan_prefix(alarms_of):
        _, name = keys.decode_alarm_of_key(key)
        ops.append(Delete(keys.alarm_at_key(keys.decode_at_ms(value), actor_id, name)))
    ops.append(DeleteRange(alarms_of, keys.prefix_end(alarms_of)))
    return ops


def _put_meta(meta: ActorMeta, current: ActorMeta | None, view: BatchView) -> list[Op]:
    index = keys.index_key(meta.name, meta.key)
    owner = view.get(index)
    if owner is not None and owner != meta.actor_id.encode("ascii"):
        raise ActorExists(
            f"actor {meta.name}{list(meta.key)} is already {owner.decode('ascii', 'replace')}"
        )
    ops: list[Op] = []
    if current is not None and (current.name, current.key) != (meta.name, meta.key):
        ops += _index_ops(current, view)
    ops.append(Put(keys.meta_key(meta.actor_id), encode_meta(meta)))
    ops.append(Put(index, meta.actor_id.encode("ascii")))
    ops.append(Put(keys.name_index_key(meta.name, meta.actor_id), b""))
    return ops


def _set_alarm(
    actor_id: str, name: str, alarm: AlarmEntry | None, old_at: bytes | None
) -> list[Op]:
    ops: list[Op] = []
    if old_at is not None:
        ops.append(Delete(keys.alarm_at_key(keys.decode_at_ms(old_at), actor_id, name)))
    of_key = keys.alarm_of_key(actor_id, name)
    if alarm is None:
        ops.append(Delete(of_key))
        return ops
    ops.append(Put(keys.alarm_at_key(alarm.at_ms, actor_id, name), encode_alarm(alarm)))
    ops.append(Put(of_key, keys.encode_at_ms(alarm.at_ms)))
    return ops
