"""The Python client against a real node, over HTTP/1.1 and HTTP/3: calls, connections, events,
errors, reconnection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from edgewise.client import (
    Client,
    ClientClosed,
    ConnectionLost,
    EdgewiseClientError,
    ReconnectPolicy,
    ServerUnreachable,
)
from edgewise.host.actors import Node
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.host.transports.tls import TlsFiles

MakeNode = Callable[..., Awaitable[Node]]  # the make_node fixture of conftest.py


FAST = ReconnectPolicy(max_attempts=20, base_delay_s=0.01, max_delay_s=0.1)
WAIT_S = 5.0


def client_for(url: str, transport: str, tls: TlsFiles, **options: Any) -> Client:
    return Client(url, transport=transport, ca_file=str(tls.authority), **options)  # type: ignore[arg-type]


@pytest.fixture(params=["json", "cbor"])
async def client(
    request: pytest.FixtureRequest, server: RunningServer, transport: str, tls: TlsFiles
) -> AsyncIterator[Client]:
    async with client_for(server.url, transport, tls, encoding=request.param, reconnect=FAST) as c:
        yield c
        assert c.last_transport == transport


async def test_calls_over_http(client: Client) -> None:
    handle = client.get_or_create("counter", ["demo"])
    assert handle.actor_id is None
    assert await handle.call("increment", 5) == 5
    actor_id = await handle.resolve()
    assert await client.get(actor_id).call("get") == 5
    assert (await handle.info())["key"] == ["demo"]
    with pytest.raises(EdgewiseClientError) as info:
        await handle.call("explode")
    assert (info.value.code, info.value.status) == ("action.unknown", 404)
    with pytest.raises(EdgewiseClientError) as info:
        await client.get("0" * 32).call("get")
    assert info.value.code == "actor.not_found"


async def test_keyed_handle_follows_a_recreated_actor(client: Client) -> None:
    handle = client.get_or_create("counter", ["phoenix"])
    assert await handle.call("increment", 3) == 3
    await client.destroy(await handle.resolve())
    assert await handle.call("increment", 1) == 1


async def test_connection_events_and_calls(client: Client) -> None:
    handle = client.get_or_create("counter", ["events"])
    seen: list[int] = []
    got = asyncio.Event()

    async def on_count(count: int) -> None:
        seen.append(count)
        got.set()

    async with handle.connect() as conn:
        conn.on("newCount", on_count)
        assert await conn.call("increment", 2) == 2
        await asyncio.wait_for(got.wait(), WAIT_S)
        assert seen == [2]
        results = await asyncio.gather(*(conn.call("increment", 1) for _ in range(5)))
        assert sorted(results) == [3, 4, 5, 6, 7]
        conn.off("newCount")
        assert await conn.call("get") == 7
    with pytest.raises(ClientClosed):
        await conn.call("get")


async def test_refused_connection(client: Client) -> None:
    room = client.get_or_create("chat_room", ["lobby"])
    with pytest.raises(EdgewiseClientError) as info:
        async with room.connect({"nobody": True}):
            pass
    assert info.value.code == "connection.refused"
    async with room.connect({"user": "ann"}) as conn:
        messages: list[Any] = []
        conn.on("message", messages.append)
        await conn.call("send", "hi")
        assert await conn.call("history", 5) == [{"user": "ann", "text": "hi"}]


async def test_admin_helpers(
    make_node: MakeNode, built_examples: dict[str, Any], transport: str, tls: TlsFiles
) -> None:
    node = await make_node(node={"admin_token": "tok"})
    async with await start_server(node, "127.0.0.1", 0, tls=tls) as server:
        wasm = built_examples["counter"].wasm_path.read_bytes()
        async with client_for(server.url, transport, tls) as anonymous:
            with pytest.raises(EdgewiseClientError) as info:
                await anonymous.deploy("counter3", wasm)
            assert (info.value.code, info.value.status) == ("auth.unauthorized", 401)
        async with client_for(server.url, transport, tls, admin_token="tok") as admin:
            assert (await admin.health())["status"] == "ok"
            assert (await admin.deploy("counter3", wasm))["name"] == "counter3"
            assert "counter3" in {m["name"] for m in await admin.modules()}
            actor_id = await admin.get_or_create("counter3", ["x"]).resolve()
            page = await admin.list_actors("counter3", limit=10)
            assert [a["actor_id"] for a in page["actors"]] == [actor_id] and page["next"] is None
            assert (await admin.actor_info(actor_id))["name"] == "counter3"
            await admin.destroy(actor_id)
            with pytest.raises(EdgewiseClientError):
                await admin.actor_info(actor_id)


async def test_unreachable_server(transport: str, tls: TlsFiles) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with client_for(f"http://127.0.0.1:{port}", transport, tls, timeout_s=0.5) as client:
        with pytest.raises(ServerUnreachable):
            await client.health()


@pytest.mark.parametrize("encoding", ["json", "cbor"])
async def test_reconnects_after_the_server_restarts(
    node: Node, encoding: str, transport: str, tls: TlsFiles
) -> None:
    first = await start_server(node, "127.0.0.1", 0, tls=tls)
    port = first.port
    counts: asyncio.Queue[int] = asyncio.Queue()
    options: dict[str, Any] = {"encoding": encoding, "reconnect": FAST, "timeout_s": 2.0}
    async with client_for(first.url, transport, tls, **options) as client:
        conn = client.get_or_create("counter", ["restart"]).connect()
        async with conn:
            conn.on("newCount", counts.put_nowait)
            assert await conn.call("increment", 1) == 1
            assert await asyncio.wait_for(counts.get(), WAIT_S) == 1
            await first.close()
            second = await start_server(node, "127.0.0.1", port, tls=tls)
            try:
                assert await asyncio.wait_for(conn.call("increment", 1), WAIT_S) == 2
                assert conn.reconnects >= 1
                assert await asyncio.wait_for(counts.get(), WAIT_S) == 2
            finally:
                await second.close()


async def test_pending_calls_fail_when_the_socket_drops_and_reconnection_is_bounded() -> None:
    """A stand-in server: the first socket is dropped on its first action, later ones refused."""
    accepted: list[int] = []

    async def drop_on_action(request: web.Request) -> web.WebSocketResponse:
        if accepted:
            raise web.HTTPServiceUnavailable()
        accepted.append(1)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        await ws.send_json({"t": "init", "actor_id": "a" * 32, "conn_id": 1})
        await ws.receive()
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/v1/actors/{actor_id}/connect", drop_on_action)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    policy = ReconnectPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    try:
        client = Client(f"http://127.0.0.1:{port}", reconnect=policy)
        async with client, client.get("a" * 32).connect() as conn:
            with pytest.raises(ConnectionLost, match="dropped"):
                await asyncio.wait_for(conn.call("get"), WAIT_S)
            with pytest.raises(ConnectionLost, match=r"could not reconnect: http\.503"):
                await asyncio.wait_for(conn.call("get"), WAIT_S)
            assert conn.reconnects == 0
    finally:
        await runner.cleanup()
