"""Hostile guests behind a real server: each misbehaviour gets its stable error code, the failed
turn's writes are dropped, the actor's committed state is intact, the actor works again on its
next turn, and the node keeps serving other actors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import wasmtime
from conftest import MakeNode
from edgewise.host.build import build_actor
from edgewise.host.transports.http import RunningServer, start_server

pytestmark = pytest.mark.timeout(120)

HOSTILE = Path(__file__).resolve().parents[1] / "guests" / "hostile"

# A module that satisfies the ABI but answers every turn with bytes that are not CBOR.
GARBAGE_RESULT = wasmtime.wat2wasm(
    """
    (module
      (memory (export "memory") 1)
      (data (i32.const 16) "\\ff\\fe\\fd not cbor")
      (func (export "ew_abi_v1"))
      (func (export "ew_alloc") (param i32) (result i32) (i32.const 1024))
      (func (export "ew_turn") (param i32 i32) (result i64)
        (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 12))))
    """
)
MISSING_EXPORTS = wasmtime.wat2wasm('(module (memory (export "memory") 1))')


@pytest.fixture
async def server(make_node: MakeNode, tmp_path: Path) -> AsyncIterator[RunningServer]:
    node = await make_node(limits={"max_memory_bytes": 16 * 1024 * 1024, "turn_timeout_ms": 100})
    built = build_actor(HOSTILE, tmp_path / "hostile-out")
    await node.deploy(built.wasm_path.read_bytes(), "hostile")
    await node.deploy(bytes(GARBAGE_RESULT), "garbage")
    running = await start_server(node, "127.0.0.1", 0)
    yield running
    await running.close()


async def call(
    session: aiohttp.ClientSession, url: str, name: str, action: str, *args: Any
) -> tuple[int, Any]:
    target = f"{url}/v1/gateway/{name}/actions/{action}?key=k"
    async with session.post(target, json={"args": list(args)}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("loop", "guest.timeout"),
        ("hog", "guest.out_of_memory"),
        ("recurse", "guest.trapped"),
        ("trap", "guest.trapped"),
        ("bad_pointer", "guest.bad_pointer"),
        ("huge_reply", "guest.too_large"),
    ],
)
async def test_a_misbehaving_turn_fails_alone(
    server: RunningServer, action: str, code: str
) -> None:
    async with aiohttp.ClientSession() as session:
        assert await call(session, server.url, "hostile", "set", 7) == (200, {"output": 7})
        status, body = await call(session, server.url, "hostile", action)
        assert status == 500, body
        assert body["error"]["code"] == code
        assert await call(session, server.url, "hostile", "get") == (200, {"output": 7})
        assert await call(session, server.url, "counter", "increment", 1) == (200, {"output": 1})


async def test_a_result_that_is_not_cbor_is_a_bad_result(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(
            f"{server.url}/v1/actors", json={"name": "garbage", "key": ["k"]}
        ) as response:
            body = await response.json()
        assert response.status == 500 and body["error"]["code"] == "guest.bad_result", body
        assert await call(session, server.url, "counter", "increment", 2) == (200, {"output": 2})


async def test_a_module_without_the_abi_exports_is_refused_at_deploy(
    server: RunningServer,
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{server.url}/v1/modules",
            params={"name": "empty"},
            data=bytes(MISSING_EXPORTS),
            headers={"Content-Type": "application/wasm"},
        ) as response:
            body = await response.json()
        assert response.status == 422 and body["error"]["code"] == "module.invalid", body
        assert "ew_turn" in body["error"]["message"]
        assert await call(session, server.url, "counter", "get") == (200, {"output": 0})
