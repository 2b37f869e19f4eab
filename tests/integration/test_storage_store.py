"""Contract of the actor store on a real RocksDB in tmp_path: reads, write sets, indexes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewise.storage import ActorMeta, AlarmEntry, StorageError, Store

A = "a" * 32
B = "b" * 32
C = "c" * 32
DIGEST = "e" * 64


def meta(actor_id: str, name: str = "counter", key: tuple[str, ...] = ("k",)) -> ActorMeta:
    return ActorMeta(actor_id, name, key, created_ms=1000, module_digest=DIGEST)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "db") as opened:
        yield opened


def put_all(store: Store, actor_id: str, items: dict[bytes, bytes]) -> None:
    ws = store.write_set(actor_id)
    for key, value in items.items():
        ws.put(key, value)
    store.commit_now(ws)


def test_write_set_reads_its_own_writes_over_committed_data(store: Store) -> None:
    put_all(store, A, {b"a": b"1", b"b": b"2", b"c": b"3"})
    ws = store.write_set(A)
    ws.put(b"b", b"22")
    ws.delete(b"c")
    ws.put(b"d", b"4")
    assert ws.get(b"b") == b"22" and ws.get(b"c") is None and ws.get(b"a") == b"1"
    assert ws.list(b"", b"", 10) == [(b"a", b"1"), (b"b", b"22"), (b"d", b"4")]
    assert store.kv_get(A, b"b") == b"2"  # nothing committed yet
    store.commit_now(ws)
    assert store.kv_list(A, b"", b"", 10) == [(b"a", b"1"), (b"b", b"22"), (b"d", b"4")]


def test_list_is_ordered_prefixed_and_paged_exclusively(store: Store) -> None:
    put_all(store, A, {f"user/{i:02}".encode(): bytes([i]) for i in range(20)})
    put_all(store, A, {b"other": b"x", b"user": b"no-slash"})
    put_all(store, B, {b"user/00": b"foreign"})
    ws = store.write_set(A)
    ws.delete(b"user/01")
    ws.put(b"user/015", b"new")
    pages, after = [], b""
    for _ in range(10):
        page = ws.list(b"user/", after, 4)
        if not page:
            break
        pages.append([k for k, _ in page])
        after = page[-1][0]
    flat = [k for page in pages for k in page]
    expected = sorted({f"user/{i:02}".encode() for i in range(20)} - {b"user/01"} | {b"user/015"})
    assert flat == expected
    assert all(len(page) == 4 for page in pages[:-1])
    assert store.kv_list(A, b"user/", b"user/18", 10) == [(b"user/19", bytes([19]))]
    assert store.kv_list(A, b"user/", b"", 0) == []


def test_list_pages_past_many_buffered_deletes(store: Store) -> None:
    put_all(store, A, {bytes([65 + i]): b"v" for i in range(10)})
    ws = store.write_set(A)
    for i in range(8):
        ws.delete(bytes([65 + i]))
    assert ws.list(b"", b"", 1) == [(b"I", b"v")]


def test_meta_index_and_listing(store: Store) -> None:
    for actor_id, name in [(C, "room"), (A, "counter"), (B, "room")]:
        ws = store.write_set(actor_id)
        ws.put_meta(meta(actor_id, name, (actor_id[:2],)))
        store.commit_now(ws)
    assert store.get_meta(A) == meta(A, "counter", ("aa",))
    assert store.lookup_key("room", ("bb",)) == B
    assert store.lookup_key("room", ("aa",)) is None
    assert [m.actor_id for m in store.list_actors(None, None, 10)] == [A, B, C]
    assert [m.actor_id for m in store.list_actors(None, A, 1)] == [B]
    assert [m.actor_id for m in store.list_actors("room", None, 10)] == [B, C]
    assert [m.actor_id for m in store.list_actors("room", B, 10)] == [C]
    assert store.list_actors("nothing", None, 10) == []


def test_a_taken_name_and_key_is_refused(store: Store) -> None:
    ws = store.write_set(A)
    ws.put_meta(meta(A))
    store.commit_now(ws)
    other = store.write_set(B)
    other.put_meta(meta(B))
    with pytest.raises(StorageError) as caught:
        store.commit_now(other)
    assert caught.value.code == "storage.actor_exists"
    assert store.get_meta(B) is None and store.lookup_key("counter", ("k",)) == A


def test_changing_an_actors_key_moves_its_index_entry(store: Store) -> None:
    ws = store.write_set(A)
    ws.put_meta(meta(A, "counter", ("old",)))
    store.commit_now(ws)
    ws = store.write_set(A)
    ws.put_meta(meta(A, "room", ("new",)))
    store.commit_now(ws)
    assert store.lookup_key("counter", ("old",)) is None
    assert store.lookup_key("room", ("new",)) == A
    assert store.list_actors("counter", None, 10) == []


def test_alarms_set_replace_cancel_and_due_in_time_order(store: Store) -> None:
    ws = store.write_set(A)
    ws.set_alarm(AlarmEntry(A, "late", 300, b"\x01"))
    ws.set_alarm(AlarmEntry(A, "tick", 200, b"\x02"))
    store.commit_now(ws)
    ws = store.write_set(B)
    ws.set_alarm(AlarmEntry(B, "tick", 100, b"\x03", attempt=2))
    store.commit_now(ws)
    assert store.next_alarm_ms() == 100
    assert [(a.actor_id, a.name) for a in store.due_alarms(250, 10)] == [(B, "tick"), (A, "tick")]
    assert store.due_alarms(250, 1) == [AlarmEntry(B, "tick", 100, b"\x03", attempt=2)]
    ws = store.write_set(A)
    ws.set_alarm(AlarmEntry(A, "tick", 50, b"\x04"))  # replaces the entry at 200
    ws.cancel_alarm("late")
    store.commit_now(ws)
    assert store.due_alarms(10_000, 10) == [
        AlarmEntry(A, "tick", 50, b"\x04"),
        AlarmEntry(B, "tick", 100, b"\x03", attempt=2),
    ]
    assert store.alarms_of(A) == [AlarmEntry(A, "tick", 50, b"\x04")]
    assert store.alarm_is_set(AlarmEntry(A, "tick", 50, b""))
    assert not store.alarm_is_set(AlarmEntry(A, "tick", 200, b"\x02"))  # replaced
    assert not store.alarm_is_set(AlarmEntry(A, "late", 300, b"\x01"))  # cancelled
    assert store.due_alarms(49, 10) == []
    assert store.due_alarms(-5, 10) == []


def test_destroy_removes_meta_index_kv_and_alarms(store: Store) -> None:
    for actor_id in (A, B):
        ws = store.write_set(actor_id)
        ws.put_meta(meta(actor_id, key=(actor_id,)))
        ws.put(b"k", b"v")
        ws.set_alarm(AlarmEntry(actor_id, "t", 10, b""))
        store.commit_now(ws)
    ws = store.write_set(A)
    ws.put(b"lost", b"x")
    ws.destroy_actor()
    assert ws.get(b"k") is None and ws.list(b"", b"", 10) == []
    store.commit_now(ws)
    assert store.get_meta(A) is None and store.lookup_key("counter", (A,)) is None
    assert store.kv_list(A, b"", b"", 10) == [] and store.alarms_of(A) == []
    assert [a.actor_id for a in store.due_alarms(100, 10)] == [B]
    assert store.kv_get(B, b"k") == b"v" and store.get_meta(B) is not None


def test_deployments_through_a_node_level_write_set(store: Store) -> None:
    ws = store.write_set("")
    ws.set_deployment("counter", DIGEST)
    ws.set_deployment("room", "f" * 64)
    store.commit_now(ws)
    assert store.deployments() == {"counter": DIGEST, "room": "f" * 64}
    with pytest.raises(StorageError) as caught:
        ws.put(b"k", b"v")
    assert caught.value.code == "storage.key_invalid"


def test_empty_and_size(store: Store) -> None:
    ws = store.write_set(A)
    assert ws.empty and ws.size_bytes == 0
    ws.put(b"key", b"value")
    assert not ws.empty and ws.size_bytes >= 8


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (lambda ws: ws.put(b"", b"v"), "storage.key_invalid"),
        (lambda ws: ws.put(b"k" * 9000, b"v"), "storage.key_invalid"),
        (lambda ws: ws.get(b""), "storage.key_invalid"),
        (lambda ws: ws.put(b"k", "text"), "storage.value_invalid"),
        (lambda ws: ws.put_meta(meta(B)), "storage.key_invalid"),
        (lambda ws: ws.set_alarm(AlarmEntry(A, "t", -1, b"")), "storage.key_invalid"),
        (lambda ws: ws.set_alarm(AlarmEntry(A, "", 1, b"")), "storage.key_invalid"),
        (lambda ws: ws.set_alarm(AlarmEntry(A, "t", 1, b"", attempt=-1)), "storage.value_invalid"),
        (lambda ws: ws.set_deployment("m", ""), "storage.value_invalid"),
    ],
)
def test_bad_writes_are_refused_at_once(store: Store, action: object, code: str) -> None:
    ws = store.write_set(A)
    with pytest.raises(StorageError) as caught:
        action(ws)  # type: ignore[operator]
    assert caught.value.code == code
    assert ws.empty


def test_bad_actor_ids_are_refused(store: Store) -> None:
    for bad in ("short", "A" * 32, "g" * 32):
        with pytest.raises(StorageError) as caught:
            store.write_set(bad)
        assert caught.value.code == "storage.key_invalid"
        with pytest.raises(StorageError):
            store.kv_get(bad, b"k")


def test_data_survives_a_reopen(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as first:
        put_all(first, A, {b"k": b"v"})
    with Store.open(tmp_path / "db") as second:
        assert second.kv_get(A, b"k") == b"v"


def test_close_is_idempotent_and_later_use_is_refused(tmp_path: Path) -> None:
    opened = Store.open(tmp_path / "db")
    ws = opened.write_set(A)
    ws.put(b"k", b"v")
    opened.close()
    opened.close()
    for use in (
        lambda: opened.kv_get(A, b"k"),
        lambda: opened.commit_now(ws),
        lambda: opened.write_set(A),
        lambda: opened.list_actors(None, None, 1),
    ):
        with pytest.raises(StorageError) as caught:
            use()
        assert caught.value.code == "storage.closed"


def test_opening_something_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("hello")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    for path in (tmp_path / "file", tmp_path / "junk"):
        with pytest.raises(StorageError) as caught:
            Store.open(path)
        assert caught.value.code == "storage.not_a_database"
    assert sorted(p.name for p in (tmp_path / "junk").iterdir()) == ["notes.txt"]


def test_opening_a_database_twice_is_refused(store: Store) -> None:
    with pytest.raises(StorageError) as caught:
        Store.open(store.path)
    assert caught.value.code == "storage.open_failed"
