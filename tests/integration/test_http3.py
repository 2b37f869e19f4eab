"""What only HTTP/3 has: Alt-Svc discovery and fallback, 0-RTT and replays, connection migration,
hostile QUIC and HTTP/3 input, and a client we did not write (niquests), all on 127.0.0.1 UDP.

The API itself runs over HTTP/3 in the parametrized tests of test_http_api.py, test_ws_protocol.py
and test_client_library.py. ``RawH3`` here is a bare aioquic client for what a well-behaved
client never sends (early POSTs, unfinished bodies, too many streams, broken frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import niquests
import pytest
from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, ErrorCode, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted, QuicEvent, StreamReset
from aioquic.tls import SessionTicket
from conftest import MakeNode
from edgewise.client import Client, ServerUnreachable
from edgewise.host.actors import Node
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.host.transports.tls import TlsFiles

WAIT_S = 5.0


class RawProtocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.handshake: HandshakeCompleted | None = None
        self.heads: dict[int, dict[bytes, bytes]] = {}
        self.bodies: dict[int, bytes] = {}
        self.resets: dict[int, int] = {}
        self.changed = asyncio.Event()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, HandshakeCompleted):
            self.handshake = event
        if isinstance(event, StreamReset):
            self.resets[event.stream_id] = event.error_code
        for h3_event in self.http.handle_event(event):
            if isinstance(h3_event, HeadersReceived):
                self.heads[h3_event.stream_id] = dict(h3_event.headers)
            elif isinstance(h3_event, DataReceived):
                sid = h3_event.stream_id
                self.bodies[sid] = self.bodies.get(sid, b"") + h3_event.data
        self.changed.set()

    def request(self, method: str, path: str, body: bytes | None, *, finish: bool = True) -> int:
        stream_id = self._quic.get_next_available_stream_id()
        head = [(b":method", method.encode()), (b":scheme", b"https"),
                (b":authority", b"localhost"), (b":path", path.encode()),
                (b"content-type", b"application/json")]  # fmt: skip
        self.http.send_headers(stream_id, head, end_stream=body is None and finish)
        if body is not None:
            self.http.send_data(stream_id, body, end_stream=finish)
        self.transmit()
        return stream_id

    def send_raw_stream(self, data: bytes) -> None:
        """Bytes on a new request stream, bypassing HTTP/3 framing."""
        stream_id = self._quic.get_next_available_stream_id()
        self._quic.send_stream_data(stream_id, data, end_stream=True)
        self.transmit()

    async def until(self, done: Any) -> None:
        async with asyncio.timeout(WAIT_S):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def status(self, stream_id: int) -> int:
        await self.until(lambda: stream_id in self.heads)
        return int(self.heads[stream_id][b":status"])


@contextlib.asynccontextmanager
async def raw_h3(
    port: int,
    tls: TlsFiles,
    ticket: SessionTicket | None = None,
    tickets: list[SessionTicket] | None = None,
) -> AsyncIterator[RawProtocol]:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    configuration.server_name = "localhost"
    configuration.load_verify_locations(str(tls.authority))
    configuration.session_ticket = ticket
    keep = tickets.append if tickets is not None else None
    async with connect("127.0.0.1", port, configuration=configuration,
                       create_protocol=RawProtocol, session_ticket_handler=keep,
                       wait_connected=ticket is None) as protocol:  # fmt: skip
        yield cast(RawProtocol, protocol)


class Relay(asyncio.DatagramProtocol):
    """A UDP hop between one client and the server that records what the client sent."""

    def __init__(self, server_port: int) -> None:
        self.server = ("127.0.0.1", server_port)
        self.recorded: list[bytes] = []
        self.client: tuple[str, int] | None = None
        self.front: asyncio.DatagramTransport | None = None
        self.back: asyncio.DatagramTransport | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        front, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        self.front = cast(asyncio.DatagramTransport, front)
        back, _ = await loop.create_datagram_endpoint(lambda: _Back(self), remote_addr=self.server)
        self.back = cast(asyncio.DatagramTransport, back)
        return int(self.front.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.client = addr
        self.recorded.append(data)
        assert self.back is not None
        self.back.sendto(data)

    def close(self) -> None:
        for transport in (self.front, self.back):
            if transport is not None:
                transport.close()


class _Back(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.relay.front is not None and self.relay.client is not None:
            self.relay.front.sendto(data, self.relay.client)


def h3_client(server: RunningServer, tls: TlsFiles, **options: Any) -> Client:
    return Client(server.url, ca_file=str(tls.authority), **options)


async def counter_id(node: Node, key: str) -> str:
    info, _ = await node.get_or_create("counter", (key,))
    return info.actor_id


async def count_of(node: Node, actor_id: str) -> int:
    value = await node.call(actor_id, "get", ())
    assert isinstance(value, int)
    return value


# --- discovery and fallback ------------------------------------------------------------------


async def test_auto_moves_to_http3_when_advertised(server: RunningServer, tls: TlsFiles) -> None:
    async with h3_client(server, tls) as client:
        assert (await client.health())["status"] == "ok"
        assert client.last_transport == "h1"  # the answer that advertised HTTP/3
        handle = client.get_or_create("counter", ["auto"])
        assert await handle.call("increment", 2) == 2
        assert client.last_transport == "h3"
        async with handle.connect() as conn:
            assert await conn.call("increment", 1) == 3
        assert client.last_transport == "h3"
    assert server.h3 is not None and server.h3.stats.requests >= 2


async def test_auto_falls_back_to_http1_when_udp_is_closed(node: Node, tls: TlsFiles) -> None:
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    assert server.h3 is not None
    await server.h3.close()  # Alt-Svc still advertised, nothing answers on UDP
    async with server, h3_client(server, tls, h3_timeout_s=0.3) as client:
        handle = client.get_or_create("counter", ["fallback"])
        assert await handle.call("increment", 1) == 1
        assert await handle.call("increment", 1) == 2
        assert client.last_transport == "h1" and client.h3 is None
        async with handle.connect() as conn:
            assert await conn.call("get") == 2
        assert client.last_transport == "h1"


async def test_forced_http3_to_a_closed_port_is_unreachable(node: Node, tls: TlsFiles) -> None:
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    assert server.h3 is not None
    await server.h3.close()
    async with server, h3_client(server, tls, transport="h3", timeout_s=0.3) as client:
        with pytest.raises(ServerUnreachable):
            await client.health()


# --- 0-RTT ---------------------------------------------------------------------------------


async def test_resumed_get_is_sent_and_answered_as_early_data(
    server: RunningServer, tls: TlsFiles
) -> None:
    assert server.h3 is not None
    async with h3_client(server, tls, transport="h3") as client:
        await client.health()
        h3 = client.h3
        assert h3 is not None and h3.handshake is not None
        assert not h3.handshake.session_resumed
        await h3.close()  # the next request opens a new connection with the session ticket
        assert (await client.health())["status"] == "ok"
        assert h3.handshake is not None
        assert h3.handshake.session_resumed and h3.handshake.early_data_accepted
    assert server.h3.stats.early_requests == 1


async def test_a_replayed_early_post_runs_once(node: Node, tls: TlsFiles) -> None:
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    relay = Relay(server.port)
    actor_id = await counter_id(node, "replay")
    tickets: list[SessionTicket] = []
    try:
        port = await relay.start()
        async with raw_h3(port, tls, tickets=tickets) as first:
            await first.status(first.request("GET", "/v1/health", None))
        await asyncio.sleep(0.05)
        assert tickets, "the server issued no session ticket"
        relay.recorded.clear()
        path = f"/v1/actors/{actor_id}/actions/increment"
        async with raw_h3(port, tls, ticket=tickets[-1]) as early:
            stream_id = early.request("POST", path, b'{"args": [1]}')  # before the handshake
            assert await early.status(stream_id) == 200
            await early.until(lambda: b"output" in early.bodies.get(stream_id, b""))
            assert early.handshake is not None and early.handshake.early_data_accepted
        assert server.h3 is not None and server.h3.stats.held_early_requests == 1
        assert await count_of(node, actor_id) == 1

        for _ in range(100):  # the server forgets the connection; a replay then looks new
            if not server.h3.protocols:
                break
            await asyncio.sleep(0.05)
        assert not server.h3.protocols
        flight = list(relay.recorded)  # the attacker replays everything the client sent
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
            for datagram in flight:
                attacker.sendto(datagram, ("127.0.0.1", server.port))
        await asyncio.sleep(0.5)
        assert await count_of(node, actor_id) == 1
        assert server.h3.stats.held_early_requests == 1
    finally:
        relay.close()
        await server.close()


# --- connection migration ---------------------------------------------------------------------


async def test_a_connection_survives_a_new_client_udp_port(
    server: RunningServer, tls: TlsFiles
) -> None:
    counts: asyncio.Queue[int] = asyncio.Queue()
    async with h3_client(server, tls, transport="h3") as client:
        handle = client.get_or_create("counter", ["roaming"])
        async with handle.connect() as conn:
            conn.on("newCount", counts.put_nowait)
            assert await conn.call("increment", 1) == 1
            assert await asyncio.wait_for(counts.get(), WAIT_S) == 1
            h3 = client.h3
            assert h3 is not None
            before = h3.local_port()
            await h3.rebind()
            assert h3.local_port() != before
            assert await asyncio.wait_for(conn.call("increment", 1), WAIT_S) == 2
            assert await asyncio.wait_for(counts.get(), WAIT_S) == 2
            assert await handle.call("get") == 2  # plain requests on the same connection
            assert conn.reconnects == 0
    assert server.h3 is not None and server.h3.stats.connections == 1


# --- hostile input ---------------------------------------------------------------------------


async def test_garbage_datagrams_do_not_stop_the_server(
    server: RunningServer, tls: TlsFiles
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
        for size in (1, 20, 1200, 1500):
            junk.sendto(bytes([0xC3]) + b"\x00" * size, ("127.0.0.1", server.port))
            junk.sendto(b"\xff" * size, ("127.0.0.1", server.port))
    async with raw_h3(server.port, tls) as raw:
        assert await raw.status(raw.request("GET", "/v1/health", None)) == 200


async def test_oversized_headers_get_431(server: RunningServer, tls: TlsFiles) -> None:
    async with h3_client(server, tls, transport="h3") as client:
        await client.health()
        assert client.h3 is not None
        reply = await client.h3.request("GET", "/v1/health", [], {"x-big": "y" * 20_000}, None)
        assert reply.status == 431
        assert reply.value()["error"]["code"] == "request.too_large"
        assert (await client.health())["status"] == "ok"


async def test_unfinished_body_times_out_and_extra_streams_are_refused(
    make_node: MakeNode, tls: TlsFiles
) -> None:
    node = await make_node(http3={"request_timeout_s": 0.3, "max_concurrent_requests": 2})
    async with await start_server(node, "127.0.0.1", 0, tls=tls) as server:
        actor_id = await counter_id(node, "slow")
        path = f"/v1/actors/{actor_id}/actions/increment"
        async with raw_h3(server.port, tls) as raw:
            slow = [raw.request("POST", path, b'{"args": [', finish=False) for _ in range(2)]
            extra = raw.request("POST", path, b'{"args": [1]}')
            await raw.until(lambda: extra in raw.resets)
            assert raw.resets[extra] == ErrorCode.H3_REQUEST_REJECTED
            for stream_id in slow:
                assert await raw.status(stream_id) == 408
                await raw.until(
                    lambda sid=stream_id: b"request.timeout" in raw.bodies.get(sid, b"")
                )
            assert await raw.status(raw.request("POST", path, b'{"args": [5]}')) == 200
        assert await count_of(node, actor_id) == 5
        assert server.h3 is not None and server.h3.stats.rejected_streams == 1


async def test_a_broken_http3_frame_closes_only_that_connection(
    server: RunningServer, tls: TlsFiles
) -> None:
    async with raw_h3(server.port, tls) as broken:
        broken.send_raw_stream(b"\x01\xff\xff\xff\xff\x00garbage")  # a HEADERS frame too long
        await asyncio.sleep(0.3)
    async with raw_h3(server.port, tls) as fine:
        assert await fine.status(fine.request("GET", "/v1/health", None)) == 200


# --- a client we did not write ---------------------------------------------------------------


async def test_niquests_calls_an_action_over_http3(server: RunningServer, tls: TlsFiles) -> None:
    """niquests (urllib3-future + qh3) with HTTP/1.1 and HTTP/2 disabled must use HTTP/3."""
    url = f"https://localhost:{server.port}/v1/gateway/counter/actions/increment?key=niq"

    def call() -> tuple[int, int, Any]:
        with niquests.Session(disable_http1=True, disable_http2=True) as session:
            response = session.post(url, json={"args": [3]}, verify=str(tls.authority), timeout=5)
            return response.status_code, response.http_version, response.json()

    status, version, body = await asyncio.to_thread(call)
    assert (status, version, body) == (200, 30, {"output": 3})


async def test_one_connection_buffers_a_bounded_amount_of_body(
    make_node: MakeNode, tls: TlsFiles
) -> None:
    limits = {"max_message_bytes": 8192, "max_module_bytes": 16384}
    node = await make_node(limits=limits, http3={"request_timeout_s": 0.3})
    async with await start_server(node, "127.0.0.1", 0, tls=tls) as server:
        actor_id = await counter_id(node, "budget")
        path = f"/v1/actors/{actor_id}/actions/increment"
        chunk = b'{"args": [1], "pad": "' + b"x" * 6000
        async with raw_h3(server.port, tls) as raw:
            held = [raw.request("POST", path, chunk, finish=False) for _ in range(3)]
            statuses = [await raw.status(stream_id) for stream_id in held]
            # Three 6 KB bodies cannot all fit in the connection's 16 KiB: whichever stream
            # crosses the budget gets 413, the others wait for their end and time out.
            assert 413 in statuses and set(statuses) <= {408, 413}
            assert await raw.status(raw.request("POST", path, b'{"args": [2]}')) == 200
        assert await count_of(node, actor_id) == 2
