"""The aiohttp application of one node: HTTP routes of protocol v1 and the WebSocket upgrades.

Handlers are thin: decode with the request's codec, validate into a request dataclass, call the
``Node``, encode the answer in the same codec. Every failure becomes an HTTP status with
``{"error": {"code", "message"}}``: our errors by their code, aiohttp's routing and size errors
by a matching code, anything else ``internal`` (logged). Admin routes need
``Authorization: Bearer <node.admin_token>`` when that token is set.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from edgewise.host.actors import ActorInfo, Node
from edgewise.host.errors import (
    EdgewiseError,
    ListenFailed,
    MethodNotAllowed,
    NotFound,
    RequestInvalid,
    RequestTooLarge,
    Unauthorized,
)
from edgewise.host.protocol import requests as rq
from edgewise.host.protocol.codec import JSON, Codec, codec_for, decode_body, request_codec
from edgewise.host.protocol.errors import error_body, error_status
from edgewise.host.protocol.messages import parse_name
from edgewise.host.transports.websocket import SocketHandler

log = logging.getLogger("edgewise.transports")

NODE = web.AppKey("edgewise_node", Node)
SOCKETS: web.AppKey[set[SocketHandler]] = web.AppKey("edgewise_sockets")
SHUTDOWN_TIMEOUT_S = 5.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _codec(request: web.Request) -> Codec:
    return request_codec(
        request.headers.get("Content-Type"),
        request.headers.get("Accept"),
        request.body_exists,
    )


def _reply(codec: Codec, value: Any, status: int = 200) -> web.Response:
    return web.Response(body=codec.encode(value), status=status, content_type=codec.content_type)


def _error_reply(request: web.Request, exc: BaseException) -> web.Response:
    try:
        codec = _codec(request)
    except EdgewiseError:
        codec = JSON
    return _reply(codec, error_body(exc), error_status(exc))


def _from_http(exc: web.HTTPException) -> EdgewiseError:
    if isinstance(exc, web.HTTPNotFound):
        return NotFound("no such route")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return MethodNotAllowed(
            f"method not allowed; allowed: {', '.join(sorted(exc.allowed_methods))}"
        )
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return RequestTooLarge("request body too large")
    return RequestInvalid(exc.reason, status=exc.status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except EdgewiseError as exc:
        return _error_reply(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_reply(request, _from_http(exc))
    except Exception as exc:
        log.exception("unexpected error on %s %s", request.method, request.path, exc_info=exc)
        return _error_reply(request, exc)


async def _read(request: web.Request, max_bytes: int, what: str) -> bytes:
    """The raw body, refused early when its announced length is past ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise RequestTooLarge(f"{what} of {request.content_length} bytes exceeds {max_bytes}")
    return await request.read()


async def _read_body(request: web.Request, codec: Codec, max_bytes: int) -> Any:
    return decode_body(codec, await _read(request, max_bytes, "body"), max_bytes)


async def _action_args(request: web.Request, codec: Codec, node: Node) -> tuple[Any, ...]:
    body = await _read_body(request, codec, node.config.limits.max_message_bytes)
    return rq.parse_action(body).args


def _query(request: web.Request) -> dict[str, list[str]]:
    """Every query parameter with all its values (a repeated one, like ``key``, listed once)."""
    query = request.query
    return {name: query.getall(name) for name in dict.fromkeys(query)}


def _check_admin(request: web.Request) -> None:
    token = request.app[NODE].config.node.admin_token
    if not token:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("this route needs Authorization: Bearer <admin token>")


def actor_json(info: ActorInfo) -> dict[str, Any]:
    return {
        "actor_id": info.actor_id,
        "name": info.name,
        "key": list(info.key),
        "created_ms": info.created_ms,
        "state": info.state,
    }


# --- handlers ------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    node = request.app[NODE]
    return _reply(_codec(request), {"status": "ok", "node": node.node_id, "region": node.region})


async def _put_or_post_actor(request: web.Request, must_create: bool) -> web.Response:
    node = request.app[NODE]
    codec = _codec(request)
    limits = node.config.limits
    put = rq.parse_put_actor(await _read_body(request, codec, limits.max_message_bytes), limits)
    info, created = await node.get_or_create(put.name, put.key, put.input, must_create=must_create)
    body = {"actor_id": info.actor_id, "name": info.name, "key": list(info.key), "created": created}
    return _reply(codec, body, 201 if must_create else 200)


async def put_actor(request: web.Request) -> web.Response:
    return await _put_or_post_actor(request, must_create=False)


async def post_actor(request: web.Request) -> web.Response:
    return await _put_or_post_actor(request, must_create=True)


async def get_actor(request: web.Request) -> web.Response:
    actor_id = rq.parse_actor_id(request.match_info["actor_id"])
    return _reply(_codec(request), actor_json(request.app[NODE].get(actor_id)))


async def list_actors(request: web.Request) -> web.Response:
    query = rq.parse_list_actors(_query(request))
    infos = request.app[NODE].list(query.name, query.after, query.limit + 1)
    page = infos[: query.limit]
    next_id = page[-1].actor_id if len(infos) > query.limit else None
    return _reply(_codec(request), {"actors": [actor_json(i) for i in page], "next": next_id})


async def destroy_actor(request: web.Request) -> web.Response:
    _check_admin(request)
    actor_id = rq.parse_actor_id(request.match_info["actor_id"])
    await request.app[NODE].destroy(actor_id)
    return _reply(_codec(request), {"destroyed": True})


async def call_action(request: web.Request) -> web.Response:
    node = request.app[NODE]
    codec = _codec(request)
    actor_id = rq.parse_actor_id(request.match_info["actor_id"])
    action = parse_name(request.match_info["action"], "action")
    output = await node.call(actor_id, action, await _action_args(request, codec, node))
    return _reply(codec, {"output": output})


def _gateway(request: web.Request, node: Node) -> rq.GatewayRequest:
    return rq.parse_gateway(request.match_info["name"], _query(request), node.config.limits)


async def gateway_action(request: web.Request) -> web.Response:
    node = request.app[NODE]
    codec = _codec(request)
    gateway = _gateway(request, node)
    action = parse_name(request.match_info["action"], "action")
    args = await _action_args(request, codec, node)
    info, _ = await node.get_or_create(gateway.name, gateway.key, create=gateway.create)
    return _reply(codec, {"output": await node.call(info.actor_id, action, args)})


async def deploy_module(request: web.Request) -> web.Response:
    _check_admin(request)
    node = request.app[NODE]
    deploy = rq.parse_deploy(_query(request))
    wasm = await _read(request, node.config.limits.max_module_bytes, "module")
    manifest = await node.deploy(
        wasm, deploy.name, language=deploy.language, actions=deploy.actions
    )
    return _reply(JSON, manifest.to_dict())


async def list_modules(request: web.Request) -> web.Response:
    manifests = request.app[NODE].manifests()
    return _reply(_codec(request), [m.to_dict() for m in manifests])


async def _serve_socket(request: web.Request, actor_id: str) -> web.StreamResponse:
    node = request.app[NODE]
    codec = codec_for(request.query.get("encoding", "json"))
    limit = node.config.limits.max_message_bytes
    ws = web.WebSocketResponse(max_msg_size=2 * limit + 1024, decode_text=False)
    await ws.prepare(request)
    handler = SocketHandler(node, actor_id, codec, ws)
    sockets = request.app[SOCKETS]
    sockets.add(handler)
    try:
        await handler.run()
    finally:
        sockets.discard(handler)
    return ws


async def connect_actor(request: web.Request) -> web.StreamResponse:
    actor_id = rq.parse_actor_id(request.match_info["actor_id"])
    request.app[NODE].get(actor_id)
    return await _serve_socket(request, actor_id)


async def connect_gateway(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    gateway = _gateway(request, node)
    info, _ = await node.get_or_create(gateway.name, gateway.key, create=gateway.create)
    return await _serve_socket(request, info.actor_id)


async def _close_sockets(app: web.Application) -> None:
    handlers: set[SocketHandler] = app[SOCKETS]
    for handler in tuple(handlers):
        handler.sink.close("node.stopping", "the node is stopping")


def create_app(node: Node) -> web.Application:
    limits = node.config.limits
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=max(limits.max_message_bytes, limits.max_module_bytes),
    )
    app[NODE] = node
    app[SOCKETS] = set()
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/v1/health", health)
    app.router.add_put("/v1/actors", put_actor)
    app.router.add_post("/v1/actors", post_actor)
    app.router.add_get("/v1/actors", list_actors)
    app.router.add_get("/v1/actors/{actor_id}", get_actor)
    app.router.add_delete("/v1/actors/{actor_id}", destroy_actor)
    app.router.add_post("/v1/actors/{actor_id}/actions/{action}", call_action)
    app.router.add_get("/v1/actors/{actor_id}/connect", connect_actor)
    app.router.add_post("/v1/gateway/{name}/actions/{action}", gateway_action)
    app.router.add_get("/v1/gateway/{name}/connect", connect_gateway)
    app.router.add_post("/v1/modules", deploy_module)
    app.router.add_get("/v1/modules", list_modules)
    return app


@dataclass
class RunningServer:
    """A started server; ``close()`` stops it (idempotent)."""

    runner: web.AppRunner
    host: str
    port: int
    _closed: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.runner.cleanup()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_server(node: Node, host: str, port: int) -> RunningServer:
    """Serve ``node`` on ``host:port`` (port 0 picks a free port)."""
    runner = web.AppRunner(create_app(node), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenFailed(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = runner.addresses[0][1]
    return RunningServer(runner=runner, host=host, port=int(bound))
