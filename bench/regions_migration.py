"""Regions with distance between them: migration time, the wait it causes, follow-the-user.

Two regions (``eu``, ``us``) on this machine with ``--rtt-ms`` (40) added between them
(``edgewise.regions.demo``: a NATS super-cluster of 2x3 servers, one node per region, delay
proxies). Prints:

- migration time of a chat room actor holding about 1 KiB, 1 MiB and 10 MiB of messages, eu to
  us, as ``edgewise migrate`` sees it (the admin route's answer);
- the calls that waited while a 1 KiB counter moved: a client in eu calls ``increment`` back to
  back during ``--moves`` migrations there and back; latency p50 / p99 / max of the calls that
  overlapped a migration;
- follow-the-user: a client in us calls a counter created in eu; its call p50 before, and after
  the actor followed it to us.

Targets: a 10 MiB actor migrates in under 1 s + 2 RTT; calls wait under 100 ms p99 during a
1 KiB migration; after follow-the-user the remote client's p50 falls by at least the RTT.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from edgewise.client import Client
from edgewise.host.actors import Node
from edgewise.host.build import build_actor
from edgewise.host.config import FollowConfig
from edgewise.regions.demo import Demo, start_demo

REPO = Path(__file__).resolve().parent.parent
MESSAGE_CHARS = 256 * 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rtt-ms", type=float, default=40.0, help="added between the regions")
    p.add_argument("--moves", type=int, default=10, help="1 KiB migrations under calls")
    p.add_argument("--calls", type=int, default=50, help="calls per follow-the-user phase")
    p.add_argument("--quick", action="store_true", help="smaller states, fewer moves")
    args = p.parse_args(argv)
    if args.quick:
        args.moves, args.calls = 2, 25
    return args


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def migrate(client: Client, actor_id: str, region: str) -> dict[str, Any]:
    report: dict[str, Any] = await client.request(
        "POST", f"/v1/actors/{actor_id}/migrate", {"to": region}, admin=True
    )
    return report


async def migration_times(demo: Demo, sizes: list[int]) -> list[tuple[int, float, int]]:
    """(wanted bytes, elapsed ms, exported bytes) per chat room moved eu -> us."""
    eu = demo.regions["eu"]
    rng = random.Random(1)
    rows = []
    async with Client(eu.local_url, transport="h1") as client:
        for size in sizes:
            room = client.get_or_create("chat_room", [f"bench-{size}-{time.time_ns()}"])
            async with room.connect({"user": "bench"}) as conn:
                left = size
                while left > 0:  # random letters: RocksDB cannot compress them away
                    text = "".join(rng.choices(string.ascii_letters, k=min(left, MESSAGE_CHARS)))
                    await conn.call("send", text)
                    left -= len(text)
            report = await migrate(client, await room.resolve(), "us")
            rows.append((size, float(report["elapsed_ms"]), int(report["size_bytes"])))
    return rows


async def waits_during_moves(demo: Demo, moves: int) -> tuple[list[float], list[float]]:
    """A 1 KiB counter moved back and forth while a client in eu calls it back to back: how
    long each migration held the actor's turns (ms), and the latency of every call that started
    while a migration ran (ms)."""
    eu = demo.regions["eu"]
    held: list[float] = []
    during: list[float] = []
    async with (
        Client(eu.local_url, transport="h1") as client,
        Client(eu.local_url, transport="h1") as admin,
    ):
        counter = client.get_or_create("counter", [f"bench-waits-{time.time_ns()}"])
        await counter.call("increment", 1)
        actor_id = await counter.resolve()
        for move in range(moves):
            mover = asyncio.create_task(migrate(admin, actor_id, "us" if move % 2 == 0 else "eu"))
            for _ in range(10_000):
                if mover.done():
                    break
                begun = time.perf_counter()
                await counter.call("increment", 1)
                during.append((time.perf_counter() - begun) * 1000)
            held.append(float((await mover)["held_ms"]))
    return held, during


async def follow_the_user(demo: Demo, calls: int) -> tuple[float, float, bool]:
    eu, us = demo.regions["eu"], demo.regions["us"]
    async with Client(eu.local_url, transport="h1") as local:
        counter = local.get_or_create("counter", [f"bench-follow-{time.time_ns()}"])
        await counter.call("increment", 1)
        actor_id = await counter.resolve()
    async with Client([eu.remote_url, us.local_url], transport="h1") as remote:
        mine = remote.get(actor_id)
        before: list[float] = []
        for _ in range(calls):
            started = time.perf_counter()
            await mine.call("get")  # a read: counts for follow-the-user like any call
            before.append((time.perf_counter() - started) * 1000)
            if us.node.has_actor(actor_id):
                break
        for _ in range(200):  # the move runs in the background; wait for it (bounded)
            if us.node.has_actor(actor_id):
                break
            await mine.call("get")
            await asyncio.sleep(0.05)
        after: list[float] = []
        for _ in range(calls):
            started = time.perf_counter()
            await mine.call("get")
            after.append((time.perf_counter() - started) * 1000)
        return statistics.median(before), statistics.median(after), us.node.has_actor(actor_id)


async def run(args: argparse.Namespace) -> None:
    builds = [build_actor(REPO / "examples" / name) for name in ("counter", "chat_room")]

    async def deploy(node: Node) -> None:
        for result in builds:
            await node.deploy(result.wasm_path.read_bytes(), result.manifest.name)

    follow = FollowConfig(enabled=True, min_calls=20, share=0.6, cooldown_s=600.0)
    sizes = [1024, 1024 * 1024] + ([] if args.quick else [10 * 1024 * 1024])
    with tempfile.TemporaryDirectory(prefix="edgewise-bench-regions-") as tmp:
        demo = await start_demo(Path(tmp), args.rtt_ms, deploy, follow=follow)
        try:
            print("  measuring migration times ...", file=sys.stderr, flush=True)
            times = await migration_times(demo, sizes)
            print("  measuring waits during migrations ...", file=sys.stderr, flush=True)
            held, during = await waits_during_moves(demo, args.moves)
            print("  measuring follow-the-user ...", file=sys.stderr, flush=True)
            before, after, followed = await follow_the_user(demo, args.calls)
        finally:
            await demo.close()
    rtt = args.rtt_ms
    print(f"regions eu and us, {rtt:g} ms round trip between them")
    print(f"{'figure':44} {'measured':>12}  target")
    for wanted, elapsed, exported in times:
        target = f"< {1000 + 2 * rtt:g} ms" if wanted >= 10 * 1024 * 1024 else ""
        label = f"migration, {wanted / 1024:g} KiB state ({exported} B export)"
        print(f"{label:44} {elapsed:9.1f} ms  {target}")
    print(f"{'1 KiB migrations under calls, n':44} {len(held):12d}")
    print(f"{'  turns held (window calls wait), p50':44} {percentile(held, 0.5):9.1f} ms")
    print(
        f"{'  turns held (window calls wait), p99':44} {percentile(held, 0.99):9.1f} ms  < 100 ms"
    )
    print(f"{'  calls made meanwhile, n':44} {len(during):12d}")
    print(f"{'  their latency p50':44} {percentile(during, 0.5):9.1f} ms")
    print(f"{'  their latency p99':44} {percentile(during, 0.99):9.1f} ms")
    print(f"{'remote client p50 before follow-the-user':44} {before:9.1f} ms")
    print(f"{'remote client p50 after follow-the-user':44} {after:9.1f} ms  "
          f"<= before - {rtt:g} ms")  # fmt: skip
    print(f"{'the actor followed its user':44} {'yes' if followed else 'NO':>12}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
