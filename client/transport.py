"""What the client needs from a transport, and the HTTP/1.1 one (aiohttp).

A ``Transport`` does one HTTP round trip (``request``) and opens WebSockets (``open_socket``);
``H1Transport`` does both with aiohttp, ``H3Transport`` (``client/h3.py``) over QUIC. Errors of
the libraries below never leave a transport: an unreachable server is ``ServerUnreachable``, a
refused WebSocket an ``EdgewiseClientError`` built from the server's error body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from edgewise.client.errors import EdgewiseClientError, ServerUnreachable
from edgewise.host.errors import EdgewiseError
from edgewise.host.protocol.codec import CBOR, JSON

Params = Sequence[tuple[str, str]]
_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def value(self) -> Any:
        """The decoded body (JSON unless the Content-Type says CBOR); None if it is not."""
        if not self.body:
            return None
        codec = CBOR if "cbor" in self.headers.get("content-type", "") else JSON
        try:
            return codec.decode(self.body, len(self.body))
        except EdgewiseError:
            return None


class ClientSocket(Protocol):
    async def receive(self, timeout: float | None) -> bytes | None:
        """The next message, None once closed; ``TimeoutError`` after ``timeout`` seconds."""

    async def send(self, data: bytes, text: bool) -> None: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    name: str

    async def request(
        self, method: str, path: str, params: Params, headers: dict[str, str], data: bytes | None
    ) -> Reply: ...

    async def open_socket(self, path: str, params: Params) -> ClientSocket: ...

    async def close(self) -> None: ...


def refusal(reply: Reply) -> EdgewiseClientError:
    """The error of a non-2xx answer, with the server's code when its body has one."""
    value = reply.value()
    error = value.get("error") if isinstance(value, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return EdgewiseClientError(
            str(error.get("message")), code=error["code"], status=reply.status
        )
    return EdgewiseClientError(
        f"HTTP status {reply.status}", code=f"http.{reply.status}", status=reply.status
    )


class H1Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    async def receive(self, timeout: float | None) -> bytes | None:
        while True:
            msg = await self._ws.receive(timeout=timeout)
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return msg.data.encode("utf-8") if isinstance(msg.data, str) else msg.data
            if msg.type in _CLOSED or msg.type is aiohttp.WSMsgType.ERROR:
                return None

    async def send(self, data: bytes, text: bool) -> None:
        opcode = aiohttp.WSMsgType.TEXT if text else aiohttp.WSMsgType.BINARY
        try:
            await self._ws.send_frame(data, opcode)
        except (aiohttp.ClientError, RuntimeError) as exc:
            raise ConnectionError(str(exc)) from None

    async def close(self) -> None:
        await self._ws.close()


class H1Transport:
    """HTTP/1.1 and WebSocket through one aiohttp session."""

    name = "h1"

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))

    async def request(
        self, method: str, path: str, params: Params, headers: dict[str, str], data: bytes | None
    ) -> Reply:
        url = self._url + path
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, params=list(params)
            ) as response:
                body = await response.read()
                found = {name.lower(): value for name, value in response.headers.items()}
                return Reply(response.status, found, body)
        except aiohttp.ClientError as exc:
            raise ServerUnreachable(f"{method} {url}: {exc}") from None
        except TimeoutError:
            raise ServerUnreachable(f"{method} {url}: timed out") from None

    async def open_socket(self, path: str, params: Params) -> ClientSocket:
        url = self._url + path
        try:
            ws = await self._session.ws_connect(url, params=list(params))
        except aiohttp.WSServerHandshakeError as exc:
            code = "actor.not_found" if exc.status == 404 else f"http.{exc.status}"
            raise EdgewiseClientError(exc.message, code=code, status=exc.status) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ServerUnreachable(f"{url}: {exc}") from None
        return H1Socket(ws)

    async def close(self) -> None:
        await self._session.close()
