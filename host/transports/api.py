"""The HTTP API of protocol v1, once, for every transport.

A transport turns what it received into an ``ApiRequest`` (method, path, query, lower-case
headers, a way to read the body within a limit) and hands it to ``Api.handle``. The answer is an
``ApiResponse`` (status, encoded body, content type) or, for the two connect routes, a
``SocketTarget`` (the actor and the frame codec): the transport then upgrades to a WebSocket
(HTTP/1.1 Upgrade, or extended CONNECT over HTTP/3) and runs a ``SocketHandler`` on it. Every
failure, ours or unexpected, becomes an HTTP status with ``{"error": {"code", "message"}}`` in the
request's codec. Admin routes need ``Authorization: Bearer <node.admin_token>`` when it is set.

In a cluster, a ``Router`` says where each actor lives; a request for an actor owned by another
node is forwarded there whole by the ``Forwarder`` (and so is a turn that waited while its actor
moved away: ``actor.moved``), and a WebSocket to it is proxied (``SocketTarget.forward``). A
request that a peer forwarded is never forwarded again.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgewise.host.actors import ActorInfo, Node
from edgewise.host.errors import (
    ActorMoved,
    ActorNotFound,
    EdgewiseError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)
from edgewise.host.protocol import requests as rq
from edgewise.host.protocol.codec import (
    CBOR,
    JSON,
    Codec,
    codec_for,
    decode_body,
    request_codec,
)
from edgewise.host.protocol.errors import error_body, error_status
from edgewise.host.protocol.messages import parse_name
from edgewise.regions.errors import OwnerUnreachable, RegionUnknown
from edgewise.regions.migration.protocol import (
    CHUNK_BYTES,
)
from edgewise.regions.router import Local, Router
from edgewise.regions.topology import NodeEntry

if TYPE_CHECKING:
    from edgewise.host.transports.websocket import FrameSocket
    from edgewise.regions.forward import Forwarder
    from edgewise.regions.migration.coordinator import Migrations

log = logging.getLogger("edgewise.transports")

BodyReader = Callable[[int, str], Awaitable[bytes]]
"""``read(max_bytes, what)``: the whole body, or ``RequestTooLarge`` past ``max_bytes``."""


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names in lower case
    has_body: bool
    read_body: BodyReader

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()  # more header fields (lower-case names)


@dataclass(frozen=True)
class SocketTarget:
    """Upgrade this request to a WebSocket on ``actor_id``, frames in ``codec``; with ``forward``,
    proxy it to that node (``Api.forward_socket``) instead of serving it here."""

    actor_id: str
    codec: Codec
    forward: NodeEntry | None = None


class _Forward(Exception):
    """Raised inside a route: the actor lives on ``target``; send the request there."""

    def __init__(self, target: NodeEntry, actor_id: str) -> None:
        super().__init__(actor_id)
        self.target = target
        self.actor_id = actor_id


Answer = ApiResponse | SocketTarget
Route = Callable[["Api", ApiRequest, dict[str, str]], Awaitable[Answer]]


def request_codec_of(request: ApiRequest) -> Codec:
    return request_codec(request.header("content-type"), request.header("accept"), request.has_body)


def reply(codec: Codec, value: Any, status: int = 200) -> ApiResponse:
    return ApiResponse(status, codec.encode(value), codec.content_type)


def error_reply(request: ApiRequest, exc: BaseException) -> ApiResponse:
    try:
        codec = request_codec_of(request)
    except EdgewiseError:
        codec = JSON
    return reply(codec, error_body(exc), error_status(exc))


def actor_json(info: ActorInfo) -> dict[str, Any]:
    return {
        "actor_id": info.actor_id,
        "name": info.name,
        "key": list(info.key),
        "created_ms": info.created_ms,
        "state": info.state,
    }


class Api:
    def __init__(
        self,
        node: Node,
        router: Router | None = None,
        forwarder: Forwarder | None = None,
        migrations: Migrations | None = None,
    ) -> None:
        self.node = node
        self.router = router
        self.forwarder = forwarder
        self.migrations = migrations
        self._routes = [
            (method, re.compile(_pattern(path)), route) for method, path, route in _ROUTES
        ]

    async def handle(self, request: ApiRequest) -> Answer:
        """Route and run ``request``; never raises (errors become error responses)."""
        try:
            route, params = self._match(request.method, request.path)
            try:
                return await route(self, request, params)
            except _Forward as forward:
                return await self._forward(request, forward.target, forward.actor_id)
            except ActorMoved as moved:
                target = NodeEntry("", moved.region, moved.url)
                return await self._forward(request, target, "")
        except EdgewiseError as exc:
            return error_reply(request, exc)
        except Exception as exc:
            log.exception("unexpected error on %s %s", request.method, request.path, exc_info=exc)
            return error_reply(request, exc)

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route_method, pattern, route in self._routes:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if route_method == method:
                return route, found.groupdict()
            allowed.append(route_method)
        if allowed:
            raise MethodNotAllowed(f"method not allowed; allowed: {', '.join(sorted(allowed))}")
        raise NotFound("no such route")

    # --- regions ------------------------------------------------------------------------

    def from_peer(self, request: ApiRequest) -> bool:
        return self.router is not None and self.router.is_peer(request.headers)

    async def _forward(self, request: ApiRequest, target: NodeEntry, actor_id: str) -> Answer:
        if self.forwarder is None or self.from_peer(request):
            raise OwnerUnreachable("this node does not own the actor (its directory entry moved)")
        if self.router is not None and actor_id:
            self.router.forget(actor_id)
        limit = self.node.config.limits.max_message_bytes
        return await self.forwarder.request(request, target, limit)

    async def forward_socket(
        self, request: ApiRequest, target: SocketTarget, socket: FrameSocket
    ) -> None:
        assert self.forwarder is not None and target.forward is not None
        limit = self.node.config.limits.max_message_bytes
        await self.forwarder.socket(request, target.forward, target.codec, socket, limit)

    def observe(self, request: ApiRequest, actor_id: str) -> None:
        """Tell follow-the-user where a call served here came from."""
        if self.migrations is not None and self.router is not None:
            region = request.header("edgewise-client-region") or self.router.region
            self.migrations.observe(actor_id, region)

    async def here(self, request: ApiRequest, actor_id: str) -> None:
        """Return if the actor is served by this node, else raise ``_Forward``."""
        if self.router is None:
            return
        remote = await self.router.where(actor_id)
        if remote is not None and self.from_peer(request):
            remote = await self.router.where(actor_id, fresh=True)  # it may have just arrived
            if remote is not None:
                raise OwnerUnreachable(f"actor {actor_id} is not on this node")
        if remote is not None:
            raise _Forward(remote.node, actor_id)

    async def actor_for_key(
        self,
        request: ApiRequest,
        name: str,
        key: tuple[str, ...],
        input: Any = None,
        *,
        create: bool = True,
        must_create: bool = False,
    ) -> tuple[ActorInfo, bool]:
        """Get or create the actor here, or raise ``_Forward`` to its owner."""
        if self.router is None:
            return await self.node.get_or_create(
                name, key, input, create=create, must_create=must_create
            )
        found = await self.router.actor_for_key(
            name, key, input, create=create, must_create=must_create
        )
        if isinstance(found, Local):
            return found.info, found.created
        if self.from_peer(request):
            raise OwnerUnreachable(f"actor {name} {list(key)} is not on this node")
        raise _Forward(found.node, found.actor_id)

    # --- helpers of the routes ----------------------------------------------------------

    def check_admin(self, request: ApiRequest) -> None:
        token = self.node.config.node.admin_token
        if not token:
            return
        given = request.header("authorization") or ""
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Unauthorized("this route needs Authorization: Bearer <admin token>")

    async def body(self, request: ApiRequest, codec: Codec) -> Any:
        limit = self.node.config.limits.max_message_bytes
        return decode_body(codec, await request.read_body(limit, "body"), limit)

    async def action_args(self, request: ApiRequest, codec: Codec) -> tuple[Any, ...]:
        return rq.parse_action(await self.body(request, codec)).args

    def gateway(self, request: ApiRequest, params: dict[str, str]) -> rq.GatewayRequest:
        return rq.parse_gateway(params["name"], request.query, self.node.config.limits)


def _pattern(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)


# --- routes --------------------------------------------------------------------------------


async def health(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    node = api.node
    body = {"status": "ok", "node": node.node_id, "region": node.region}
    return reply(request_codec_of(request), body)


async def _put_or_post_actor(api: Api, request: ApiRequest, must_create: bool) -> Answer:
    codec = request_codec_of(request)
    put = rq.parse_put_actor(await api.body(request, codec), api.node.config.limits)
    info, created = await api.actor_for_key(
        request, put.name, put.key, put.input, must_create=must_create
    )
    body = {"actor_id": info.actor_id, "name": info.name, "key": list(info.key), "created": created}
    return reply(codec, body, 201 if must_create else 200)


async def put_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    return await _put_or_post_actor(api, request, must_create=False)


async def post_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    return await _put_or_post_actor(api, request, must_create=True)


async def get_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    actor_id = rq.parse_actor_id(params["actor_id"])
    await api.here(request, actor_id)
    return reply(request_codec_of(request), actor_json(api.node.get(actor_id)))


async def list_actors(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    query = rq.parse_list_actors(request.query)
    infos = api.node.list(query.name, query.after, query.limit + 1)
    page = infos[: query.limit]
    next_id = page[-1].actor_id if len(infos) > query.limit else None
    body = {"actors": [actor_json(i) for i in page], "next": next_id}
    return reply(request_codec_of(request), body)


async def destroy_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    api.check_admin(request)
    actor_id = rq.parse_actor_id(params["actor_id"])
    await api.here(request, actor_id)
    info = api.node.get(actor_id)
    await api.node.destroy(actor_id)
    if api.router is not None:
        await api.router.destroyed(info.actor_id, info.name, info.key)
    return reply(request_codec_of(request), {"destroyed": True})


async def call_action(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    codec = request_codec_of(request)
    actor_id = rq.parse_actor_id(params["actor_id"])
    action = parse_name(params["action"], "action")
    await api.here(request, actor_id)
    output = await api.node.call(actor_id, action, await api.action_args(request, codec))
    api.observe(request, actor_id)
    return reply(codec, {"output": output})


async def gateway_action(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    codec = request_codec_of(request)
    gateway = api.gateway(request, params)
    action = parse_name(params["action"], "action")
    args = await api.action_args(request, codec)
    info, _ = await api.actor_for_key(request, gateway.name, gateway.key, create=gateway.create)
    output = await api.node.call(info.actor_id, action, args)
    api.observe(request, info.actor_id)
    return reply(codec, {"output": output})


async def deploy_module(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    api.check_admin(request)
    node = api.node
    deploy = rq.parse_deploy(request.query)
    wasm = await request.read_body(node.config.limits.max_module_bytes, "module")
    manifest = await node.deploy(
        wasm, deploy.name, language=deploy.language, actions=deploy.actions
    )
    return reply(JSON, manifest.to_dict())


async def list_modules(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    manifests = api.node.manifests()
    return reply(request_codec_of(request), [m.to_dict() for m in manifests])


async def migrate_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    api.check_admin(request)
    codec = request_codec_of(request)
    actor_id = rq.parse_actor_id(params["actor_id"])
    region = rq.parse_migrate(await api.body(request, codec))
    if api.migrations is None:
        raise RegionUnknown(f"this node is not part of a cluster: no region {region!r}")
    await api.here(request, actor_id)
    report = await api.migrations.migrate(actor_id, region)
    body = {
        "actor_id": report.actor_id,
        "from": report.from_region,
        "to": report.to_region,
        "node": report.to_node,
        "size_bytes": report.size_bytes,
        "elapsed_ms": round(report.elapsed_ms, 3),
        "held_ms": round(report.held_ms, 3),
    }
    return reply(codec, body)


async def migration_progress(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    actor_id = rq.parse_actor_id(params["actor_id"])
    progress = None if api.migrations is None else api.migrations.progress(actor_id)
    if progress is None:
        raise ActorNotFound(f"no migration of actor {actor_id} runs on this node")
    body = {"sent_bytes": progress.sent_bytes, "total_bytes": progress.total_bytes,
            "state": progress.state}  # fmt: skip
    return reply(request_codec_of(request), body)


async def migration_message(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    if api.migrations is None or not api.from_peer(request):
        raise Unauthorized("node-to-node route: needs the cluster secret")
    limit = api.node.config.limits.max_message_bytes + CHUNK_BYTES
    answer = await api.migrations.receive(await request.read_body(limit, "migration message"))
    return ApiResponse(200, answer or b"", CBOR.content_type)


def _socket_codec(request: ApiRequest) -> Codec:
    return codec_for(request.query.get("encoding", ["json"])[0])


async def connect_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    actor_id = rq.parse_actor_id(params["actor_id"])
    codec = _socket_codec(request)
    try:
        await api.here(request, actor_id)
    except _Forward as forward:
        return SocketTarget(actor_id, codec, forward.target)
    api.node.get(actor_id)
    return SocketTarget(actor_id, codec)


async def connect_gateway(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    gateway = api.gateway(request, params)
    codec = _socket_codec(request)
    try:
        info, _ = await api.actor_for_key(request, gateway.name, gateway.key, create=gateway.create)
    except _Forward as forward:
        return SocketTarget(forward.actor_id, codec, forward.target)
    return SocketTarget(info.actor_id, codec)


_ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("GET", "/v1/health", health),
    ("PUT", "/v1/actors", put_actor),
    ("POST", "/v1/actors", post_actor),
    ("GET", "/v1/actors", list_actors),
    ("GET", "/v1/actors/{actor_id}", get_actor),
    ("DELETE", "/v1/actors/{actor_id}", destroy_actor),
    ("POST", "/v1/actors/{actor_id}/actions/{action}", call_action),
    ("GET", "/v1/actors/{actor_id}/connect", connect_actor),
    ("POST", "/v1/gateway/{name}/actions/{action}", gateway_action),
    ("GET", "/v1/gateway/{name}/connect", connect_gateway),
    ("POST", "/v1/modules", deploy_module),
    ("GET", "/v1/modules", list_modules),
    ("POST", "/v1/actors/{actor_id}/migrate", migrate_actor),
    ("GET", "/v1/actors/{actor_id}/migration", migration_progress),
    ("POST", "/v1/internal/migrations", migration_message),
)
