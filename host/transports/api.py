"""The HTTP API of protocol v1, once, for every transport: its types and its dispatcher.

A transport turns what it received into an ``ApiRequest`` (method, path, query, lower-case
headers, a way to read the body within a limit) and hands it to ``Api.handle``. The answer is an
``ApiResponse`` (status, encoded body, content type) or, for the two connect routes, a
``SocketTarget`` (the actor and the frame codec): the transport then upgrades to a WebSocket
(HTTP/1.1 Upgrade, or extended CONNECT over HTTP/3) and runs a ``SocketHandler`` on it. Every
failure, ours or unexpected, becomes an HTTP status with ``{"error": {"code", "message"}}`` in the
request's codec. The routes themselves are in ``routes.py``; ``routes.make_api`` builds an
``Api`` with them. Admin routes need ``Authorization: Bearer <node.admin_token>`` when it is set.

In a cluster, a ``Router`` says where each actor lives; a request for an actor owned by another
node is forwarded there whole by the ``Forwarder`` (and so is a turn that waited while its actor
moved away: ``actor.moved``), and a WebSocket to it is proxied (``SocketTarget.forward``). A
request that a peer forwarded is never forwarded again.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgewise.host.actors import ActorInfo, Node
from edgewise.host.errors import (
    ActorMoved,
    EdgewiseError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)
from edgewise.host.protocol import requests as rq
from edgewise.host.protocol.codec import (
    JSON,
    Codec,
    decode_body,
    request_codec,
)
from edgewise.host.protocol.errors import error_body, error_status
from edgewise.regions.errors import OwnerUnreachable
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


class Forward(Exception):
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


class Api:
    def __init__(
        self,
        node: Node,
        routes: Sequence[tuple[str, str, Route]],
        router: Router | None = None,
        forwarder: Forwarder | None = None,
        migrations: Migrations | None = None,
    ) -> None:
        """Usually made by ``routes.make_api``, with the route table of protocol v1."""
        self.node = node
        self.router = router
        self.forwarder = forwarder
        self.migrations = migrations
        self._routes = [
            (method, re.compile(_pattern(path)), route) for method, path, route in routes
        ]

    async def handle(self, request: ApiRequest) -> Answer:
        """Route and run ``request``; never raises (errors become error responses)."""
        try:
            route, params = self._match(request.method, request.path)
            try:
                return await route(self, request, params)
            except Forward as forward:
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
        """Return if the actor is served by this node, else raise ``Forward``."""
        if self.router is None:
            return
        remote = await self.router.where(actor_id)
        if remote is not None and self.from_peer(request):
            remote = await self.router.where(actor_id, fresh=True)  # it may have just arrived
            if remote is not None:
                raise OwnerUnreachable(f"actor {actor_id} is not on this node")
        if remote is not None:
            raise Forward(remote.node, actor_id)

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
        """Get or create the actor here, or raise ``Forward`` to its owner."""
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
        raise Forward(found.node, found.actor_id)

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
