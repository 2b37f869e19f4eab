"""The floor: a bare aiohttp server that speaks the node's HTTP and WebSocket API for `counter`.

It answers the same routes and frames as an Edgewise node (health, PUT /v1/actors, actions by id,
gateway get-or-create + call, module upload, WebSocket connect/action/subscribe with pushed
events) from an in-memory dict: no wasm, no storage, no fsync. Whatever the node costs above this
floor is the price of Edgewise itself. Run it as ``python bench/floor_server.py --port 0``; it
prints ``Edgewise node ready at http://127.0.0.1:PORT`` once listening and stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import signal
import socket
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

import cbor2
from _common import CONTENT_TYPES, decode, encode, run_event_loop
from aiohttp import WSMsgType, web

MAX_BODY_BYTES = 1024 * 1024


class FloorError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Connection:
    conn_id: int
    ws: web.WebSocketResponse
    encoding: str
    events: set[str] = field(default_factory=set)


@dataclass
class FloorActor:
    actor_id: str
    name: str
    key: list[str]
    count: int = 0
    connections: dict[int, Connection] = field(default_factory=dict)

    def describe(self, created: bool) -> dict[str, Any]:
        return {"actor_id": self.actor_id, "name": self.name, "key": self.key, "created": created}

    def run(self, action: str, args: list[Any]) -> tuple[Any, list[tuple[str, list[Any]]]]:
        """The counter's logic: returns the output and the events to broadcast."""
        if action == "increment":
            if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
                raise FloorError(400, "user.error", "increment takes one integer")
            self.count += args[0]
            return self.count, [("newCount", [self.count])]
        if action == "get":
            return self.count, []
        raise FloorError(404, "action.unknown", f"counter has no action {action!r}")


class Floor:
    """The in-memory actor table and the counter's behaviour."""

    def __init__(self) -> None:
        self.actors: dict[str, FloorActor] = {}
        self.by_key: dict[tuple[str, tuple[str, ...]], str] = {}
        self.modules: dict[str, str] = {}
        self.next_conn = 1

    def get_or_create(self, name: str, key: list[str]) -> tuple[FloorActor, bool]:
        index = (name, tuple(key))
        actor_id = self.by_key.get(index)
        if actor_id is not None:
            return self.actors[actor_id], False
        actor = FloorActor(uuid.uuid4().hex, name, key)
        self.actors[actor.actor_id] = actor
        self.by_key[index] = actor.actor_id
        return actor, True

    def actor(self, actor_id: str) -> FloorActor:
        found = self.actors.get(actor_id)
        if found is None:
            raise FloorError(404, "actor.not_found", f"no actor {actor_id}")
        return found

    def call(self, actor: FloorActor, action: str, args: list[Any]) -> Any:
        output, events = actor.run(action, args)
        for name, event_args in events:
            for conn in actor.connections.values():
                if name in conn.events and not conn.ws.closed:
                    frame = {"t": "event", "name": name, "args": event_args}
                    asyncio.get_running_loop().create_task(_send(conn, frame))
        return output


FLOOR_KEY = web.AppKey("floor", Floor)


def _encoding_of(request: web.Request) -> str:
    return "cbor" if request.content_type == CONTENT_TYPES["cbor"] else "json"


def _reply(encoding: str, body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=encode(encoding, body), status=status, content_type=CONTENT_TYPES[encoding]
    )


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        value = decode(_encoding_of(request), raw)
    except (ValueError, cbor2.CBORDecodeError):
        raise FloorError(400, "request.malformed", "body is not valid") from None
    if not isinstance(value, dict):
        raise FloorError(400, "request.invalid", "body must be an object")
    return value


def _args(body: dict[str, Any]) -> list[Any]:
    args = body.get("args", [])
    if not isinstance(args, list):
        raise FloorError(400, "request.invalid", "args must be a list")
    return args


def _key(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(part, str) for part in raw):
        raise FloorError(400, "actor.key_invalid", "key must be a list of strings")
    return raw


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except FloorError as exc:
        body = {"error": {"code": exc.code, "message": exc.message}}
        return _reply(_encoding_of(request), body, exc.status)
    return response


async def health(request: web.Request) -> web.Response:
    floor = request.app[FLOOR_KEY]
    return _reply("json", {"ok": True, "node_id": "floor", "actors": len(floor.actors)})


async def put_actor(request: web.Request) -> web.Response:
    body = await _body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise FloorError(400, "request.invalid", "name must be a non-empty string")
    actor, created = request.app[FLOOR_KEY].get_or_create(name, _key(body.get("key")))
    return _reply(_encoding_of(request), actor.describe(created))


async def get_actor(request: web.Request) -> web.Response:
    actor = request.app[FLOOR_KEY].actor(request.match_info["actor_id"])
    info = {**actor.describe(False), "state": "active"}
    del info["created"]
    return _reply("json", info)


async def actor_action(request: web.Request) -> web.Response:
    floor = request.app[FLOOR_KEY]
    body = await _body(request)
    actor = floor.actor(request.match_info["actor_id"])
    output = floor.call(actor, request.match_info["action"], _args(body))
    return _reply(_encoding_of(request), {"output": output})


async def gateway_action(request: web.Request) -> web.Response:
    floor = request.app[FLOOR_KEY]
    body = await _body(request)
    actor, _ = floor.get_or_create(request.match_info["name"], request.query.getall("key", []))
    output = floor.call(actor, request.match_info["action"], _args(body))
    return _reply(_encoding_of(request), {"output": output})


async def deploy_module(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    wasm = await request.read()
    digest = hashlib.sha256(wasm).hexdigest()
    request.app[FLOOR_KEY].modules[name] = digest
    manifest = {
        "name": name,
        "abi_version": 1,
        "language": "floor",
        "actions": ["increment", "get"],
        "sha256": digest,
        "size_bytes": len(wasm),
    }
    return _reply("json", manifest)


async def _send(conn: Connection, frame: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError):
        opcode = WSMsgType.BINARY if conn.encoding == "cbor" else WSMsgType.TEXT
        await conn.ws.send_frame(encode(conn.encoding, frame), opcode)


def _frame(conn: Connection, data: str | bytes) -> dict[str, Any]:
    try:
        value = decode(conn.encoding, data) if isinstance(data, bytes) else json.loads(data)
    except (ValueError, cbor2.CBORDecodeError):
        raise FloorError(400, "request.malformed", "frame is not valid") from None
    if not isinstance(value, dict):
        raise FloorError(400, "request.invalid", "frame must be an object")
    return value


async def _handle_frame(
    floor: Floor, actor: FloorActor, conn: Connection, frame: dict[str, Any]
) -> None:
    kind = frame.get("t")
    if kind == "action":
        try:
            output = floor.call(actor, str(frame.get("name")), _args(frame))
        except FloorError as exc:
            err = {"t": "error", "id": frame.get("id"), "code": exc.code, "message": exc.message}
            await _send(conn, err)
            return
        await _send(conn, {"t": "result", "id": frame.get("id"), "output": output})
    elif kind == "subscribe":
        conn.events.add(str(frame.get("event")))
    elif kind == "unsubscribe":
        conn.events.discard(str(frame.get("event")))
    else:
        raise FloorError(400, "request.invalid", f"unexpected frame {kind!r}")


async def connect(request: web.Request) -> web.WebSocketResponse:
    floor = request.app[FLOOR_KEY]
    actor = floor.actor(request.match_info["actor_id"])
    encoding = request.query.get("encoding", "json")
    ws = web.WebSocketResponse(max_msg_size=MAX_BODY_BYTES)
    await ws.prepare(request)
    conn = Connection(floor.next_conn, ws, encoding)
    floor.next_conn += 1
    opened = False
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            frame = _frame(conn, msg.data)
            if not opened:
                if frame.get("t") != "connect":
                    raise FloorError(400, "request.invalid", "first frame must be connect")
                opened = True
                actor.connections[conn.conn_id] = conn
                init = {"t": "init", "actor_id": actor.actor_id, "conn_id": conn.conn_id}
                await _send(conn, init)
                continue
            await _handle_frame(floor, actor, conn, frame)
    except FloorError as exc:
        await _send(conn, {"t": "error", "code": exc.code, "message": exc.message})
    finally:
        actor.connections.pop(conn.conn_id, None)
        await ws.close()
    return ws


def create_app() -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=MAX_BODY_BYTES)
    app[FLOOR_KEY] = Floor()
    app.router.add_get("/v1/health", health)
    app.router.add_put("/v1/actors", put_actor)
    app.router.add_get("/v1/actors/{actor_id}", get_actor)
    app.router.add_post("/v1/actors/{actor_id}/actions/{action}", actor_action)
    app.router.add_get("/v1/actors/{actor_id}/connect", connect)
    app.router.add_post("/v1/gateway/{name}/actions/{action}", gateway_action)
    app.router.add_post("/v1/modules", deploy_module)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    print(f"Edgewise node ready at http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The floor server of the node benchmark.")
    parser.add_argument("--host", default="127.0.0.1", help="address (%(default)s)")
    parser.add_argument("--port", type=int, default=0, help="TCP port, 0 for any (%(default)s)")
    args = parser.parse_args(argv)
    run_event_loop(serve(args.host, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
