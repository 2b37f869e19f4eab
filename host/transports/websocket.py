"""WebSocket glue: one socket, of any transport, driven by one sans-IO ``Session``.

The reader feeds frames to the session and carries out its commands; each action runs in its
own task and answers with its id. Everything sent goes through one per-socket queue drained by
one writer task, so replies and events leave in the order the node produced them. ``SocketSink``
is the ``EventSink`` given to ``Node.connect``: ``deliver`` only enqueues; a client that lets more
than ``SEND_QUEUE_FRAMES`` frames pile up is closed with ``connection.slow_consumer``. On the
socket's end the node is told with ``Node.disconnect``. The socket itself is a ``FrameSocket``:
aiohttp's over HTTP/1.1 (``transports/http.py``), wsproto's over HTTP/3 (``transports/h3.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from edgewise.host.actors import Node
from edgewise.host.errors import EdgewiseError, SlowConsumer
from edgewise.host.protocol.codec import Codec
from edgewise.host.protocol.errors import error_frame
from edgewise.host.protocol.messages import (
    ActionFrame,
    ErrorFrame,
    EventFrame,
    MovedFrame,
    ResultFrame,
    ServerFrame,
    to_wire,
)
from edgewise.host.protocol.session import (
    ChangeSubscription,
    CloseSocket,
    Command,
    OpenConnection,
    RunAction,
    SendFrame,
    Session,
)

log = logging.getLogger("edgewise.transports")

SEND_QUEUE_FRAMES = 1024
"""Frames waiting to be written to one socket before it counts as a slow consumer."""
WRITER_DRAIN_S = 5.0
"""How long a closing socket may take to flush its queued frames."""

CLOSE_OK = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
_CLOSE_CODES = {
    "request.too_large": CLOSE_MESSAGE_TOO_BIG,
    "node.stopping": CLOSE_GOING_AWAY,
    "internal": CLOSE_INTERNAL_ERROR,
    "closed": CLOSE_OK,
    "moved": CLOSE_GOING_AWAY,
}


class FrameSocket(Protocol):
    """One WebSocket after its upgrade, as seen by the handler."""

    @property
    def closed(self) -> bool: ...

    async def receive(self, timeout: float | None) -> bytes | None:
        """The next text or binary message as bytes, or None once the socket closed.

        Raises ``TimeoutError`` when nothing came within ``timeout`` seconds.
        """

    async def send(self, data: bytes, text: bool) -> None: ...

    async def close(self, code: int, reason: bytes) -> None: ...


class SocketSink:
    """The send side of one socket: a queue of frames and the task that writes them."""

    def __init__(self, ws: FrameSocket, codec: Codec) -> None:
        self._ws = ws
        self._codec = codec
        self._queue: asyncio.Queue[ServerFrame | CloseSocket] = asyncio.Queue()
        self._closing = False
        self._text = codec.text_frames
        self.writer = asyncio.create_task(self._write())

    def send(self, frame: ServerFrame) -> None:
        if not self._closing:
            self._queue.put_nowait(frame)

    def deliver(self, name: str, args: tuple[Any, ...]) -> None:
        if self._closing:
            return
        if self._queue.qsize() >= SEND_QUEUE_FRAMES:
            self._abort(SlowConsumer(f"more than {SEND_QUEUE_FRAMES} frames waiting to be read"))
            return
        self._queue.put_nowait(EventFrame(name, args))

    def close(self, code: str, message: str) -> None:
        if not self._closing:
            self._queue.put_nowait(ErrorFrame(None, code, message))
            self.finish(code)

    def moved(self, region: str, url: str) -> None:
        if not self._closing:
            self._queue.put_nowait(MovedFrame(region, url))
            self.finish("moved")

    def finish(self, code: str) -> None:
        """Send what is queued, then close the socket."""
        if not self._closing:
            self._closing = True
            self._queue.put_nowait(CloseSocket(code))

    def _abort(self, exc: EdgewiseError) -> None:
        """Drop what is queued, send one error frame and close."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self.close(exc.code, exc.message)

    async def _write(self) -> None:
        ws = self._ws
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, CloseSocket):
                    code = _CLOSE_CODES.get(item.code, CLOSE_POLICY_VIOLATION)
                    await ws.close(code, item.code.encode()[:120])
                    return
                await ws.send(self._encode(item), self._text)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("socket writer stopped: %s", exc)

    def _encode(self, frame: ServerFrame) -> bytes:
        try:
            return self._codec.encode(to_wire(frame))
        except EdgewiseError as exc:
            frame_id = frame.id if isinstance(frame, ResultFrame) else None
            return self._codec.encode(to_wire(error_frame(exc, frame_id)))


class SocketHandler:
    """Runs one WebSocket from upgrade to close."""

    def __init__(self, node: Node, actor_id: str, codec: Codec, ws: FrameSocket):
        loop = asyncio.get_running_loop()
        self._node = node
        self._ws = ws
        self._loop = loop
        self._session = Session(
            actor_id,
            codec,
            now=loop.time(),
            connect_timeout_s=node.config.actors.connect_timeout_s,
            max_bytes=node.config.limits.max_message_bytes,
        )
        self.sink = SocketSink(ws, codec)
        self._actions: set[asyncio.Task[None]] = set()
        self._open = True

    async def run(self) -> None:
        try:
            while self._open:
                await self._read_one()
        finally:
            await self._end()

    async def _read_one(self) -> None:
        deadline = self._session.deadline
        timeout = None if deadline is None else max(0.0, deadline - self._loop.time())
        try:
            data = await self._ws.receive(timeout)
        except TimeoutError:
            await self._carry_out(self._session.check_timeout(self._loop.time()))
            return
        if data is None:
            self._open = False
        else:
            await self._carry_out(self._session.receive(data, self._loop.time()))

    async def _carry_out(self, commands: list[Command]) -> None:
        for command in commands:
            match command:
                case SendFrame(frame):
                    self.sink.send(frame)
                case CloseSocket(code):
                    self.sink.finish(code)
                    self._open = False
                case OpenConnection(params):
                    await self._connect(params)
                case RunAction(frame):
                    task = asyncio.create_task(self._run_action(frame))
                    self._actions.add(task)
                    task.add_done_callback(self._actions.discard)
                case ChangeSubscription(event, subscribe):
                    self._change_subscription(event, subscribe)

    async def _connect(self, params: Any) -> None:
        try:
            conn_id = await self._node.connect(self._session.actor_id, params, self.sink)
        except Exception as exc:
            _log_unexpected(exc, "connect")
            await self._carry_out(self._session.refused(exc))
            return
        await self._carry_out(self._session.accepted(conn_id))

    def _change_subscription(self, event: str, subscribe: bool) -> None:
        conn_id = self._session.conn_id
        assert conn_id is not None, "an open session has a connection id"
        if subscribe:
            self._node.subscribe(conn_id, event)
        else:
            self._node.unsubscribe(conn_id, event)

    async def _run_action(self, frame: ActionFrame) -> None:
        session = self._session
        try:
            output = await self._node.call(
                session.actor_id, frame.name, frame.args, session.conn_id
            )
        except Exception as exc:
            _log_unexpected(exc, f"action {frame.name!r}")
            self.sink.send(error_frame(exc, frame.id))
            return
        self.sink.send(ResultFrame(frame.id, output))

    async def _end(self) -> None:
        self._session.close()
        self.sink.finish("closed")
        conn_id = self._session.conn_id
        if conn_id is not None:
            try:
                await self._node.disconnect(conn_id)
            except Exception as exc:
                log.warning("disconnect of connection %s failed: %r", conn_id, exc)
        try:
            await asyncio.wait_for(self.sink.writer, WRITER_DRAIN_S)
        except TimeoutError:
            log.warning("socket of actor %s did not flush in time", self._session.actor_id)
        if not self._ws.closed:
            await self._ws.close(CLOSE_OK, b"")


def _log_unexpected(exc: BaseException, what: str) -> None:
    if not isinstance(exc, EdgewiseError):
        log.exception("unexpected error in WebSocket %s", what, exc_info=exc)
