"""HTTP/3 for the client (aioquic): requests and WebSockets (RFC 9220) on one QUIC connection.

The connection opens on first use and is reopened after it ended. With a session ticket from an
earlier connection to the same server, requests leave as 0-RTT early data: a GET at once, any
other method only once the handshake completed (never replayable). ``rebind`` moves the
connection to a new local UDP port (what a phone does when it changes networks); QUIC's
connection migration keeps it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted, QuicEvent, StreamReset
from aioquic.tls import SessionTicket
from edgewise.client.errors import ServerUnreachable
from edgewise.client.transport import ClientSocket, Params, Reply, refusal
from edgewise.host.transports.h3_socket import H3Socket

SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_SOCKET_MESSAGE_BYTES = 64 * 1024 * 1024


class _Exchange:
    """One request stream: the answer's head and body, or the WebSocket it became."""

    def __init__(self) -> None:
        self.head: asyncio.Future[tuple[int, dict[str, str]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.chunks: list[bytes] = []
        self.done = asyncio.Event()
        self.socket: H3Socket | None = None
        self.failure: str | None = None

    def fail(self, why: str) -> None:
        self.failure = why
        if not self.head.done():
            self.head.set_exception(ServerUnreachable(why))
        self.done.set()
        if self.socket is not None:
            self.socket.feed(b"", True)


class _Protocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.exchanges: dict[int, _Exchange] = {}
        self.handshake: HandshakeCompleted | None = None
        self.handshake_done = asyncio.Event()
        self.ended = False
        self.udp: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.udp = cast(asyncio.DatagramTransport, transport)

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, HandshakeCompleted):
            self.handshake = event
            self.handshake_done.set()
        elif isinstance(event, StreamReset):
            exchange = self.exchanges.pop(event.stream_id, None)
            if exchange is not None:
                exchange.fail(f"the server reset the stream (error {event.error_code})")
        elif isinstance(event, ConnectionTerminated):
            self.ended = True
            self.handshake_done.set()
            for exchange in self.exchanges.values():
                exchange.fail(f"the connection ended: {event.reason_phrase or event.error_code}")
            self.exchanges.clear()
        for http_event in self.http.handle_event(event):
            self._http_event(http_event)

    def _http_event(self, event: H3Event) -> None:
        if not isinstance(event, HeadersReceived | DataReceived):
            return
        exchange = self.exchanges.get(event.stream_id)
        if exchange is None:
            return
        if isinstance(event, HeadersReceived) and not exchange.head.done():
            fields = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
            status = int(fields.pop(":status", "0") or 0)
            exchange.head.set_result((status, fields))
        elif isinstance(event, DataReceived):
            if exchange.socket is not None:
                exchange.socket.feed(event.data, event.stream_ended)
            else:
                exchange.chunks.append(event.data)
        if event.stream_ended:
            exchange.done.set()
            if exchange.socket is None:
                self.exchanges.pop(event.stream_id, None)

    def send(
        self, headers: list[tuple[bytes, bytes]], data: bytes | None, *, end_stream: bool = True
    ) -> int:
        """Start a request stream; ``end_stream=False`` keeps it open (a WebSocket)."""
        stream_id = self._quic.get_next_available_stream_id()
        self.exchanges[stream_id] = _Exchange()
        self.http.send_headers(stream_id, headers, end_stream=data is None and end_stream)
        if data is not None:
            self.http.send_data(stream_id, data, end_stream=True)
        self.transmit()
        return stream_id

    def write(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        self.http.send_data(stream_id, data, end_stream=end_stream)
        self.transmit()

    def move_to(self, transport: asyncio.BaseTransport) -> None:
        """Send from another UDP socket from now on, with a fresh connection id."""
        self.connection_made(transport)
        self.change_connection_id()


class H3Transport:
    name = "h3"

    def __init__(
        self,
        url: str,
        timeout_s: float,
        *,
        ca_file: str | None = None,
        verify: bool = True,
        tickets: dict[tuple[str, int], SessionTicket] | None = None,
    ) -> None:
        split = urlsplit(url)
        if split.hostname is None:
            raise ValueError(f"no host in {url!r}")
        self._host = split.hostname
        self._port = split.port or (443 if split.scheme == "https" else 80)
        self._authority = split.netloc.encode()
        self._timeout_s = timeout_s
        self._ca_file = ca_file
        self._verify = verify
        self._tickets = tickets if tickets is not None else {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._protocol: _Protocol | None = None
        self._opening: asyncio.Lock = asyncio.Lock()
        self._sockets: list[asyncio.BaseTransport] = []

    @property
    def handshake(self) -> HandshakeCompleted | None:
        """How the current connection's handshake went (resumed, early data accepted)."""
        return None if self._protocol is None else self._protocol.handshake

    async def connect(self) -> None:
        """Open the QUIC connection now (and wait for the handshake)."""
        protocol = await self._connection()
        await self._handshake(protocol)

    async def request(
        self, method: str, path: str, params: Params, headers: dict[str, str], data: bytes | None
    ) -> Reply:
        protocol = await self._connection()
        if method not in SAFE_METHODS:
            await self._handshake(protocol)
        head = self._head(method, path, params, headers)
        exchange = protocol.exchanges[protocol.send(head, data)]
        try:
            async with asyncio.timeout(self._timeout_s):
                status, fields = await exchange.head
                await exchange.done.wait()
        except TimeoutError:
            raise ServerUnreachable(f"{method} {path} over HTTP/3: timed out") from None
        if exchange.failure is not None:
            raise ServerUnreachable(f"{method} {path} over HTTP/3: {exchange.failure}")
        return Reply(status, fields, b"".join(exchange.chunks))

    async def open_socket(self, path: str, params: Params) -> ClientSocket:
        protocol = await self._connection()
        await self._handshake(protocol)
        head = self._head("CONNECT", path, params, {}, protocol=b"websocket")
        stream_id = protocol.send(head, None, end_stream=False)
        exchange = protocol.exchanges[stream_id]
        exchange.socket = H3Socket(
            lambda data, end: protocol.write(stream_id, data, end),
            MAX_SOCKET_MESSAGE_BYTES,
            client=True,
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                status, fields = await exchange.head
                if status != 200:
                    await exchange.done.wait()
        except TimeoutError:
            raise ServerUnreachable(f"WebSocket {path} over HTTP/3: timed out") from None
        if status != 200:
            protocol.exchanges.pop(stream_id, None)
            raise refusal(Reply(status, fields, b"".join(exchange.chunks)))
        return exchange.socket

    async def rebind(self) -> None:
        """Move the connection to a new local UDP port (connection migration)."""
        protocol = await self._connection()
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0, 0, 0))
        transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
        self._sockets.append(transport)
        protocol.move_to(transport)
        protocol.transmit()

    def local_port(self) -> int | None:
        """The local UDP port the connection sends from now."""
        udp = None if self._protocol is None else self._protocol.udp
        return None if udp is None else int(udp.get_extra_info("sockname")[1])

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._protocol = self._stack, None, None
            with contextlib.suppress(Exception):
                await stack.aclose()
        for transport in self._sockets:
            transport.close()
        self._sockets.clear()

    # --- internals ----------------------------------------------------------------------

    def _head(
        self,
        method: str,
        path: str,
        params: Params,
        headers: dict[str, str],
        protocol: bytes | None = None,
    ) -> list[tuple[bytes, bytes]]:
        target = path + ("?" + urlencode(list(params)) if params else "")
        head = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", self._authority),
            (b":path", target.encode()),
        ]
        if protocol is not None:
            head.append((b":protocol", protocol))
        head.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
        return head

    async def _handshake(self, protocol: _Protocol) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await protocol.handshake_done.wait()
        except TimeoutError:
            raise ServerUnreachable(f"no QUIC handshake with {self._host}:{self._port}") from None
        if protocol.ended:
            self._protocol = None
            raise ServerUnreachable(f"QUIC connection to {self._host}:{self._port} failed")

    async def _connection(self) -> _Protocol:
        async with self._opening:
            if self._protocol is not None and not self._protocol.ended:
                return self._protocol
            await self.close()
            stack = contextlib.AsyncExitStack()
            key = (self._host, self._port)
            try:
                protocol = await stack.enter_async_context(
                    connect(
                        self._host,
                        self._port,
                        configuration=self._configuration(self._tickets.get(key)),
                        create_protocol=_Protocol,
                        session_ticket_handler=lambda ticket: self._tickets.__setitem__(
                            key, ticket
                        ),
                        wait_connected=False,
                    )
                )
            except OSError as exc:
                await stack.aclose()
                raise ServerUnreachable(f"HTTP/3 to {self._host}:{self._port}: {exc}") from None
            assert isinstance(protocol, _Protocol)
            protocol.transmit()  # the first flight; requests may follow as 0-RTT data
            self._stack, self._protocol = stack, protocol
            return protocol

    def _configuration(self, ticket: SessionTicket | None) -> QuicConfiguration:
        configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
        configuration.server_name = self._host
        configuration.session_ticket = ticket
        if not self._verify:
            configuration.verify_mode = ssl.CERT_NONE
        elif self._ca_file is not None:
            configuration.load_verify_locations(self._ca_file)
        return configuration
