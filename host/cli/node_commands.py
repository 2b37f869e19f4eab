"""`edgewise dev` and `edgewise serve`: run a node in this process until SIGINT or SIGTERM.

Both open a `Node`, deploy what they were given, start the HTTP/WebSocket server and print one
line `Edgewise ... ready at URL` once clients can connect. `dev` builds actor folders first and,
with `--watch`, polls their sources and rebuilds and redeploys a folder when a file changes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from edgewise.host.actors import Node
from edgewise.host.build import BuildResult, build_actor, source_files
from edgewise.host.config import ActorsConfig, Config, NodeConfig, load_config
from edgewise.host.errors import ConfigInvalid, EdgewiseError
from edgewise.host.transports.http import start_server
from edgewise.host.transports.tls import TlsFiles, configured_files, dev_files
from edgewise.regions.cluster import Member, join
from edgewise.regions.topology import Topology, load_topology

WATCH_INTERVAL_S = 0.5


# A node keeps many long-lived objects (activations, connections, futures), which the cyclic
# garbage collector would walk again and again: with the default thresholds it took about a
# quarter of the CPU time of creating actors. Rarer young collections keep memory bounded.
GC_THRESHOLDS = (50_000, 20, 100)


def _run(main: Callable[[], Coroutine[Any, Any, None]], log_level: str) -> None:
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if log_level != "debug":  # aioquic logs every connection's close at info
        logging.getLogger("quic").setLevel(logging.WARNING)
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()  # what was loaded at start-up is never garbage
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _default_actor_dirs() -> list[Path]:
    found = sorted(p.parent for p in Path("examples").glob("*/actor.toml"))
    if not found:
        raise ConfigInvalid("no actor folders given and none found under ./examples")
    return found


def _build_all(dirs: list[Path]) -> list[BuildResult]:
    results = []
    for actor_dir in dirs:
        print(f"building {actor_dir} ...", flush=True)
        result = build_actor(actor_dir)
        state = "" if result.rebuilt else " (up to date)"
        print(f"  {result.manifest.name}: {result.wasm_path}{state}", flush=True)
        results.append(result)
    return results


async def _deploy(node: Node, result: BuildResult) -> None:
    m = result.manifest
    await node.deploy(result.wasm_path.read_bytes(), m.name, language=m.language, actions=m.actions)


def _source_stamp(actor_dir: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in source_files(actor_dir)))


async def _watch(node: Node, dirs: list[Path]) -> None:
    loop = asyncio.get_running_loop()
    stamps = {d: _source_stamp(d) for d in dirs}
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        for actor_dir in dirs:
            stamp = _source_stamp(actor_dir)
            if stamp == stamps[actor_dir]:
                continue
            stamps[actor_dir] = stamp
            print(f"change in {actor_dir}: rebuilding ...", flush=True)
            try:
                result = await loop.run_in_executor(None, build_actor, actor_dir)
                await _deploy(node, result)
            except EdgewiseError as exc:
                print(f"error: {exc.code}: {exc.message}", file=sys.stderr, flush=True)
            else:
                print(f"redeployed {result.manifest.name}", flush=True)


async def _serve_until_stopped(
    config: Config,
    builds: list[BuildResult],
    banner: str,
    watch_dirs: list[Path],
    topology: Topology | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = await Node.open(config)
    member: Member | None = None
    try:
        for result in builds:
            await _deploy(node, result)
        tls = _tls_files(config)
        api = None
        if topology is not None:
            member = await join(node, topology)
            api = member.api()
            print(f"joined region {node.region} ({len(topology.regions)} regions)", flush=True)
        server = await start_server(node, config.node.host, config.node.port, tls=tls, api=api)
        try:
            if server.h3 is not None and tls is not None:
                trust = tls.authority or tls.certificate
                print(f"HTTP/3 on UDP port {server.h3.port} (clients trust {trust})", flush=True)
            print(f"Edgewise {banner} ready at {server.url}", flush=True)
            watcher = asyncio.create_task(_watch(node, watch_dirs)) if watch_dirs else None
            await stop.wait()
            print("stopping ...", flush=True)
            if watcher is not None:
                watcher.cancel()
        finally:
            await server.close()
    finally:
        if member is not None:
            await member.close()
        await node.close()


def _tls_files(config: Config) -> TlsFiles | None:
    """The configured certificate, else the data dir's self-signed one; None without HTTP/3."""
    settings = config.http3
    if not settings.enabled:
        return None
    files = configured_files(settings.certificate_path, settings.private_key_path)
    return files if files is not None else dev_files(config.data_path)


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def dev(args: argparse.Namespace) -> int:
    if args.host not in LOOPBACK:
        print(
            f"warning: a dev node has no admin token: anyone who reaches {args.host} can deploy "
            "and destroy; use `edgewise serve` with an admin token beyond this machine",
            file=sys.stderr,
        )
    dirs = list(args.actor_dirs) or _default_actor_dirs()
    builds = _build_all(dirs)
    actors = ActorsConfig()
    if args.idle_timeout_s is not None:
        actors = dataclasses.replace(actors, idle_timeout_s=args.idle_timeout_s)
    config = Config(
        node=NodeConfig(host=args.host, port=args.port, data_dir=args.data_dir, node_id="dev"),
        actors=actors,
    )
    watch_dirs = dirs if args.watch else []
    _run(lambda: _serve_until_stopped(config, builds, "dev node", watch_dirs), args.log_level)
    return 0


def serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.node.admin_token:
        raise ConfigInvalid(
            f"{args.config}: [node] admin_token is required by `edgewise serve` "
            "(admin routes would be open otherwise; use `edgewise dev` for local work)"
        )
    topology = None
    if config.node.cluster_file:
        topology = load_topology(args.config.parent / config.node.cluster_file)
        region = topology.node(config.node.node_id).region
        config = dataclasses.replace(config, node=dataclasses.replace(config.node, region=region))

    async def serve_node() -> None:
        await _serve_until_stopped(config, [], "node", [], topology)

    _run(serve_node, config.node.log_level)
    return 0
