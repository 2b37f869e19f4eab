"""Group commit on a real RocksDB: merging, order, failures, close, and kill -9 durability."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from edgewise.storage import ActorMeta, AlarmEntry, StorageError, Store

A = "a" * 32
B = "b" * 32


def actor(i: int) -> str:
    return f"{i:032x}"


async def commit_put(store: Store, actor_id: str, key: bytes, value: bytes) -> None:
    ws = store.write_set(actor_id)
    ws.put(key, value)
    await store.commit(ws)


async def test_concurrent_commits_share_few_fsyncs(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", commit_window_ms=2.0) as store:
        await asyncio.wait_for(
            asyncio.gather(*(commit_put(store, actor(i), b"k", b"%d" % i) for i in range(200))),
            timeout=20,
        )
        assert store.stats.commits == 200
        assert store.stats.syncs == store.stats.batches
        assert store.stats.syncs <= 20
        assert all(store.kv_get(actor(i), b"k") == b"%d" % i for i in range(200))


async def test_commits_apply_in_arrival_order(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", commit_window_ms=5.0) as store:
        values = [b"first", b"second", b"third"]
        await asyncio.wait_for(
            asyncio.gather(*(commit_put(store, A, b"k", v) for v in values)), timeout=10
        )
        assert store.kv_get(A, b"k") == b"third"
        assert store.stats.batches == 1


async def test_a_destroy_sees_alarms_set_earlier_in_the_same_batch(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", commit_window_ms=5.0) as store:
        create = store.write_set(A)
        create.put_meta(ActorMeta(A, "room", ("x",), 1, "d" * 64))
        create.set_alarm(AlarmEntry(A, "tick", 10, b""))
        create.put(b"k", b"v")
        destroy = store.write_set(A)
        destroy.destroy_actor()
        await asyncio.wait_for(
            asyncio.gather(store.commit(create), store.commit(destroy)), timeout=10
        )
        assert store.stats.batches == 1
        assert store.due_alarms(100, 10) == [] and store.alarms_of(A) == []
        assert store.get_meta(A) is None and store.lookup_key("room", ("x",)) is None
        assert store.kv_get(A, b"k") is None


async def test_a_refused_write_set_fails_alone(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", commit_window_ms=5.0) as store:
        first, clash = store.write_set(A), store.write_set(B)
        first.put_meta(ActorMeta(A, "room", ("x",), 1, "d" * 64))
        clash.put_meta(ActorMeta(B, "room", ("x",), 1, "d" * 64))
        results = await asyncio.wait_for(
            asyncio.gather(
                store.commit(first),
                store.commit(clash),
                commit_put(store, B, b"k", b"v"),
                return_exceptions=True,
            ),
            timeout=10,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], StorageError) and results[1].code == "storage.actor_exists"
        assert store.lookup_key("room", ("x",)) == A and store.kv_get(B, b"k") == b"v"


async def test_empty_write_set_commits_at_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        await asyncio.wait_for(store.commit(store.write_set(A)), timeout=5)
        assert store.stats.batches == 0


async def test_unsynced_store_skips_the_fsync(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", sync=False) as store:
        await asyncio.wait_for(commit_put(store, A, b"k", b"v"), timeout=5)
        assert store.stats.syncs == 0 and store.stats.batches == 1


async def test_commits_waiting_at_close_fail_and_later_commits_are_refused(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "db", commit_window_ms=60_000.0)
    waiting = asyncio.ensure_future(commit_put(store, A, b"k", b"v"))
    for _ in range(5):
        await asyncio.sleep(0)
    store.close()
    with pytest.raises(StorageError) as caught:
        await asyncio.wait_for(waiting, timeout=5)
    assert caught.value.code == "storage.closed"
    with pytest.raises(StorageError) as again:
        await commit_put(store, A, b"k", b"v")
    assert again.value.code == "storage.closed"
    with Store.open(tmp_path / "db") as reopened:
        assert reopened.kv_get(A, b"k") is None


async def test_commit_is_durable_across_a_reopen(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        await asyncio.wait_for(commit_put(store, A, b"k", b"v"), timeout=5)
    with Store.open(tmp_path / "db") as store:
        assert store.kv_get(A, b"k") == b"v"


async def test_reads_from_worker_threads_run_beside_commits(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", commit_window_ms=0.0) as store:
        await commit_put(store, A, b"k/000", b"0")

        def reader() -> int:
            seen = 0
            for _ in range(300):
                ws = store.write_set(A)
                assert ws.get(b"k/000") == b"0"
                seen = max(seen, len(ws.list(b"k/", b"", 1000)))
            return seen

        readers = [asyncio.to_thread(reader) for _ in range(4)]
        writes = [commit_put(store, A, b"k/%03d" % i, b"%d" % i) for i in range(1, 200)]
        results = await asyncio.wait_for(asyncio.gather(*readers, *writes), timeout=30)
        assert all(isinstance(seen, int) and 1 <= seen <= 200 for seen in results[:4])
        assert len(store.kv_list(A, b"k/", b"", 1000)) == 200


WRITER = """
import asyncio, sys
from pathlib import Path
from edgewise.storage import Store

ACTOR = "f" * 32

async def one(store, i):
    ws = store.write_set(ACTOR)
    ws.put(b"k%06d" % i, b"%d" % i)
    await store.commit(ws)
    print(i, flush=True)

async def main():
    store = Store.open(Path(sys.argv[1]))
    for start in range(0, 1_000_000, 8):
        await asyncio.gather(*(one(store, i) for i in range(start, start + 8)))

asyncio.run(main())
"""


@pytest.mark.timeout(60)
def test_every_acknowledged_commit_survives_kill_9(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    acked: list[int] = []
    deadline = time.monotonic() + 30
    while len(acked) < 400 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        acked.append(int(line))
    child.send_signal(signal.SIGKILL)
    rest, errors = child.communicate(timeout=10)
    acked += [int(line) for line in rest.split()]
    assert child.returncode == -signal.SIGKILL, errors.decode()
    assert len(acked) >= 400
    with Store.open(tmp_path / "db") as store:
        missing = [i for i in acked if store.kv_get("f" * 32, b"k%06d" % i) != b"%d" % i]
    assert missing == []
