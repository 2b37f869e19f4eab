"""A WebSocket carried by one HTTP/3 stream (RFC 9220), framed by wsproto; both sides use it.

After the extended CONNECT was accepted, the stream's DATA is a plain WebSocket byte stream.
The owner of the stream feeds what arrives (``feed``) and gives a ``write(data, end_stream)``
callable that sends on the stream. ``receive`` returns whole messages (text as UTF-8 bytes;
``receive_message`` also says which), answers pings, and returns None once the socket closed: a
close frame, the stream's end, a protocol error, or a message longer than ``max_message_bytes``
(closed with 1009). This is the ``FrameSocket`` of ``transports/websocket.py`` for HTTP/3.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Message, Ping, TextMessage
from wsproto.utilities import LocalProtocolError

log = logging.getLogger("edgewise.transports")

Write = Callable[[bytes, bool], None]
CLOSE_MESSAGE_TOO_BIG = 1009


class H3Socket:
    def __init__(self, write: Write, max_message_bytes: int, *, client: bool = False) -> None:
        kind = ConnectionType.CLIENT if client else ConnectionType.SERVER
        self._ws = Connection(kind)
        self._write = write
        self._max = max_message_bytes
        self._messages: asyncio.Queue[tuple[bytes, bool] | None] = asyncio.Queue()
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._partial_text = False
        self._ended = False
        self.close_code: int | None = None

    @property
    def closed(self) -> bool:
        return self._ended

    def feed(self, data: bytes, stream_ended: bool) -> None:
        """What arrived on the stream; ``stream_ended`` once its peer finished it."""
        if self._ended:
            return
        if data:
            self._ws.receive_data(data)
        if stream_ended:
            self._ws.receive_data(None)
        for event in self._ws.events():
            self._event(event)
            if self._ended:
                return
        if stream_ended:
            self._end(None)

    def _event(self, event: Event) -> None:
        if isinstance(event, Message):
            text = isinstance(event, TextMessage)
            chunk = event.data.encode("utf-8") if isinstance(event, TextMessage) else event.data
            if not self._partial:
                self._partial_text = text
            self._partial.append(bytes(chunk))
            self._partial_size += len(chunk)
            if self._partial_size > self._max:
                self._send_close(CLOSE_MESSAGE_TOO_BIG, "message too big")
                self._end(CLOSE_MESSAGE_TOO_BIG)
            elif event.message_finished:
                self._messages.put_nowait((b"".join(self._partial), self._partial_text))
                self._partial, self._partial_size = [], 0
        elif isinstance(event, Ping):
            self._send_raw(self._ws.send(event.response()), False)
        elif isinstance(event, CloseConnection):
            if self._ws.state is ConnectionState.REMOTE_CLOSING:
                self._send_raw(self._ws.send(event.response()), True)
            self._end(event.code)

    def _end(self, code: int | None) -> None:
        if not self._ended:
            self._ended = True
            self.close_code = code
            self._messages.put_nowait(None)

    async def receive(self, timeout: float | None) -> bytes | None:
        message = await self.receive_message(timeout)
        return None if message is None else message[0]

    async def receive_message(self, timeout: float | None) -> tuple[bytes, bool] | None:
        """The next message and whether it came as text; None once closed."""
        if self._ended and self._messages.empty():
            return None
        async with asyncio.timeout(timeout):
            return await self._messages.get()

    async def send(self, data: bytes, text: bool) -> None:
        if self._ended:
            raise ConnectionError("the WebSocket is closed")
        event = TextMessage(data.decode("utf-8")) if text else BytesMessage(data)
        if not self._send_raw(self._ws.send(event), False):
            raise ConnectionError("the HTTP/3 stream is closed")

    async def close(self, code: int = 1000, reason: bytes = b"") -> None:
        if not self._ended:
            self._send_close(code, reason.decode("utf-8", "replace"))
            self._end(code)

    def _send_close(self, code: int, reason: str) -> None:
        try:
            data = self._ws.send(CloseConnection(code, reason))
        except LocalProtocolError:
            return
        self._send_raw(data, True)

    def _send_raw(self, data: bytes, end_stream: bool) -> bool:
        try:
            self._write(data, end_stream)
        except Exception as exc:  # the stream or the connection is gone
            log.debug("WebSocket over HTTP/3: write failed: %r", exc)
            self._end(None)
            return False
        return True
