"""Smoke tests of bench/: the floor server answers the node's API, the benchmark prints figures.

No timing is asserted: these tests only keep the benchmark code from rotting (a quick run against
the floor must produce every figure without errors) and check the floor's answers to bad input.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
READY = re.compile(r"^Edgewise node ready at (http://127\.0\.0\.1:\d+)$")
FIGURE_KEYS = {
    "a": "p50_ms",
    "b": "rate_per_s",
    "c": "rate_per_s",
    "d": "p50_ms",
    "e": "kib_per_actor",
}


async def _run_bench(
    *flags: str, script: str = "node_vs_floor.py", timeout_s: float = 60
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH / script),
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def floor_url() -> AsyncIterator[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH / "floor_server.py"),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        match = READY.match(line)
        assert match, line
        yield match.group(1)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.timeout(90)
async def test_quick_floor_only_run_prints_every_figure(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    code, out, err = await _run_bench("--quick", "--floor-only", "--json", str(out_json))
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    floor = doc["results"]["floor"]
    for scenario, key in FIGURE_KEYS.items():
        assert isinstance(floor[scenario][key], float), (scenario, floor[scenario])
        assert floor[scenario]["errors"] == 0, floor[scenario]["error_messages"]
    assert all(row["floor"] is not None for row in doc["rows"])
    assert all(row["node"] is None for row in doc["rows"])
    for row in doc["rows"]:
        assert row["figure"] in out
    assert floor["b"]["events"] > 0


@pytest.mark.timeout(90)
async def test_quick_cbor_run_measures_the_chosen_figures(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    flags = ("--quick", "--floor-only", "--encoding", "cbor", "--only", "ab")
    code, _, err = await _run_bench(*flags, "--json", str(out_json))
    assert code == 0, err
    floor = json.loads(out_json.read_text())["results"]["floor"]
    assert set(floor) == {"a", "b", "exit_code"}
    assert floor["a"]["calls"] == 50
    assert floor["b"]["errors"] == 0
    assert floor["exit_code"] == 0


async def test_bad_flag_is_refused() -> None:
    code, _, err = await _run_bench("--encoding", "xml")
    assert code == 2
    assert "--encoding" in err


async def test_floor_answers_the_counter_api(floor_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(
            f"{floor_url}/v1/actors", json={"name": "counter", "key": ["k"]}
        ) as resp:
            created = await resp.json()
        assert created["created"] is True
        url = f"{floor_url}/v1/gateway/counter/actions/increment"
        async with session.post(url, params={"key": "k"}, json={"args": [5]}) as resp:
            assert (await resp.json()) == {"output": 5}
        ws_url = f"{floor_url}/v1/actors/{created['actor_id']}/connect".replace("http", "ws")
        async with session.ws_connect(ws_url, params={"encoding": "json"}) as ws:
            await ws.send_json({"t": "connect", "params": None})
            assert (await ws.receive_json(timeout=5))["t"] == "init"
            await ws.send_json({"t": "subscribe", "event": "newCount"})
            await ws.send_json({"t": "action", "id": 1, "name": "increment", "args": [1]})
            frames = [await ws.receive_json(timeout=5) for _ in range(2)]
        assert {"t": "result", "id": 1, "output": 6} in frames
        assert {"t": "event", "name": "newCount", "args": [6]} in frames


async def test_floor_refuses_bad_input(floor_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Content-Type": "application/json"}
        async with session.put(
            f"{floor_url}/v1/actors", data=b"{not json", headers=headers
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["code"] == "request.malformed"
        url = f"{floor_url}/v1/gateway/counter/actions/explode"
        async with session.post(url, params={"key": "k"}, json={"args": []}) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "action.unknown"
        async with session.post(f"{floor_url}/v1/actors/nope/actions/get", json={}) as resp:
            assert (await resp.json())["error"]["code"] == "actor.not_found"
        async with session.put(
            f"{floor_url}/v1/actors", json={"name": "counter", "key": ["w"]}
        ) as resp:
            actor_id = (await resp.json())["actor_id"]
        ws_url = f"{floor_url}/v1/actors/{actor_id}/connect".replace("http", "ws")
        async with session.ws_connect(ws_url) as ws:
            await ws.send_json({"t": "action", "id": 1, "name": "get", "args": []})
            frame = await ws.receive_json(timeout=5)
        assert frame["t"] == "error"
        assert frame["code"] == "request.invalid"


def test_a_short_soak_of_a_real_node_runs_clean() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / "soak.py"), "--seconds", "2", "--keys", "5",
         "--http-workers", "2", "--ws-workers", "2", "--alarm-workers", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == {} and report["count_mismatches"] == {}
    assert report["ops_per_s"]["http increment"] > 0 and report["ops_per_s"]["ws session"] > 0


@pytest.mark.timeout(120)
async def test_quick_http3_run_prints_both_transports() -> None:
    code, table, err = await _run_bench("--quick", script="h3_vs_h1.py", timeout_s=100)
    assert code == 0, err
    for figure in ("new connection + GET", "sequential action", "WebSocket round trip",
                   "server CPU per request"):  # fmt: skip
        assert figure in table
    assert "HTTP/3 / HTTP/1.1" in table


@pytest.mark.timeout(150)
async def test_quick_regions_run_prints_every_figure() -> None:
    code, table, err = await _run_bench("--quick", script="regions_migration.py", timeout_s=140)
    assert code == 0, err[-2000:]
    for figure in ("migration, 1 KiB state", "turns held", "before follow-the-user",
                   "the actor followed its user"):  # fmt: skip
        assert figure in table


@pytest.mark.timeout(300)
async def test_quick_python_run_prints_both_counters() -> None:
    code, table, err = await _run_bench("--quick", script="python_vs_c.py", timeout_s=280)
    assert code == 0, err[-2000:]
    for figure in ("wake of a sleeping actor, p50", "sequential action, p50",
                   "memory per active actor (RSS)"):  # fmt: skip
        assert figure in table
    assert "C counter" in table and "Python counter" in table
