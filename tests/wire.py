"""Raw HTTP and WebSocket access to a node over HTTP/1.1 or HTTP/3, for the integration tests.

The API tests are written once against ``Wire`` and run over both transports (the ``transport``
fixture of conftest.py): ``h1`` is aiohttp, ``h3`` is the client library's QUIC transport
(``edgewise.client.h3``), which sends exactly the headers and bytes it is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
from edgewise.client.errors import EdgewiseClientError
from edgewise.client.h3 import H3Transport
from edgewise.host.transports.h3_socket import H3Socket
from edgewise.host.transports.http import RunningServer
from edgewise.host.transports.tls import TlsFiles

RECEIVE_TIMEOUT_S = 5.0
Params = list[tuple[str, str]] | dict[str, str] | None


class SocketRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"WebSocket refused with status {status}")
        self.status = status


def _pairs(params: Params) -> list[tuple[str, str]]:
    if params is None:
        return []
    return list(params.items()) if isinstance(params, dict) else list(params)


class WireSocket:
    """One raw WebSocket: messages with their kind (text or binary), and the close."""

    def __init__(self, h1: aiohttp.ClientWebSocketResponse | None, h3: H3Socket | None) -> None:
        self._h1 = h1
        self._h3 = h3

    async def send(self, data: bytes, text: bool) -> None:
        if self._h1 is not None:
            if text:
                await self._h1.send_str(data.decode("utf-8", "replace"))
            else:
                await self._h1.send_bytes(data)
        else:
            assert self._h3 is not None
            if text:
                data = data.decode("utf-8", "replace").encode("utf-8")
            await self._h3.send(data, text)

    async def receive(self) -> tuple[bytes, bool] | None:
        """(data, is_text) of the next message, None when the socket closed."""
        if self._h1 is not None:
            msg = await self._h1.receive(timeout=RECEIVE_TIMEOUT_S)
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
                return raw, msg.type is aiohttp.WSMsgType.TEXT
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
            return None
        assert self._h3 is not None
        return await self._h3.receive_message(RECEIVE_TIMEOUT_S)

    async def close(self) -> None:
        if self._h1 is not None:
            await self._h1.close()
        elif self._h3 is not None:
            await self._h3.close()


class Wire:
    def __init__(self, kind: str, http: aiohttp.ClientSession | None, h3: H3Transport | None,
                 url: str) -> None:  # fmt: skip
        self.kind = kind
        self._http = http
        self._h3 = h3
        self.url = url

    async def request(self, method: str, path: str, *, data: bytes | None = None,
                      headers: dict[str, str] | None = None, params: Params = None,
                      ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        headers = dict(headers or {})
        if self._http is not None:
            async with self._http.request(
                method, self.url + path, data=data, headers=headers, params=_pairs(params)
            ) as response:
                found = {k.lower(): v for k, v in response.headers.items()}
                return response.status, found, await response.read()
        assert self._h3 is not None
        if data is not None:
            headers.setdefault("content-length", str(len(data)))
        reply = await self._h3.request(method, path, _pairs(params), headers, data)
        return reply.status, reply.headers, reply.body

    async def websocket(self, path: str, params: Params = None) -> WireSocket:
        if self._http is not None:
            try:
                ws = await self._http.ws_connect(
                    self.url + path, params=_pairs(params), max_msg_size=1 << 24
                )
            except aiohttp.WSServerHandshakeError as exc:
                raise SocketRefused(exc.status) from None
            return WireSocket(ws, None)
        assert self._h3 is not None
        try:
            socket = await self._h3.open_socket(path, _pairs(params))
        except EdgewiseClientError as exc:
            raise SocketRefused(exc.status or 0) from None
        assert isinstance(socket, H3Socket)
        return WireSocket(None, socket)


@contextlib.asynccontextmanager
async def open_wire(kind: str, server: RunningServer, tls: TlsFiles) -> AsyncIterator[Wire]:
    if kind == "h1":
        async with aiohttp.ClientSession() as http:
            yield Wire(kind, http, None, server.url)
        return
    assert server.h3 is not None, "start the server with tls= to test HTTP/3"
    h3 = H3Transport(server.url, RECEIVE_TIMEOUT_S, ca_file=str(tls.authority))
    try:
        yield Wire(kind, None, h3, server.url)
    finally:
        await h3.close()
