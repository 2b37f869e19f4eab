"""`edgewise migrate` and `edgewise regions ...`: moving actors and looking at the cluster.

`migrate` asks the node that owns the actor (any node forwards it there) to move it, and shows
a progress bar on stderr while it runs by polling `GET /v1/actors/{id}/migration` (the last
lines name the region and node it went to). `regions list` reads a cluster file and shows each
region and node with its health and the round trip time measured from here. `regions demo`
starts two regions on this machine (`regions/demo.py`) and prints their endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from edgewise.client import Client, EdgewiseClientError
from edgewise.client.nearest import measure_rtts
from edgewise.regions.topology import load_topology

POLL_S = 0.2
BAR_CELLS = 30


def _bar(progress: dict[str, Any]) -> str:
    total = max(1, int(progress.get("total_bytes", 0)))
    sent = min(total, int(progress.get("sent_bytes", 0)))
    cells = BAR_CELLS * sent // total
    percent = 100 * sent // total
    return (
        f"\r[{'#' * cells}{'.' * (BAR_CELLS - cells)}] {percent:3d}% "
        f"{sent / 1048576:.1f}/{total / 1048576:.1f} MiB {progress.get('state', '')}   "
    )


async def _show_progress(client: Client, actor_id: str) -> None:
    while True:
        await asyncio.sleep(POLL_S)
        try:
            progress = await client.request("GET", f"/v1/actors/{actor_id}/migration")
        except EdgewiseClientError:
            continue
        if isinstance(progress, dict):
            print(_bar(progress), end="", file=sys.stderr, flush=True)


def migrate(args: argparse.Namespace) -> int:
    async def go() -> Any:
        async with Client(args.url, admin_token=args.token, transport="h1") as client:
            path = f"/v1/actors/{args.actor_id}/migrate"
            request = asyncio.create_task(client.request("POST", path, {"to": args.to}, admin=True))
            shown = asyncio.create_task(_show_progress(client, args.actor_id))
            try:
                return await request
            finally:
                shown.cancel()
                if sys.stderr.isatty():
                    print(file=sys.stderr)

    print(json.dumps(asyncio.run(go()), indent=2, sort_keys=True))
    return 0


def regions(args: argparse.Namespace) -> int:
    if args.regions_command == "demo":
        return regions_demo(args)
    return regions_list(args)


def regions_list(args: argparse.Namespace) -> int:
    topology = load_topology(args.cluster)
    urls = [node.url for node in topology.nodes.values()]
    rtts = asyncio.run(measure_rtts(urls, args.timeout_s))
    print(f"{'region':12} {'lat':>7} {'long':>8} {'node':14} {'health':7} {'rtt ms':>8}  url")
    for region in sorted(topology.regions.values(), key=lambda r: r.name):
        for node in topology.nodes_of(region.name):
            probe = rtts.get(node.url)
            rtt = float("inf") if probe is None else probe.rtt_ms
            health = "ok" if rtt != float("inf") else "down"
            shown = f"{rtt:.2f}" if health == "ok" else "-"
            print(
                f"{region.name:12} {region.latitude:7.2f} {region.longitude:8.2f} "
                f"{node.node_id:14} {health:7} {shown:>8}  {node.url}"
            )
    return 0


def regions_demo(args: argparse.Namespace) -> int:
    from edgewise.host.actors import Node
    from edgewise.host.cli.node_commands import _build_all, _default_actor_dirs, _deploy, _run
    from edgewise.host.config import FollowConfig
    from edgewise.regions.demo import start_demo

    builds = _build_all(list(args.actor_dirs) or _default_actor_dirs())
    follow = FollowConfig(enabled=args.follow, min_calls=10, cooldown_s=60.0)

    async def deploy(node: Node) -> None:
        for result in builds:
            await _deploy(node, result)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        base = args.port
        demo = await start_demo(
            Path(args.data_dir),
            args.rtt_ms,
            deploy,
            ports=[base, base + 1] if base else None,
            proxy_ports=[base + 10, base + 11] if base else None,
            follow=follow,
        )
        try:
            for region in demo.regions.values():
                print(
                    f"region {region.name}: {region.local_url} for its own clients, "
                    f"{region.remote_url} from the other region (+{args.rtt_ms:g} ms round trip)",
                    flush=True,
                )
            print(f"NATS: {', '.join(demo.nats.urls('eu') + demo.nats.urls('us'))}", flush=True)
            print("Edgewise regions demo ready; Ctrl-C stops", flush=True)
            await stop.wait()
        finally:
            await demo.close()

    _run(serve, args.log_level)
    return 0
