"""HTTP/3 next to HTTP/1.1 on one Edgewise node, same client, same run; prints a table.

One node (``edgewise serve``, fsync on, uvloop, HTTP/3 on the HTTP port number with the dev
certificate of its data dir) is measured by this process through the Python client's two
transports (aiohttp for HTTP/1.1, aioquic for HTTP/3):

- new connection: open a connection and answer one ``GET /v1/health`` (HTTP/1.1: TCP; HTTP/3:
  full QUIC handshake, and resumed with a session ticket and the GET in 0-RTT data);
- sequential action: ``increment`` on one warm actor, one after the other, on one connection;
- WebSocket round trip: ``increment`` through an ``ActorConnection`` (RFC 9220 over HTTP/3);
- server CPU per request: the node process's user + system CPU time over the sequential phase,
  divided by the requests.

Every loop is bounded by a count and ``--max-seconds``. See bench/README.md for the targets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import BenchFailed, ServerProcess, latency_ms, run_event_loop
from edgewise.client import Client
from edgewise.client.h3 import H3Transport
from node_vs_floor import ADMIN_TOKEN, counter_wasm

CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny counts: a smoke run of seconds")
    p.add_argument("--connections", type=int, default=100, help="new connections per transport")
    p.add_argument("--calls", type=int, default=2000, help="sequential calls per transport")
    p.add_argument("--max-seconds", type=float, default=60.0, help="bound per figure")
    args = p.parse_args(argv)
    if args.quick:
        args.connections, args.calls, args.max_seconds = 5, 50, 20.0
    return args


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def timed(count: int, limit_s: float, step: Callable[[], Awaitable[Any]]) -> list[float]:
    samples: list[float] = []
    deadline = time.monotonic() + limit_s
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        await step()
        samples.append(time.perf_counter() - started)
    return samples


async def new_connections(url: str, kind: str, ca: str, args: argparse.Namespace) -> list[float]:
    """Seconds from nothing to the answer of one GET on a new connection (closing not counted)."""
    tickets: dict[Any, Any] = {}
    samples: list[float] = []
    deadline = time.monotonic() + args.max_seconds
    for attempt in range(args.connections + (kind == "h3-0rtt")):
        if time.monotonic() > deadline:
            break
        client: Client | None = None
        transport: H3Transport | None = None
        started = time.perf_counter()
        if kind == "h1":
            client = Client(url, transport="h1")
            await client.health()
        else:
            transport = H3Transport(url, 5.0, ca_file=ca, tickets=tickets)
            reply = await transport.request("GET", "/v1/health", [], {}, None)
            if reply.status != 200:
                raise BenchFailed(f"health over {kind}: {reply.status}")
        elapsed = time.perf_counter() - started
        if kind != "h3-0rtt" or attempt > 0:  # the first one only fetches a session ticket
            samples.append(elapsed)
        if client is not None:
            await client.close()
        if transport is not None:
            await transport.close()
        if kind == "h3":
            tickets.clear()
    return samples


async def sequential(url: str, kind: str, ca: str, pid: int, args: argparse.Namespace
                     ) -> dict[str, Any]:  # fmt: skip
    async with Client(url, transport=kind, ca_file=ca) as client:  # type: ignore[arg-type]
        handle = client.get_or_create("counter", ["bench-seq", kind])
        first = await handle.call("increment", 1)
        expected = [first]

        async def call() -> None:
            got = await handle.call("increment", 1)
            if got != expected[0] + 1:
                raise BenchFailed(f"{kind}: increment gave {got}, expected {expected[0] + 1}")
            expected[0] = got

        cpu_before = cpu_seconds(pid)
        samples = await timed(args.calls, args.max_seconds, call)
        cpu = cpu_seconds(pid) - cpu_before
        if client.last_transport != kind:
            raise BenchFailed(f"asked for {kind}, the client used {client.last_transport}")
        per_request_us = cpu / len(samples) * 1e6 if samples else float("nan")
        return {"latency": latency_ms(samples), "n": len(samples), "cpu_us": per_request_us}


async def websocket(url: str, kind: str, ca: str, args: argparse.Namespace) -> list[float]:
    async with Client(url, transport=kind, ca_file=ca) as client:  # type: ignore[arg-type]
        handle = client.get_or_create("counter", ["bench-ws", kind])
        async with handle.connect() as conn:
            await conn.call("increment", 1)
            return await timed(args.calls, args.max_seconds, lambda: conn.call("increment", 1))


async def deploy(url: str, work: Path) -> None:
    """Build the counter (as node_vs_floor.py does) and deploy it through the admin route."""
    wasm = await counter_wasm(work)
    async with Client(url, transport="h1", admin_token=ADMIN_TOKEN) as admin:
        await admin.deploy("counter", wasm)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="edgewise-bench-h3-") as tmp:
        work = Path(tmp)
        data = work / "data"
        config = work / "node.toml"
        config.write_text(
            f'[node]\nhost = "127.0.0.1"\nport = 0\ndata_dir = "{data}"\n'
            f'admin_token = "{ADMIN_TOKEN}"\n[actors]\nidle_timeout_s = 3600.0\n'
        )
        argv = [sys.executable, "-m", "edgewise.host.cli.main", "serve", "--config", str(config)]
        server = ServerProcess("node", argv, work / "stderr.log")
        async with server:
            await deploy(server.url, work)
            ca = str(data / "tls" / "dev-ca.pem")
            results: dict[str, Any] = {}
            for kind in ("h1", "h3"):
                print(f"  {kind}: measuring ...", file=sys.stderr, flush=True)
                results[kind] = {
                    "connect": latency_ms(await new_connections(server.url, kind, ca, args)),
                    "sequential": await sequential(server.url, kind, ca, server.pid, args),
                    "websocket": latency_ms(await websocket(server.url, kind, ca, args)),
                }
            resumed = await new_connections(server.url, "h3-0rtt", ca, args)
            results["h3"]["connect_0rtt"] = latency_ms(resumed)
    return results


def table(results: dict[str, Any]) -> str:
    h1, h3 = results["h1"], results["h3"]
    s1, s3 = h1["sequential"], h3["sequential"]
    rows = [
        ("new connection + GET, p50", "ms", h1["connect"]["p50_ms"], h3["connect"]["p50_ms"], ""),
        ("new connection + GET, p99", "ms", h1["connect"]["p99_ms"], h3["connect"]["p99_ms"], ""),
        ("resumed (0-RTT) + GET, p50", "ms", None, h3["connect_0rtt"]["p50_ms"], ""),
        ("sequential action, p50", "ms", s1["latency"]["p50_ms"], s3["latency"]["p50_ms"],
         "h3 <= 2 ms"),
        ("sequential action, p99", "ms", s1["latency"]["p99_ms"], s3["latency"]["p99_ms"], ""),
        ("WebSocket round trip, p50", "ms", h1["websocket"]["p50_ms"],
         h3["websocket"]["p50_ms"], ""),
        ("WebSocket round trip, p99", "ms", h1["websocket"]["p99_ms"],
         h3["websocket"]["p99_ms"], ""),
        ("server CPU per request", "us", s1["cpu_us"], s3["cpu_us"], "h3 <= 3x h1"),
    ]  # fmt: skip
    lines = [f"{'figure':30} {'unit':4} {'HTTP/1.1':>9} {'HTTP/3':>9}  target"]
    for name, unit, a, b, target in rows:
        left = "-" if a is None else f"{a:.3f}"
        lines.append(f"{name:30} {unit:4} {left:>9} {b:9.3f}  {target}")
    ratio = s3["cpu_us"] / s1["cpu_us"] if s1["cpu_us"] else float("nan")
    lines.append(f"server CPU per request, HTTP/3 / HTTP/1.1: {ratio:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_event_loop(run(args))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
