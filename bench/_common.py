"""Helpers shared by the node-vs-floor benchmark: server subprocesses, wire codecs, statistics.

A `ServerProcess` starts one server (the Edgewise node or the floor server) as a child process,
waits for its single ready line on stdout (``... ready at http://127.0.0.1:PORT``), keeps draining
its output so the child never blocks on a full pipe, reads its RSS from /proc and stops it with
SIGTERM (then SIGKILL after a grace period), remembering how it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import signal
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cbor2

READY_LINE = re.compile(r"ready at (http://127\.0\.0\.1:(\d+))\s*$")
CONTENT_TYPES = {"json": "application/json", "cbor": "application/cbor"}
STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 20


class BenchFailed(Exception):
    """A server did not start, stopped early or answered wrongly: the run cannot go on."""


T = TypeVar("T")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop when it is installed (as the node does), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def encode(encoding: str, value: Any) -> bytes:
    if encoding == "cbor":
        return cbor2.dumps(value)
    return json.dumps(value, separators=(",", ":")).encode()


def decode(encoding: str, data: bytes) -> Any:
    if encoding == "cbor":
        return cbor2.loads(data)
    return json.loads(data)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    return {
        "p50_ms": percentile(ordered, 0.50) * 1000.0,
        "p99_ms": percentile(ordered, 0.99) * 1000.0,
    }


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from the VmRSS line of /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchFailed(f"no VmRSS line for pid {pid}")


@dataclass
class ServerProcess:
    """One server child process; use `async with` or call `start` then `stop`."""

    label: str
    argv: list[str]
    log_path: Path
    start_timeout_s: float = 60.0
    url: str = ""
    returncode: int | None = None
    output: list[str] = field(default_factory=list)
    _proc: asyncio.subprocess.Process | None = None
    _drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BenchFailed(f"{self.label} is not running")
        return self._proc.pid

    async def __aenter__(self) -> ServerProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        log = self.log_path.open("wb")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        finally:
            log.close()
        try:
            self.url = await asyncio.wait_for(self._await_ready(), self.start_timeout_s)
        except (TimeoutError, BenchFailed):
            await self.stop()
            raise BenchFailed(f"{self.label} did not become ready\n{self.log_tail()}") from None
        self._drain = asyncio.create_task(self._drain_stdout())

    async def _await_ready(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            raw = await self._proc.stdout.readline()
            if not raw:
                raise BenchFailed(f"{self.label} closed stdout before its ready line")
            line = raw.decode(errors="replace").rstrip()
            self.output.append(line)
            match = READY_LINE.search(line)
            if match:
                return match.group(1)

    async def _drain_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while raw := await self._proc.stdout.readline():
            self.output.append(raw.decode(errors="replace").rstrip())

    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def stop(self) -> None:
        proc = self._proc
        if proc is None or self.returncode is not None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.returncode = proc.returncode
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._drain, 2.0)

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        tail = [*self.output[-LOG_TAIL_LINES:], *lines[-LOG_TAIL_LINES:]]
        return "\n".join(f"  [{self.label}] {line}" for line in tail)
