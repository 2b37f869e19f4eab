"""The WebSocket protocol of a real node on 127.0.0.1, in JSON and CBOR, with hostile clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from edgewise.host.actors import Node
from edgewise.host.protocol.codec import CBOR, JSON, Codec
from edgewise.host.transports.http import RunningServer, start_server

MakeNode = Callable[..., Awaitable[Node]]  # the make_node fixture of conftest.py


RECEIVE_TIMEOUT_S = 5.0


class Socket:
    """One raw WebSocket speaking one encoding."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, codec: Codec) -> None:
        self.ws = ws
        self.codec = codec

    async def send(self, **frame: Any) -> None:
        await self.send_raw(self.codec.encode(frame))

    async def send_raw(self, data: bytes) -> None:
        if self.codec is JSON:
            await self.ws.send_str(data.decode("utf-8", "replace"))
        else:
            await self.ws.send_bytes(data)

    async def receive(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=RECEIVE_TIMEOUT_S)
        expected = aiohttp.WSMsgType.TEXT if self.codec is JSON else aiohttp.WSMsgType.BINARY
        assert msg.type is expected, msg
        raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
        frame: dict[str, Any] = self.codec.decode(raw, 1 << 24)
        return frame

    async def connect(self, params: Any = None) -> dict[str, Any]:
        await self.send(t="connect", params=params)
        return await self.receive()

    async def call(self, frame_id: int, name: str, *args: Any) -> dict[str, Any]:
        await self.send(t="action", id=frame_id, name=name, args=list(args))
        return await self.receive()

    async def closed(self) -> None:
        msg = await self.ws.receive(timeout=RECEIVE_TIMEOUT_S)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg


class Sockets:
    def __init__(self, http: aiohttp.ClientSession, url: str, codec: Codec) -> None:
        self.http = http
        self.url = url
        self.codec = codec

    async def open(self, path: str, **params: Any) -> Socket:
        query = [("encoding", self.codec.encoding), *params.get("query", [])]
        ws = await self.http.ws_connect(self.url + path, params=query, max_msg_size=1 << 24)
        return Socket(ws, self.codec)

    async def actor(self, name: str = "counter", key: str = "demo") -> str:
        async with self.http.put(self.url + "/v1/actors", json={"name": name, "key": [key]}) as r:
            assert r.status == 200
            return str((await r.json())["actor_id"])


@pytest.fixture(params=["json", "cbor"])
async def sockets(request: pytest.FixtureRequest, server: RunningServer) -> AsyncIterator[Sockets]:
    codec = JSON if request.param == "json" else CBOR
    async with aiohttp.ClientSession() as http:
        yield Sockets(http, server.url, codec)


async def test_connect_call_and_events_reach_subscribers_only(sockets: Sockets) -> None:
    actor_id = await sockets.actor()
    path = f"/v1/actors/{actor_id}/connect"
    listener, bystander = await sockets.open(path), await sockets.open(path)
    init = await listener.connect()
    assert init["t"] == "init" and init["actor_id"] == actor_id and isinstance(init["conn_id"], int)
    assert (await bystander.connect())["t"] == "init"
    await listener.send(t="subscribe", event="newCount")
    assert await bystander.call(1, "increment", 4) == {"t": "result", "id": 1, "output": 4}
    assert await listener.receive() == {"t": "event", "name": "newCount", "args": [4]}
    assert await listener.call(2, "get") == {"t": "result", "id": 2, "output": 4}
    await listener.send(t="unsubscribe", event="newCount")
    assert (await bystander.call(3, "increment", 1))["output"] == 5
    assert await listener.call(4, "get") == {"t": "result", "id": 4, "output": 5}
    await listener.ws.close()
    await bystander.ws.close()


async def test_concurrent_actions_answer_by_id(sockets: Sockets) -> None:
    socket = await sockets.open(f"/v1/actors/{await sockets.actor()}/connect")
    await socket.connect()
    for frame_id in range(10):
        await socket.send(t="action", id=f"c{frame_id}", name="increment", args=[1])
    answers = [await socket.receive() for _ in range(10)]
    assert {a["id"] for a in answers} == {f"c{i}" for i in range(10)}
    assert sorted(a["output"] for a in answers) == list(range(1, 11))
    await socket.ws.close()


async def test_gateway_connect(sockets: Sockets) -> None:
    socket = await sockets.open("/v1/gateway/chat_room/connect", query=[("key", "lobby")])
    assert (await socket.connect({"user": "ann"}))["t"] == "init"
    await socket.send(t="subscribe", event="message")
    await socket.send(t="action", id=1, name="send", args=["hello"])
    frames = {frame["t"]: frame for frame in [await socket.receive(), await socket.receive()]}
    assert frames["result"]["id"] == 1
    message = {"user": "ann", "text": "hello"}
    assert frames["event"] == {"t": "event", "name": "message", "args": [message]}
    history = await socket.call(2, "history", 10)
    assert history["output"] == [message]
    await socket.ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sockets.open("/v1/gateway/chat_room/connect",
                           query=[("key", "empty"), ("create", "false")])  # fmt: skip
    assert info.value.status == 404


@pytest.mark.parametrize("params", [None, {}, {"user": ""}, {"user": 5}])
async def test_chat_room_refuses_without_user(sockets: Sockets, params: Any) -> None:
    socket = await sockets.open(f"/v1/actors/{await sockets.actor('chat_room')}/connect")
    answer = await socket.connect(params)
    assert (answer["t"], answer["code"]) == ("error", "connection.refused")
    await socket.closed()


async def test_hostile_frames(sockets: Sockets) -> None:
    actor_id = await sockets.actor()
    socket = await sockets.open(f"/v1/actors/{actor_id}/connect")
    early = await socket.call(1, "get")
    assert (early["t"], early["id"], early["code"]) == ("error", 1, "connection.not_open")
    await socket.connect()
    await socket.send_raw(b"\xff\x00{[")
    assert (await socket.receive())["code"] == "request.malformed"
    await socket.send(t="action", id=5, name="get", args="nope")
    assert await socket.receive() == {
        "t": "error", "id": 5, "code": "request.invalid",
        "message": "action frame: args must be a list",
    }  # fmt: skip
    await socket.send(t="teleport")
    assert (await socket.receive())["code"] == "request.invalid"
    unknown = await socket.call(6, "explode")
    assert (unknown["id"], unknown["code"]) == (6, "action.unknown")
    second = await socket.connect()
    assert second["code"] == "connection.not_open"
    assert await socket.call(7, "increment", 2) == {"t": "result", "id": 7, "output": 2}
    await socket.ws.close()


async def test_unknown_actor_and_bad_encoding_are_refused_before_upgrade(sockets: Sockets) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await sockets.open(f"/v1/actors/{'0' * 32}/connect")
    assert info.value.status == 404
    actor_id = await sockets.actor()
    async with sockets.http.get(
        f"{sockets.url}/v1/actors/{actor_id}/connect", params={"encoding": "yaml"}
    ) as response:
        assert response.status == 415


async def ws_for(http: aiohttp.ClientSession, server: RunningServer, node: Node, codec: Codec
                 ) -> Socket:  # fmt: skip
    info, _ = await node.get_or_create("counter", ("limits",))
    url = f"{server.url}/v1/actors/{info.actor_id}/connect"
    ws = await http.ws_connect(url, params={"encoding": codec.encoding}, max_msg_size=1 << 24)
    return Socket(ws, codec)


@pytest.mark.parametrize("codec", [JSON, CBOR], ids=["json", "cbor"])
async def test_connect_timeout_and_oversized_frames(make_node: MakeNode, codec: Codec) -> None:
    node = await make_node(actors={"connect_timeout_s": 0.2}, limits={"max_message_bytes": 1024})
    server = await start_server(node, "127.0.0.1", 0)
    async with server, aiohttp.ClientSession() as http:
        silent = await ws_for(http, server, node, codec)
        timeout = await silent.receive()
        assert (timeout["t"], timeout["code"]) == ("error", "connection.connect_timeout")
        await silent.closed()
        await silent.ws.close()

        loud = await ws_for(http, server, node, codec)
        assert (await loud.connect())["t"] == "init"
        await loud.send(t="action", id=1, name="increment", args=["x" * 2000])
        assert (await loud.receive())["code"] == "request.too_large"
        await loud.closed()
        await loud.ws.close()

        after = await ws_for(http, server, node, codec)
        assert (await after.connect())["t"] == "init"
        assert (await after.call(1, "increment", 1))["output"] == 1
        await after.ws.close()
