"""A bounded soak of one node: mixed traffic while actors keep falling asleep and waking up.

Starts `edgewise dev` on the counter example with a short idle timeout, then runs, for
`--seconds`, HTTP increments through the gateway, WebSocket clients that connect, subscribe,
increment and leave, and `increment_later` alarms, all on a small set of keys so that every turn
kind meets sleep and wake. Afterwards it waits for the last alarms, reads every count and checks
it against what the node acknowledged. Prints operations per second, errors by code, count
mismatches, tracebacks in the node's log and the node's RSS. Traffic goes to 127.0.0.1 only.

    .venv/bin/python bench/soak.py --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
from _common import ServerProcess, rss_kib

REPO = Path(__file__).resolve().parents[1]
MAX_ALARM_DELAY_MS = 300


class Soak:
    def __init__(self, url: str, keys: int, deadline: float) -> None:
        self.url = url
        self.keys = [f"soak{i}" for i in range(keys)]
        self.deadline = deadline
        self.expected: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def key(self) -> str:
        return random.choice(self.keys)

    async def call(
        self, session: aiohttp.ClientSession, key: str, action: str, *args: int
    ) -> object:
        target = f"{self.url}/v1/gateway/counter/actions/{action}"
        async with session.post(target, params={"key": key}, json={"args": list(args)}) as reply:
            body = await reply.json()
        if reply.status != 200:
            self.errors[body.get("error", {}).get("code", str(reply.status))] += 1
            return None
        return body["output"]

    async def http_worker(self, session: aiohttp.ClientSession) -> None:
        for _ in range(10_000_000):
            if time.monotonic() > self.deadline:
                return
            key = self.key()
            if await self.call(session, key, "increment", 1) is not None:
                self.expected[key] += 1
                self.ops["http increment"] += 1

    async def alarm_worker(self, session: aiohttp.ClientSession) -> None:
        for _ in range(10_000_000):
            if time.monotonic() > self.deadline:
                return
            key = self.key()
            delay = random.randint(10, MAX_ALARM_DELAY_MS)
            if await self.call(session, key, "increment_later", delay, 1) is not None:
                self.expected[key] += 1
                self.ops["alarm set"] += 1
            await asyncio.sleep(0.01)

    async def ws_worker(self, session: aiohttp.ClientSession) -> None:
        for _ in range(10_000_000):
            if time.monotonic() > self.deadline:
                return
            try:
                await self.ws_session(session, self.key())
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.errors[f"websocket: {type(exc).__name__}"] += 1

    async def ws_session(self, session: aiohttp.ClientSession, key: str) -> None:
        url = f"{self.url}/v1/gateway/counter/connect"
        async with session.ws_connect(url, params={"key": key, "encoding": "json"}) as ws:
            await ws.send_json({"t": "connect", "params": None})
            if (await ws.receive_json(timeout=10))["t"] != "init":
                self.errors["websocket: refused"] += 1
                return
            await ws.send_json({"t": "subscribe", "event": "newCount"})
            for frame_id in range(random.randint(1, 20)):
                action = {"t": "action", "id": frame_id, "name": "increment", "args": [1]}
                await ws.send_json(action)
                for _ in range(100):
                    frame = await ws.receive_json(timeout=10)
                    if frame["t"] == "result" and frame["id"] == frame_id:
                        self.expected[key] += 1
                        self.ops["ws increment"] += 1
                        break
                    if frame["t"] == "error":
                        self.errors[frame["code"]] += 1
                        break
            self.ops["ws session"] += 1
            await asyncio.sleep(random.random() * 0.5)  # long enough, at times, to sleep

    async def verify(self, session: aiohttp.ClientSession) -> dict[str, int]:
        """Every key's count minus what was acknowledged: 0 when nothing was lost or doubled."""
        await asyncio.sleep(MAX_ALARM_DELAY_MS / 1000 + 2.0)
        diffs: dict[str, int] = {}
        for key in self.keys:
            count = await self.call(session, key, "get")
            if isinstance(count, int) and count != self.expected[key]:
                diffs[key] = count - self.expected[key]
        return diffs


async def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="edgewise-soak-"))
    argv = [
        sys.executable, "-m", "edgewise.host.cli.main", "dev", "--port", "0",
        "--data-dir", str(work / "data"), "--idle-timeout-s", str(args.idle_timeout_s),
        str(REPO / "examples" / "counter"),
    ]  # fmt: skip
    async with ServerProcess("node", argv, work / "node.log") as node:
        soak = Soak(node.url, args.keys, time.monotonic() + args.seconds)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            started = time.monotonic()
            workers = [soak.http_worker(session) for _ in range(args.http_workers)]
            workers += [soak.ws_worker(session) for _ in range(args.ws_workers)]
            workers += [soak.alarm_worker(session) for _ in range(args.alarm_workers)]
            await asyncio.gather(*workers)
            elapsed = time.monotonic() - started
            diffs = await soak.verify(session)
            rss = rss_kib(node.pid)
    log = (work / "node.log").read_text(errors="replace")
    return {
        "seconds": round(elapsed, 1),
        "ops_per_s": {name: round(n / elapsed) for name, n in sorted(soak.ops.items())},
        "errors": dict(soak.errors),
        "count_mismatches": diffs,
        "tracebacks_in_log": log.count("Traceback"),
        "node_rss_kib": rss,
        "node_exit": node.returncode,
        "log": str(work / "node.log"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--idle-timeout-s", type=float, default=0.3)
    parser.add_argument("--http-workers", type=int, default=8)
    parser.add_argument("--ws-workers", type=int, default=8)
    parser.add_argument("--alarm-workers", type=int, default=2)
    report = asyncio.run(run(parser.parse_args(argv)))
    print(json.dumps(report, indent=2))
    clean = not report["count_mismatches"] and not report["tracebacks_in_log"]
    return 0 if clean and report["node_exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
