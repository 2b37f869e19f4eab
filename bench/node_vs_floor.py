"""Benchmark an Edgewise node against the floor server, same client, same run; prints a table.

The floor (bench/floor_server.py) speaks the node's API from an in-memory dict, so each figure of
the node is read against what bare aiohttp costs on this machine. Servers run one at a time as
subprocesses: the floor, then the node (fresh data dir, large idle timeout, `counter` deployed
through the admin API), then a second node with a short idle timeout for the wake figure. The
client is this process (aiohttp, uvloop when present). See bench/README.md for the figures and
their targets. ``--quick --floor-only`` is the smoke run used by the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import _scenarios as sc
import aiohttp
from _common import BenchFailed, ServerProcess, run_event_loop
from _report import render_table, summary_rows

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
ADMIN_TOKEN = "bench-admin-token"
LONG_IDLE_S = 3600.0
BUILD_TIMEOUT_S = 300.0

Scenario = Callable[[sc.Api, ServerProcess], Awaitable[dict[str, Any]]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny counts: a smoke run of seconds")
    p.add_argument("--floor-only", action="store_true", help="run against the floor only")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write JSON")
    p.add_argument("--encoding", choices=("json", "cbor"), default="json")
    p.add_argument("--only", default="abcde", help="figures to measure (default: abcde)")
    p.add_argument("--seq-calls", type=int, default=2000, help="(a) sequential calls")
    p.add_argument("--ws-clients", type=int, default=50, help="(b) WebSocket clients")
    p.add_argument("--ws-seconds", type=float, default=5.0, help="(b) duration")
    p.add_argument("--new-actors", type=int, default=1000, help="(c) actors created")
    p.add_argument("--new-concurrency", type=int, default=10, help="(c) requests in flight")
    p.add_argument("--wake-actors", type=int, default=200, help="(d) actors woken")
    p.add_argument("--wake-idle-s", type=float, default=0.5, help="(d) node idle_timeout_s")
    p.add_argument("--rss-actors", type=int, default=10000, help="(e) actors activated")
    p.add_argument("--rss-concurrency", type=int, default=20, help="(e) requests in flight")
    p.add_argument("--no-fsync", action="store_true", help="node: [storage] sync = false")
    p.add_argument("--commit-window-ms", type=float, default=None, help="node: group commit window")
    p.add_argument("--max-seconds", type=float, default=120.0, help="bound per figure")
    args = p.parse_args(argv)
    if args.quick:
        args.seq_calls, args.ws_clients, args.ws_seconds = 50, 5, 0.5
        args.new_actors, args.wake_actors, args.wake_idle_s = 50, 10, 0.3
        args.rss_actors, args.max_seconds = 200, 20.0
    return args


def scenarios(args: argparse.Namespace, wake_idle_s: float | None) -> dict[str, Scenario]:
    limit = args.max_seconds
    return {
        "a": lambda api, srv: sc.sequential_http(api, args.seq_calls, limit, "a"),
        "b": lambda api, srv: sc.websocket_clients(
            api, args.ws_clients, min(args.ws_seconds, limit), 1_000_000, "b"
        ),
        "c": lambda api, srv: sc.new_actors(api, args.new_actors, args.new_concurrency, limit, "c"),
        "d": lambda api, srv: sc.wake(api, args.wake_actors, wake_idle_s, limit, "d"),
        "e": lambda api, srv: sc.rss_per_actor(
            api, srv.pid, args.rss_actors, args.rss_concurrency, limit, "e"
        ),
    }


def node_toml(data_dir: Path, idle_timeout_s: float, args: argparse.Namespace) -> str:
    storage = "[storage]\n"
    if args.no_fsync:
        storage += "sync = false\n"
    if args.commit_window_ms is not None:
        storage += f"commit_window_ms = {float(args.commit_window_ms)!r}\n"
    return (
        "[node]\n"
        'host = "127.0.0.1"\nport = 0\n'
        f'data_dir = "{data_dir}"\n'
        'node_id = "bench"\nregion = "local"\n'
        f'admin_token = "{ADMIN_TOKEN}"\n\n'
        "[actors]\n"
        f"idle_timeout_s = {idle_timeout_s!r}\n\n"
        f"{storage}"
    )


def node_process(
    work: Path, label: str, idle_timeout_s: float, args: argparse.Namespace
) -> ServerProcess:
    folder = work / label
    folder.mkdir()
    config = folder / "node.toml"
    config.write_text(node_toml(folder / "data", idle_timeout_s, args))
    argv = [sys.executable, "-m", "edgewise.host.cli.main", "serve", "--config", str(config)]
    return ServerProcess(label, argv, folder / "stderr.log")


def floor_process(work: Path) -> ServerProcess:
    argv = [sys.executable, str(BENCH_DIR / "floor_server.py"), "--port", "0"]
    return ServerProcess("floor", argv, work / "floor-stderr.log")


async def counter_wasm(work: Path, example: str = "counter") -> bytes:
    """Build examples/<example> with `edgewise build` into the work folder; returns the module."""
    out = work / f"build-{example}"
    argv = ["-m", "edgewise.host.cli.main", "build", str(REPO_DIR / "examples" / example)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        "--out",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise BenchFailed(f"edgewise build failed:\n{output.decode(errors='replace')}")
    return (out / f"{example}.wasm").read_bytes()


async def deploy(session: aiohttp.ClientSession, url: str, wasm: bytes) -> None:
    headers = {"Content-Type": "application/wasm", "Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with session.post(
        f"{url}/v1/modules", params={"name": "counter"}, data=wasm, headers=headers
    ) as resp:
        if resp.status != 200:
            text = (await resp.read())[:300].decode(errors="replace")
            raise BenchFailed(f"deploying counter failed: {resp.status} {text}")


async def measure(
    server: ServerProcess,
    figures: dict[str, Scenario],
    encoding: str,
    wasm: bytes | None,
) -> dict[str, Any]:
    """Start one server, measure the given figures on it, stop it; never raises on the figures."""
    out: dict[str, Any] = {}
    async with server:
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector) as session:
            if wasm is not None:
                await deploy(session, server.url, wasm)
            for name, scenario in figures.items():
                api = sc.Api(session, server.url, encoding)
                print(f"  {server.label}: measuring ({name}) ...", file=sys.stderr, flush=True)
                try:
                    result = await scenario(api, server)
                except (sc.CallFailed, BenchFailed, TimeoutError) as exc:
                    api.errors.add(f"aborted: {type(exc).__name__}: {exc}")
                    result = {}
                result["errors"] = api.errors.count
                result["error_messages"] = api.errors.messages
                out[name] = result
                if not server.alive():
                    out["crashed"] = f"exited during ({name})\n{server.log_tail()}"
                    break
    out["exit_code"] = server.returncode
    if server.returncode != 0 or any(isinstance(v, dict) and v.get("errors") for v in out.values()):
        out["log_tail"] = server.log_tail()
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    wanted = [f for f in "abcde" if f in args.only]
    results: dict[str, Any] = {"floor": {}, "node": {}}
    with tempfile.TemporaryDirectory(prefix="edgewise-bench-") as tmp:
        work = Path(tmp)
        floor_figures = {k: v for k, v in scenarios(args, None).items() if k in wanted}
        results["floor"] = await measure(floor_process(work), floor_figures, args.encoding, None)
        if args.floor_only:
            return results
        wasm = await counter_wasm(work)
        main_figures = {k: v for k, v in scenarios(args, None).items() if k in wanted and k != "d"}
        if main_figures:
            node = node_process(work, "node", LONG_IDLE_S, args)
            results["node"] = await measure(node, main_figures, args.encoding, wasm)
        if "d" in wanted:
            wake_node = node_process(work, "node-wake", args.wake_idle_s, args)
            wake_figure = {"d": scenarios(args, args.wake_idle_s)["d"]}
            woken = await measure(wake_node, wake_figure, args.encoding, wasm)
            results["node"]["d"] = woken.get("d", {})
            results["node_wake_server"] = {k: v for k, v in woken.items() if k != "d"}
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_event_loop(run(args))
    rows = summary_rows(results)
    print(render_table(rows))
    for label in ("floor", "node"):
        for figure, values in results.get(label, {}).items():
            if isinstance(values, dict) and values.get("errors"):
                print(f"{label} ({figure}): {values['errors']} errors: {values['error_messages']}")
        if results.get(label, {}).get("crashed"):
            print(f"{label} CRASHED: {results[label]['crashed']}")
    for label in ("floor", "node", "node_wake_server"):
        if results.get(label, {}).get("log_tail"):
            print(f"{label} exit code {results[label]['exit_code']}, output tail:")
            print(results[label]["log_tail"])
    if args.json is not None:
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        doc = {"params": params, "results": results, "rows": rows}
        args.json.write_text(json.dumps(doc, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
