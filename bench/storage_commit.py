"""Durable group-commit throughput and latency for 1, 10 and 100 concurrent committers.

Each committer loops: build a write set of one actor (one 100-byte put), ``await commit``, and
records how long the commit took. Prints durable commits/s, p50 and p99 latency, and how many
fsyncs were shared by how many commits. Run: ``.venv/bin/python bench/storage_commit.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from edgewise.storage import Store


async def committer(store: Store, index: int, until: float, latencies: list[float]) -> None:
    actor_id = f"{index:032x}"
    value = b"v" * 100
    count = 0
    while time.monotonic() < until:
        ws = store.write_set(actor_id)
        ws.put(b"key/%08d" % count, value)
        started = time.perf_counter()
        await store.commit(ws)
        latencies.append(time.perf_counter() - started)
        count += 1


async def run(concurrency: int, seconds: float, window_ms: float, sync: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="edgewise-bench-") as scratch:
        store = Store.open(Path(scratch) / "db", sync=sync, commit_window_ms=window_ms)
        with store:
            latencies: list[float] = []
            started = time.monotonic()
            until = started + seconds
            await asyncio.gather(
                *(committer(store, i, until, latencies) for i in range(concurrency))
            )
            elapsed = time.monotonic() - started
            stats = store.stats
    quantiles = statistics.quantiles(latencies, n=100)
    return (
        f"{concurrency:>4} committers: {len(latencies) / elapsed:>9.0f} commits/s  "
        f"p50 {quantiles[49] * 1000:6.2f} ms  p99 {quantiles[98] * 1000:6.2f} ms  "
        f"{stats.syncs} fsyncs, {stats.commits / max(stats.batches, 1):.1f} commits/batch"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per concurrency level")
    parser.add_argument("--window-ms", type=float, default=1.0, help="commit window")
    parser.add_argument("--no-sync", action="store_true", help="skip fsync (not durable)")
    args = parser.parse_args()
    mode = "unsynced" if args.no_sync else "durable"
    print(f"group commit, {mode}, window {args.window_ms} ms, {args.seconds} s per level")
    for concurrency in (1, 10, 100):
        print(asyncio.run(run(concurrency, args.seconds, args.window_ms, not args.no_sync)))


if __name__ == "__main__":
    main()
