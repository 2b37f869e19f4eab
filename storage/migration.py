"""Export and import of one actor as an SST file, for migration between nodes.

Export gathers every key of the actor (meta, both indexes, KV, both alarm indexes), sorts them
and writes them with ``SstFileWriter``; the caller keeps the actor drained meanwhile. Import
first checks the file on its own: its sha256 (when the sender's is given), then a scratch
RocksDB ingests it and reads it back with block checksums verified, and every key must belong to
one actor whose records are complete and consistent. Only then is it ingested into the store.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import rocksdict
from edgewise.storage import keys
from edgewise.storage.engine import Engine, boundary, db_options
from edgewise.storage.errors import ActorMissing, ImportInvalid, StorageError
from edgewise.storage.keys import KeyKind
from edgewise.storage.records import ActorMeta, ExportInfo, decode_alarm, decode_meta


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def actor_entries(engine: Engine, actor_id: str) -> list[tuple[bytes, bytes]]:
    """Every key of one actor with its value, sorted; ``ActorMissing`` if it has no meta."""
    meta_value = engine.get(keys.meta_key(actor_id))
    if meta_value is None:
        raise ActorMissing(f"actor {actor_id} does not exist here")
    meta = decode_meta(actor_id, meta_value)
    entries = [
        (keys.meta_key(actor_id), meta_value),
        (keys.index_key(meta.name, meta.key), actor_id.encode("ascii")),
        (keys.name_index_key(meta.name, actor_id), b""),
    ]
    entries += engine.scan_prefix(keys.kv_prefix(actor_id))
    for key, at in engine.scan_prefix(keys.alarm_of_prefix(actor_id)):
        _, name = keys.decode_alarm_of_key(key)
        at_key = keys.alarm_at_key(keys.decode_at_ms(at), actor_id, name)
        value = engine.get(at_key)
        if value is not None:
            entries += [(key, at), (at_key, value)]
    return sorted(entries)


def export_actor(engine: Engine, actor_id: str, path: Path) -> ExportInfo:
    entries = actor_entries(engine, actor_id)
    with boundary(f"export of actor {actor_id}"):
        writer = rocksdict.SstFileWriter(db_options())
        writer.open(str(path))
        for key, value in entries:
            writer[key] = value
        writer.finish()
    return ExportInfo(actor_id, len(entries), path.stat().st_size, file_sha256(path))


def read_export(path: Path) -> list[tuple[bytes, bytes]]:
    """The entries of an export file, read through a scratch RocksDB with checksums verified."""
    if not path.is_file():
        raise ImportInvalid(f"no export file at {path}")
    with tempfile.TemporaryDirectory(prefix="edgewise-import-") as scratch:
        try:
            db = rocksdict.Rdict(str(Path(scratch) / "db"), db_options())
            try:
                db.ingest_external_file([str(path)], rocksdict.IngestExternalFileOptions())
                options = rocksdict.ReadOptions()
                options.set_verify_checksums(True)
                cursor = db.iter(options)
                cursor.seek_to_first()
                entries = []
                while cursor.valid():
                    entries.append((bytes(cursor.key()), bytes(cursor.value())))
                    cursor.next()
                cursor.status()
                return entries
            finally:
                db.close()
        except Exception as exc:
            raise ImportInvalid(f"{path} is not a readable export file: {exc}") from exc


def check_entries(entries: list[tuple[bytes, bytes]]) -> ActorMeta:
    """Check that ``entries`` are one complete actor; return its meta or raise ImportInvalid."""
    try:
        return _check_entries(entries)
    except ImportInvalid:
        raise
    except StorageError as exc:
        raise ImportInvalid(f"export file holds a malformed entry: {exc.message}") from exc


def _check_entries(entries: list[tuple[bytes, bytes]]) -> ActorMeta:
    owners: set[str] = set()
    metas: list[ActorMeta] = []
    indexes: list[tuple[str, tuple[str, ...], bytes]] = []
    names: list[str] = []
    at_entries: set[tuple[str, int]] = set()
    of_entries: set[tuple[str, int]] = set()
    for key, value in entries:
        kind = keys.kind_of(key)
        if kind is KeyKind.KV:
            owners.add(keys.decode_kv_key(key)[0])
        elif kind is KeyKind.META:
            actor_id = keys.decode_meta_key(key)
            owners.add(actor_id)
            metas.append(decode_meta(actor_id, value))
        elif kind is KeyKind.KEY_INDEX:
            indexes.append((*keys.decode_index_key(key), value))
        elif kind is KeyKind.NAME_INDEX:
            name, actor_id = keys.decode_name_index_key(key)
            owners.add(actor_id)
            names.append(name)
        elif kind is KeyKind.ALARM_AT:
            at_ms, actor_id, name = keys.decode_alarm_at_key(key)
            owners.add(actor_id)
            decode_alarm(actor_id, name, at_ms, value)
            at_entries.add((name, at_ms))
        elif kind is KeyKind.ALARM_OF:
            actor_id, name = keys.decode_alarm_of_key(key)
            owners.add(actor_id)
            of_entries.add((name, keys.decode_at_ms(value)))
        else:
            raise ImportInvalid(f"export file holds a {kind.name.lower()} key")
    if len(owners) != 1 or len(metas) != 1:
        raise ImportInvalid(f"export file must hold one actor, found {sorted(owners)}")
    meta = metas[0]
    expected_index = [(meta.name, meta.key, meta.actor_id.encode("ascii"))]
    if indexes != expected_index or names != [meta.name]:
        raise ImportInvalid(f"export file of actor {meta.actor_id} has inconsistent indexes")
    if at_entries != of_entries:
        raise ImportInvalid(f"export file of actor {meta.actor_id} has inconsistent alarms")
    return meta
