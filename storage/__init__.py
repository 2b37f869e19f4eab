"""Edgewise actor store on RocksDB: typed keys, per-turn write sets, group commit, migration.

See ``docs/internals.md`` for the contract; ``store.py`` for how commits become durable.
"""

from edgewise.storage.errors import StorageError
from edgewise.storage.records import ActorMeta, AlarmEntry, CommitStats, ExportInfo
from edgewise.storage.store import Store
from edgewise.storage.writeset import WriteSet

__all__ = [
    "ActorMeta",
    "AlarmEntry",
    "CommitStats",
    "ExportInfo",
    "StorageError",
    "Store",
    "WriteSet",
]
