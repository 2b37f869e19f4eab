"""HTTP/3 with aioquic: the same ``Api`` and WebSocket protocol as HTTP/1.1, over QUIC.

One ``H3Protocol`` per QUIC connection turns aioquic's events into requests. A request stream
collects its headers and body into an ``ApiRequest`` handled by the shared ``Api``; the answer
goes back as HEADERS + DATA. An extended CONNECT with ``:protocol = websocket`` (RFC 9220) is
routed as a GET of its path, like an HTTP/1.1 upgrade; once accepted, the stream carries
WebSocket frames (wsproto) through ``H3Socket``, a ``FrameSocket`` for the shared
``SocketHandler``.

Early data (0-RTT): a request that arrives before the handshake completed may be a replay. A GET
is answered at once; any other method waits for the handshake to complete, which a replayed first
flight can never do, so a replayed POST never runs. Session tickets are single-use.

Limits: ``[http3] max_concurrent_requests`` streams per connection (more are reset with
H3_REQUEST_REJECTED), ``max_header_bytes`` (431), bodies within the node's limits (413; the
connection buffers at most that much across its streams), ``request_timeout_s`` for a body to
finish (408), ``idle_timeout_s`` for the whole connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer, serve
from aioquic.h3.connection import H3_ALPN, ErrorCode, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import (
    ConnectionTerminated,
    HandshakeCompleted,
    ProtocolNegotiated,
    QuicEvent,
    StreamReset,
)
from aioquic.tls import SessionTicket
from edgewise.host.config import Http3Config
from edgewise.host.errors import (
    ConfigInvalid,
    ListenFailed,
    RequestInvalid,
    RequestTimeout,
    RequestTooLarge,
)
from edgewise.host.protocol.h3_head import parse_request_head
from edgewise.host.transports.api import Api, ApiRequest, ApiResponse, SocketTarget, error_reply
from edgewise.host.transports.h3_socket import H3Socket
from edgewise.host.transports.tls import TlsFiles
from edgewise.host.transports.websocket import SocketHandler

log = logging.getLogger("edgewise.transports")

SAFE_METHODS = frozenset({"GET", "HEAD"})
TICKETS_KEPT = 10_000


class TicketStore:
    """Session tickets the server issued, each usable once (a replayed ticket finds nothing)."""

    def __init__(self, capacity: int = TICKETS_KEPT) -> None:
        self._capacity = capacity
        self._tickets: OrderedDict[bytes, SessionTicket] = OrderedDict()

    def add(self, ticket: SessionTicket) -> None:
        self._tickets[ticket.ticket] = ticket
        while len(self._tickets) > self._capacity:
            self._tickets.popitem(last=False)

    def pop(self, label: bytes) -> SessionTicket | None:
        return self._tickets.pop(label, None)


@dataclass
class H3Stats:
    """Counters of one HTTP/3 server, for tests, benchmarks and logs."""

    connections: int = 0
    requests: int = 0
    early_requests: int = 0  # answered from 0-RTT data
    held_early_requests: int = 0  # unsafe methods in 0-RTT data, run after the handshake
    rejected_streams: int = 0


class _Body:
    """The body of one request stream as it arrives."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.ended = False
        self.too_large = False
        self.changed = asyncio.Event()


class H3Protocol(QuicConnectionProtocol):
    def __init__(
        self, *args: Any, api: Api, settings: Http3Config, server: H3Server, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._api = api
        self._settings = settings
        self._server = server
        self._http: H3Connection | None = None
        self._handshake_done = asyncio.Event()
        self._bodies: dict[int, _Body] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._sockets: dict[int, tuple[H3Socket, SocketHandler | None]] = {}
        limits = api.node.config.limits
        self._body_budget = max(limits.max_message_bytes, limits.max_module_bytes)
        self._buffered = 0
        server.stats.connections += 1
        server.protocols.add(self)

    # --- events from aioquic ------------------------------------------------------------

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self._http = H3Connection(self._quic)
        elif isinstance(event, HandshakeCompleted):
            self._handshake_done.set()
        elif isinstance(event, StreamReset):
            self._stream_gone(event.stream_id)
        elif isinstance(event, ConnectionTerminated):
            self._connection_gone()
        if self._http is not None:
            for http_event in self._http.handle_event(event):
                self._http_event(http_event)

    def _http_event(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived):
            if event.stream_id not in self._bodies and event.stream_id not in self._sockets:
                self._request_started(event)
        elif isinstance(event, DataReceived):
            self._data(event.stream_id, event.data, event.stream_ended)

    def _request_started(self, event: HeadersReceived) -> None:
        stream_id = event.stream_id
        if self._server.closing or len(self._tasks) >= self._settings.max_concurrent_requests:
            self._server.stats.rejected_streams += 1
            self._reset(stream_id, ErrorCode.H3_REQUEST_REJECTED)
            return
        body = _Body()
        self._bodies[stream_id] = body
        early = not self._handshake_done.is_set()
        task = asyncio.create_task(self._answer(stream_id, event.headers, early))
        self._tasks[stream_id] = task
        task.add_done_callback(lambda _: self._request_done(stream_id))
        if event.stream_ended:
            self._data(stream_id, b"", True)

    def _data(self, stream_id: int, data: bytes, ended: bool) -> None:
        socket = self._sockets.get(stream_id)
        if socket is not None:
            socket[0].feed(data, ended)
            return
        body = self._bodies.get(stream_id)
        if body is None or body.ended:
            return
        if data and not body.too_large:
            if self._buffered + len(data) > self._body_budget:
                body.too_large = True
                self._stop(stream_id)
            else:
                body.chunks.append(data)
                body.size += len(data)
                self._buffered += len(data)
        body.ended = body.ended or ended
        body.changed.set()

    def _request_done(self, stream_id: int) -> None:
        self._tasks.pop(stream_id, None)
        body = self._bodies.pop(stream_id, None)
        if body is not None:
            self._buffered -= body.size

    def _stream_gone(self, stream_id: int) -> None:
        socket = self._sockets.get(stream_id)
        if socket is not None:
            socket[0].feed(b"", True)
        task = self._tasks.get(stream_id)
        if task is not None and stream_id not in self._sockets:
            task.cancel()

    def _connection_gone(self) -> None:
        for socket, _ in tuple(self._sockets.values()):
            socket.feed(b"", True)
        for stream_id, task in tuple(self._tasks.items()):
            if stream_id not in self._sockets:
                task.cancel()
        self._server.protocols.discard(self)

    # --- one request --------------------------------------------------------------------

    async def _answer(
        self, stream_id: int, raw_headers: list[tuple[bytes, bytes]], early: bool
    ) -> None:
        stats = self._server.stats
        stats.requests += 1
        try:
            head = parse_request_head(raw_headers, self._settings.max_header_bytes)
        except (RequestInvalid, RequestTooLarge) as exc:
            self._respond(stream_id, error_reply(_bare_request(), exc))
            return
        request = ApiRequest(
            method=head.method,
            path=head.path,
            query=head.query,
            headers=head.headers,
            has_body=head.has_body,
            read_body=partial(self._read_body, stream_id),
        )
        if early:
            if head.method in SAFE_METHODS:
                stats.early_requests += 1
            else:
                stats.held_early_requests += 1
                await self._handshake_done.wait()
        answer = await self._api.handle(request)
        if isinstance(answer, ApiResponse):
            self._respond(stream_id, answer)
        elif not head.websocket:
            refusal = RequestInvalid("this route needs a WebSocket (extended CONNECT)")
            self._respond(stream_id, error_reply(request, refusal))
        else:
            await self._serve_socket(stream_id, request, answer)

    async def _read_body(self, stream_id: int, max_bytes: int, what: str) -> bytes:
        body = self._bodies[stream_id]
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                while not body.ended and body.size <= max_bytes and not body.too_large:
                    body.changed.clear()
                    await body.changed.wait()
        except TimeoutError:
            self._stop(stream_id)
            raise RequestTimeout(
                f"{what} did not arrive within {self._settings.request_timeout_s} s"
            ) from None
        if body.too_large or body.size > max_bytes:
            self._stop(stream_id)
            raise RequestTooLarge(f"{what} exceeds {max_bytes} bytes")
        return b"".join(body.chunks)

    def _respond(self, stream_id: int, answer: ApiResponse) -> None:
        headers = [
            (b":status", str(answer.status).encode()),
            (b"content-type", answer.content_type.encode()),
            (b"content-length", str(len(answer.body)).encode()),
            *((name.encode(), value.encode()) for name, value in answer.headers),
        ]
        self._send(stream_id, headers, answer.body, end_stream=True)

    def _send(
        self, stream_id: int, headers: list[tuple[bytes, bytes]], body: bytes, end_stream: bool
    ) -> None:
        assert self._http is not None
        try:
            self._http.send_headers(stream_id, headers, end_stream=not body and end_stream)
            if body:
                self._http.send_data(stream_id, body, end_stream=end_stream)
        except Exception as exc:  # the stream or the connection is gone
            log.debug("HTTP/3 stream %d: answer not sent: %r", stream_id, exc)
        self.transmit()

    async def _serve_socket(
        self, stream_id: int, request: ApiRequest, target: SocketTarget
    ) -> None:
        limit = self._api.node.config.limits.max_message_bytes
        socket = H3Socket(partial(self._write_socket, stream_id), 2 * limit + 1024)
        handler = None
        if target.forward is None:
            handler = SocketHandler(self._api.node, target.actor_id, target.codec, socket)
        self._sockets[stream_id] = (socket, handler)
        body = self._bodies.pop(stream_id, None)
        self._send(stream_id, [(b":status", b"200")], b"", end_stream=False)
        if body is not None:
            self._buffered -= body.size
        if body is not None and (body.chunks or body.ended):
            socket.feed(b"".join(body.chunks), body.ended)
        try:
            if handler is None:
                await self._api.forward_socket(request, target, socket)
            else:
                await handler.run()
        finally:
            self._sockets.pop(stream_id, None)

    def _write_socket(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        assert self._http is not None
        self._http.send_data(stream_id, data, end_stream=end_stream)
        self.transmit()

    # --- helpers ------------------------------------------------------------------------

    def _reset(self, stream_id: int, code: int) -> None:
        try:
            self._quic.reset_stream(stream_id, code)
            self._quic.stop_stream(stream_id, code)
        except Exception as exc:
            log.debug("HTTP/3 stream %d: reset failed: %r", stream_id, exc)
        self.transmit()

    def _stop(self, stream_id: int) -> None:
        """Ask the peer to stop sending on this stream (our answer still goes out)."""
        try:
            self._quic.stop_stream(stream_id, ErrorCode.H3_REQUEST_CANCELLED)
        except Exception as exc:
            log.debug("HTTP/3 stream %d: stop failed: %r", stream_id, exc)
        self.transmit()

    def shut_down(self) -> None:
        """The node stops: close the sockets with ``node.stopping``, then the connection."""
        for socket, handler in tuple(self._sockets.values()):
            if handler is not None:
                handler.sink.close("node.stopping", "the node is stopping")
            else:
                socket.feed(b"", True)

    def close_connection(self) -> None:
        self.close(error_code=ErrorCode.H3_NO_ERROR, reason_phrase="node stopping")
        self._connection_gone()


def _bare_request() -> ApiRequest:
    """A request for error replies to heads that could not be parsed (answered in JSON)."""

    async def no_body(max_bytes: int, what: str) -> bytes:
        return b""

    return ApiRequest("GET", "/", {}, {}, False, no_body)


class H3Server:
    """A running HTTP/3 server; ``close()`` is idempotent."""

    def __init__(self, port: int) -> None:
        self.stats = H3Stats()
        self.protocols: set[H3Protocol] = set()
        self.port = port
        self.closing = False  # new request streams are refused from then on
        self._quic_server: QuicServer | None = None

    def serving(self, quic_server: QuicServer) -> None:
        self._quic_server = quic_server

    async def close(self) -> None:
        if self._quic_server is None:
            return
        self.closing = True
        for protocol in tuple(self.protocols):
            protocol.shut_down()
        await asyncio.sleep(0.05)  # let the closing frames go out
        for protocol in tuple(self.protocols):
            protocol.close_connection()
        self._quic_server.close()
        self._quic_server = None


def quic_configuration(settings: Http3Config, tls: TlsFiles) -> QuicConfiguration:
    configuration = QuicConfiguration(
        is_client=False, alpn_protocols=H3_ALPN, idle_timeout=settings.idle_timeout_s
    )
    try:
        configuration.load_cert_chain(tls.certificate, tls.private_key)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigInvalid(f"[http3] cannot load the certificate or key: {exc}") from None
    return configuration


async def start_h3_server(
    api: Api, host: str, port: int, settings: Http3Config, tls: TlsFiles
) -> H3Server:
    """Serve ``api`` over HTTP/3 on UDP ``host:port`` (the port of the HTTP/1.1 server)."""
    if port == 0:
        raise ValueError("HTTP/3 shares the HTTP/1.1 port number: pass the bound port")
    server = H3Server(port)
    tickets = TicketStore()
    create: Callable[..., H3Protocol] = partial(
        H3Protocol, api=api, settings=settings, server=server
    )
    try:
        quic_server = await serve(
            host,
            port,
            configuration=quic_configuration(settings, tls),
            create_protocol=create,
            session_ticket_fetcher=tickets.pop,
            session_ticket_handler=tickets.add,
        )
    except OSError as exc:
        raise ListenFailed(f"cannot listen on UDP {host}:{port}: {exc.strerror or exc}") from None
    server.serving(quic_server)
    return server
