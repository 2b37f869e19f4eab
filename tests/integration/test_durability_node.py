"""State survives a clean restart and a kill -9 of a real node process; no acknowledged increment
is lost under concurrent load with a kill -9 in the middle."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import aiohttp
import pytest
from node_process import NodeProcess

REPO = Path(__file__).resolve().parents[2]
LOAD_CLIENTS = 16
LOAD_SECONDS = 1.5


@pytest.fixture
def counter_dir(tmp_path: Path) -> Path:
    target = tmp_path / "counter"
    shutil.copytree(REPO / "examples" / "counter", target, ignore=shutil.ignore_patterns("out"))
    return target


def start_node(counter_dir: Path, data_dir: Path, log: Path) -> NodeProcess:
    return NodeProcess.start(
        ["dev", "--port", "0", "--data-dir", str(data_dir), str(counter_dir)], log
    )


async def call(session: aiohttp.ClientSession, url: str, action: str, *args: object) -> object:
    async with session.post(
        f"{url}/v1/gateway/counter/actions/{action}",
        params={"key": "durable"},
        json={"args": list(args)},
    ) as response:
        body = await response.json()
        assert response.status == 200, body
        return body["output"]


async def get_count(url: str) -> int:
    async with aiohttp.ClientSession() as session:
        value = await call(session, url, "get")
    assert isinstance(value, int)
    return value


def test_state_survives_clean_restart(counter_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    node = start_node(counter_dir, data, tmp_path / "a.log")
    try:

        async def increments() -> object:
            async with aiohttp.ClientSession() as session:
                for _ in range(5):
                    last = await call(session, node.url, "increment", 3)
                return last

        assert asyncio.run(increments()) == 15
    finally:
        assert node.stop() == 0, node.output
    node = start_node(counter_dir, data, tmp_path / "b.log")
    try:
        assert asyncio.run(get_count(node.url)) == 15
    finally:
        node.stop()


def test_no_acknowledged_increment_lost_to_kill_9(counter_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    node = start_node(counter_dir, data, tmp_path / "a.log")
    acknowledged = 0
    attempted = 0

    async def client(session: aiohttp.ClientSession, deadline: float) -> None:
        nonlocal acknowledged, attempted
        for _ in range(100_000):
            if time.monotonic() > deadline:
                return
            attempted += 1
            try:
                await call(session, node.url, "increment", 1)
            except (aiohttp.ClientError, AssertionError):
                return
            acknowledged += 1

    async def load() -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await call(session, node.url, "get")
            deadline = time.monotonic() + 30
            tasks = [asyncio.create_task(client(session, deadline)) for _ in range(LOAD_CLIENTS)]
            await asyncio.sleep(LOAD_SECONDS)
            node.kill()
            await asyncio.wait_for(asyncio.gather(*tasks), 20)

    asyncio.run(load())
    assert acknowledged > 0, node.output
    node = start_node(counter_dir, data, tmp_path / "b.log")
    try:
        count = asyncio.run(get_count(node.url))
    finally:
        node.stop()
    assert acknowledged <= count <= attempted, (acknowledged, count, attempted)
