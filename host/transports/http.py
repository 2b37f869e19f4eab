"""HTTP/1.1 and WebSocket with aiohttp: a thin adapter around the transport-neutral ``Api``.

Every request goes to one catch-all handler that wraps it in an ``ApiRequest`` and writes the
``ApiResponse`` back; a ``SocketTarget`` answer upgrades the request to a WebSocket run by a
``SocketHandler`` over ``AiohttpSocket``. When the node also serves HTTP/3, every response
carries ``Alt-Svc: h3=":PORT"``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web
from edgewise.host.actors import Node
from edgewise.host.errors import ListenFailed, RequestInvalid, RequestTooLarge
from edgewise.host.transports.api import Api, ApiRequest, ApiResponse, SocketTarget, error_reply
from edgewise.host.transports.h3 import H3Server, start_h3_server
from edgewise.host.transports.routes import make_api
from edgewise.host.transports.tls import TlsFiles
from edgewise.host.transports.websocket import SocketHandler

log = logging.getLogger("edgewise.transports")


@dataclass
class AltSvc:
    """The ``Alt-Svc`` header value, set once HTTP/3 listens (empty: no header)."""

    value: str = ""


API = web.AppKey("edgewise_api", Api)
ALT_SVC = web.AppKey("edgewise_alt_svc", AltSvc)
SOCKETS: web.AppKey[set[SocketHandler]] = web.AppKey("edgewise_sockets")
SHUTDOWN_TIMEOUT_S = 5.0
_CLOSED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


class AiohttpSocket:
    """aiohttp's server WebSocket as a ``FrameSocket``."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def receive(self, timeout: float | None) -> bytes | None:
        while True:
            msg = await self._ws.receive(timeout=timeout)
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                return msg.data if isinstance(msg.data, bytes) else msg.data.encode("utf-8")
            if msg.type in _CLOSED:
                return None

    async def send(self, data: bytes, text: bool) -> None:
        await self._ws.send_frame(data, WSMsgType.TEXT if text else WSMsgType.BINARY)

    async def close(self, code: int, reason: bytes) -> None:
        await self._ws.close(code=code, message=reason)


def _api_request(request: web.Request) -> ApiRequest:
    query = request.query

    async def read_body(max_bytes: int, what: str) -> bytes:
        length = request.content_length
        if length is not None and length > max_bytes:
            raise RequestTooLarge(f"{what} of {length} bytes exceeds {max_bytes}")
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise RequestTooLarge(f"{what} exceeds {max_bytes} bytes") from None
        if len(data) > max_bytes:
            raise RequestTooLarge(f"{what} of {len(data)} bytes exceeds {max_bytes}")
        return data

    return ApiRequest(
        method=request.method,
        path=request.path,
        query={name: query.getall(name) for name in dict.fromkeys(query)},
        headers={name.lower(): value for name, value in request.headers.items()},
        has_body=request.body_exists,
        read_body=read_body,
    )


async def handle(request: web.Request) -> web.StreamResponse:
    api_request = _api_request(request)
    answer = await request.app[API].handle(api_request)
    if isinstance(answer, SocketTarget):
        return await _serve_socket(request, api_request, answer)
    return _response(request, answer)


def _response(request: web.Request, answer: ApiResponse) -> web.Response:
    response = web.Response(body=answer.body, status=answer.status, headers=answer.headers)
    response.content_type = answer.content_type
    alt_svc = request.app[ALT_SVC].value
    if alt_svc:
        response.headers["Alt-Svc"] = alt_svc
    return response


async def _serve_socket(
    request: web.Request, api_request: ApiRequest, target: SocketTarget
) -> web.StreamResponse:
    api = request.app[API]
    limit = api.node.config.limits.max_message_bytes
    ws = web.WebSocketResponse(max_msg_size=2 * limit + 1024, decode_text=False)
    if not ws.can_prepare(request).ok:
        refusal = RequestInvalid("this route needs a WebSocket upgrade")
        return _response(request, error_reply(api_request, refusal))
    await ws.prepare(request)
    if target.forward is not None:
        await api.forward_socket(api_request, target, AiohttpSocket(ws))
        return ws
    handler = SocketHandler(api.node, target.actor_id, target.codec, AiohttpSocket(ws))
    sockets = request.app[SOCKETS]
    sockets.add(handler)
    try:
        await handler.run()
    finally:
        sockets.discard(handler)
    return ws


async def _close_sockets(app: web.Application) -> None:
    handlers: set[SocketHandler] = app[SOCKETS]
    for handler in tuple(handlers):
        handler.sink.close("node.stopping", "the node is stopping")


def create_app(node: Node, api: Api | None = None) -> web.Application:
    limits = node.config.limits
    app = web.Application(client_max_size=max(limits.max_message_bytes, limits.max_module_bytes))
    app[API] = api or make_api(node)
    app[ALT_SVC] = AltSvc()
    app[SOCKETS] = set()
    app.on_shutdown.append(_close_sockets)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@dataclass
class RunningServer:
    """A started server (HTTP/1.1, and HTTP/3 when asked); ``close()`` stops it (idempotent)."""

    runner: web.AppRunner
    host: str
    port: int
    h3: H3Server | None = None
    _closed: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.h3 is not None:
                await self.h3.close()
            await self.runner.cleanup()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_server(
    node: Node, host: str, port: int, *, tls: TlsFiles | None = None, api: Api | None = None
) -> RunningServer:
    """Serve ``node`` on TCP ``host:port`` (port 0 picks a free port) and, given ``tls`` and
    ``[http3] enabled``, HTTP/3 on the same port number over UDP. ``api`` (default
    ``make_api(node)``) is where a cluster node brings its router and forwarder."""
    app = create_app(node, api)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenFailed(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    running = RunningServer(runner=runner, host=host, port=int(runner.addresses[0][1]))
    if tls is not None and node.config.http3.enabled:
        try:
            running.h3 = await start_h3_server(app[API], host, running.port, node.config.http3, tls)
        except BaseException:
            await running.close()
            raise
        app[ALT_SVC].value = f'h3=":{running.port}"'
    return running
