"""Hostile guests behind a real server: each misbehaviour gets its stable error code, the failed
turn's writes are dropped, the actor's committed state is intact, the actor works again on its
next turn, and the node keeps serving other actors. Over HTTP/1.1 and HTTP/3."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import wasmtime
from conftest import MakeNode
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.host.transports.tls import TlsFiles
from wire import Wire, open_wire

pytestmark = pytest.mark.timeout(120)


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
async def server(
    make_node: MakeNode, guest_builds: dict[str, bytes], tls: TlsFiles
) -> AsyncIterator[RunningServer]:
    node = await make_node(limits={"max_memory_bytes": 32 * 1024 * 1024, "turn_timeout_ms": 100})
    for name in ("hostile", "hostile_py"):
        await node.deploy(guest_builds[name], name)
    await node.deploy(bytes(GARBAGE_RESULT), "garbage")
    running = await start_server(node, "127.0.0.1", 0, tls=tls)
    yield running
    await running.close()


@pytest.fixture
async def wire(server: RunningServer, transport: str, tls: TlsFiles) -> AsyncIterator[Wire]:
    async with open_wire(transport, server, tls) as opened:
        yield opened


async def send(wire: Wire, method: str, path: str, body: Any, **options: Any) -> tuple[int, Any]:
    headers = options.pop("headers", {"Content-Type": "application/json"})
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, _, answer = await wire.request(method, path, data=data, headers=headers, **options)
    return status, json.loads(answer)


async def call(wire: Wire, name: str, action: str, *args: Any) -> tuple[int, Any]:
    path = f"/v1/gateway/{name}/actions/{action}"
    return await send(wire, "POST", path, {"args": list(args)}, params=[("key", "k")])


@pytest.mark.parametrize(
    ("guest", "action", "code"),
    [
        ("hostile", "loop", "guest.timeout"),
        ("hostile", "hog", "guest.out_of_memory"),
        ("hostile", "recurse", "guest.trapped"),
        ("hostile", "trap", "guest.trapped"),
        ("hostile", "bad_pointer", "guest.bad_pointer"),
        ("hostile", "huge_reply", "guest.too_large"),
        ("hostile_py", "loop", "guest.timeout"),
        ("hostile_py", "hog", "guest.out_of_memory"),
        ("hostile_py", "recurse", "guest.trapped"),
        ("hostile_py", "raise", "guest.trapped"),
        ("hostile_py", "huge_reply", "guest.too_large"),
    ],
)
async def test_a_misbehaving_turn_fails_alone(
    wire: Wire, guest: str, action: str, code: str
) -> None:
    assert await call(wire, guest, "set", 7) == (200, {"output": 7})
    status, body = await call(wire, guest, action)
    assert status == 500, body
    assert body["error"]["code"] == code
    assert await call(wire, guest, "get") == (200, {"output": 7})
    assert await call(wire, "counter", "increment", 1) == (200, {"output": 1})


async def test_a_result_that_is_not_cbor_is_a_bad_result(wire: Wire) -> None:
    status, body = await send(wire, "PUT", "/v1/actors", {"name": "garbage", "key": ["k"]})
    assert status == 500 and body["error"]["code"] == "guest.bad_result", body
    assert await call(wire, "counter", "increment", 2) == (200, {"output": 2})


async def test_a_module_without_the_abi_exports_is_refused_at_deploy(wire: Wire) -> None:
    status, body = await send(
        wire, "POST", "/v1/modules", bytes(MISSING_EXPORTS),
        headers={"Content-Type": "application/wasm"}, params=[("name", "empty")],
    )  # fmt: skip
    assert status == 422 and body["error"]["code"] == "module.invalid", body
    assert "ew_turn" in body["error"]["message"]
    assert await call(wire, "counter", "get") == (200, {"output": 0})
