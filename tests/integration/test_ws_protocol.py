"""The WebSocket protocol of a real node on 127.0.0.1, in JSON and CBOR, over HTTP/1.1 (Upgrade)
and HTTP/3 (extended CONNECT), with hostile clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from edgewise.host.actors import Node
from edgewise.host.protocol.codec import CBOR, JSON, Codec
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.host.transports.tls import TlsFiles
from wire import SocketRefused, Wire, WireSocket, open_wire

MakeNode = Callable[..., Awaitable[Node]]  # the make_node fixture of conftest.py


class Socket:
    """One raw WebSocket speaking one encoding."""

    def __init__(self, ws: WireSocket, codec: Codec) -> None:
        self.ws = ws
        self.codec = codec

    async def send(self, **frame: Any) -> None:
        await self.send_raw(self.codec.encode(frame))

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send(data, text=self.codec is JSON)

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive()
        assert message is not None, "the socket closed"
        raw, text = message
        assert text is (self.codec is JSON), "JSON in text frames, CBOR in binary ones"
        frame: dict[str, Any] = self.codec.decode(raw, 1 << 24)
        return frame

    async def connect(self, params: Any = None) -> dict[str, Any]:
        await self.send(t="connect", params=params)
        return await self.receive()

    async def call(self, frame_id: int, name: str, *args: Any) -> dict[str, Any]:
        await self.send(t="action", id=frame_id, name=name, args=list(args))
        return await self.receive()

    async def closed(self) -> None:
        assert await self.ws.receive() is None


class Sockets:
    def __init__(self, wire: Wire, codec: Codec) -> None:
        self.wire = wire
        self.codec = codec

    async def open(self, path: str, **params: Any) -> Socket:
        query = [("encoding", self.codec.encoding), *params.get("query", [])]
        return Socket(await self.wire.websocket(path, query), self.codec)

    async def actor(self, name: str = "counter", key: str = "demo") -> str:
        body = JSON.encode({"name": name, "key": [key]})
        headers = {"Content-Type": "application/json"}
        status, _, answer = await self.wire.request("PUT", "/v1/actors", data=body, headers=headers)
        assert status == 200
        return str(JSON.decode(answer, 1 << 20)["actor_id"])


@pytest.fixture(params=["json", "cbor"])
async def sockets(
    request: pytest.FixtureRequest, server: RunningServer, transport: str, tls: TlsFiles
) -> AsyncIterator[Sockets]:
    codec = JSON if request.param == "json" else CBOR
    async with open_wire(transport, server, tls) as wire:
        yield Sockets(wire, codec)


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
    with pytest.raises(SocketRefused) as info:
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
    with pytest.raises(SocketRefused) as info:
        await sockets.open(f"/v1/actors/{'0' * 32}/connect")
    assert info.value.status == 404
    actor_id = await sockets.actor()
    with pytest.raises(SocketRefused) as info:
        await sockets.wire.websocket(f"/v1/actors/{actor_id}/connect", {"encoding": "yaml"})
    assert info.value.status == 415


async def ws_for(wire: Wire, node: Node, codec: Codec) -> Socket:
    info, _ = await node.get_or_create("counter", ("limits",))
    path = f"/v1/actors/{info.actor_id}/connect"
    return Socket(await wire.websocket(path, {"encoding": codec.encoding}), codec)


@pytest.mark.parametrize("codec", [JSON, CBOR], ids=["json", "cbor"])
async def test_connect_timeout_and_oversized_frames(
    make_node: MakeNode, codec: Codec, transport: str, tls: TlsFiles
) -> None:
    node = await make_node(actors={"connect_timeout_s": 0.2}, limits={"max_message_bytes": 1024})
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    async with server, open_wire(transport, server, tls) as wire:
        silent = await ws_for(wire, node, codec)
        timeout = await silent.receive()
        assert (timeout["t"], timeout["code"]) == ("error", "connection.connect_timeout")
        await silent.closed()
        await silent.ws.close()

        loud = await ws_for(wire, node, codec)
        assert (await loud.connect())["t"] == "init"
        await loud.send(t="action", id=1, name="increment", args=["x" * 2000])
        assert (await loud.receive())["code"] == "request.too_large"
        await loud.closed()
        await loud.ws.close()

        after = await ws_for(wire, node, codec)
        assert (await after.connect())["t"] == "init"
        assert (await after.call(1, "increment", 1))["output"] == 1
        await after.ws.close()
