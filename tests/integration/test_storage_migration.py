"""Export of one actor to an SST file and import into another store (real RocksDB)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewise.storage import ActorMeta, AlarmEntry, StorageError, Store

A = "a" * 32
B = "b" * 32
META = ActorMeta(A, "room", ("eu", "42"), 1000, "d" * 64)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "source") as store:
        ws = store.write_set(A)
        ws.put_meta(META)
        for i in range(50):
            ws.put(b"item/%03d" % i, b"x" * i)
        ws.set_alarm(AlarmEntry(A, "tick", 5000, b"\xa1\x01\x02", attempt=1))
        ws.set_alarm(AlarmEntry(A, "tock", 7000, b""))
        store.commit_now(ws)
        other = store.write_set(B)
        other.put_meta(ActorMeta(B, "room", ("us",), 1, "d" * 64))
        other.put(b"item/000", b"not mine")
        other.set_alarm(AlarmEntry(B, "tick", 6000, b""))
        store.commit_now(other)
        yield store


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "target") as store:
        yield store


def test_round_trip_carries_meta_kv_and_alarms(
    source: Store, target: Store, tmp_path: Path
) -> None:
    info = source.export_actor(A, tmp_path / "a.sst")
    assert info.actor_id == A and info.entries == 3 + 50 + 4
    assert info.bytes == (tmp_path / "a.sst").stat().st_size and len(info.sha256) == 64
    imported = target.import_actor(tmp_path / "a.sst", expected_sha256=info.sha256)
    assert imported == info
    assert target.get_meta(A) == META and target.lookup_key("room", ("eu", "42")) == A
    assert target.kv_list(A, b"", b"", 100) == source.kv_list(A, b"", b"", 100)
    assert target.alarms_of(A) == source.alarms_of(A)
    assert [a.name for a in target.due_alarms(10_000, 10)] == ["tick", "tock"]
    assert target.get_meta(B) is None and target.kv_get(B, b"item/000") is None
    assert [m.actor_id for m in target.list_actors("room", None, 10)] == [A]


def test_imported_actor_lives_on_normally(source: Store, target: Store, tmp_path: Path) -> None:
    info = source.export_actor(A, tmp_path / "a.sst")
    target.import_actor(tmp_path / "a.sst", expected_sha256=info.sha256)
    ws = target.write_set(A)
    ws.put(b"item/000", b"changed")
    ws.set_alarm(AlarmEntry(A, "tick", 1, b""))
    target.commit_now(ws)
    assert target.kv_get(A, b"item/000") == b"changed"
    assert [(a.name, a.at_ms) for a in target.due_alarms(10_000, 10)] == [
        ("tick", 1),
        ("tock", 7000),
    ]


def test_importing_an_existing_actor_is_refused(source: Store, tmp_path: Path) -> None:
    source.export_actor(A, tmp_path / "a.sst")
    with pytest.raises(StorageError) as caught:
        source.import_actor(tmp_path / "a.sst")
    assert caught.value.code == "storage.actor_exists"


def test_exporting_an_unknown_actor_is_refused(target: Store, tmp_path: Path) -> None:
    with pytest.raises(StorageError) as caught:
        target.export_actor(A, tmp_path / "none.sst")
    assert caught.value.code == "storage.actor_not_found"


@pytest.mark.parametrize("damage", ["garbage", "flip", "truncate", "missing"])
def test_a_corrupt_export_is_refused_and_changes_nothing(
    source: Store, target: Store, tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "a.sst"
    source.export_actor(A, path)
    data = bytearray(path.read_bytes())
    if damage == "garbage":
        path.write_bytes(b"not an sst file" * 100)
    elif damage == "flip":
        data[20] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        path.unlink()
    with pytest.raises(StorageError) as caught:
        target.import_actor(path)
    assert caught.value.code == "storage.import_invalid"
    assert target.get_meta(A) is None and target.kv_list(A, b"", b"", 10) == []


def test_a_checksum_mismatch_is_refused(source: Store, target: Store, tmp_path: Path) -> None:
    source.export_actor(A, tmp_path / "a.sst")
    with pytest.raises(StorageError) as caught:
        target.import_actor(tmp_path / "a.sst", expected_sha256="0" * 64)
    assert caught.value.code == "storage.import_invalid"
    assert target.get_meta(A) is None
