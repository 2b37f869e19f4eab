"""``ActorConnection``: one WebSocket to one actor, with events, calls and reconnection.

Opening sends the connect frame and waits for ``init``; event handlers registered with ``on``
subscribe their event (also again after every reconnect). Calls carry ids and may overlap. When
the socket drops, pending calls fail with ``ConnectionLost`` and the connection re-establishes
itself with bounded exponential backoff (``ReconnectPolicy``); calls made meanwhile wait for it.
A refused connect, an unknown actor or the end of the attempts stops it for good.

Regions: a ``location`` frame (this socket goes through a forwarding node) makes the next
reconnection go to the actor's node directly; a ``moved`` frame (the actor migrated) makes the
connection reconnect there at once and subscribe again. Calls still pending then, and calls
refused with ``actor.moved``, never ran at the old node: they are sent again once, after the
reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgewise.client.errors import (
    ClientClosed,
    ConnectionLost,
    EdgewiseClientError,
    ProtocolViolation,
    ServerUnreachable,
)
from edgewise.host.errors import EdgewiseError
from edgewise.host.protocol.messages import (
    ActionFrame,
    ClientFrame,
    ConnectFrame,
    ErrorFrame,
    EventFrame,
    InitFrame,
    LocationFrame,
    MovedFrame,
    ResultFrame,
    ServerFrame,
    SubscribeFrame,
    UnsubscribeFrame,
    parse_server_frame,
    to_wire,
)

if TYPE_CHECKING:
    from edgewise.client.client import Client
    from edgewise.client.transport import ClientSocket

log = logging.getLogger("edgewise.client")

EventHandler = Callable[..., Any]
MAX_FRAMES_BEFORE_INIT = 4
FINAL_CODES = frozenset({"connection.refused", "actor.not_found", "auth.unauthorized"})
"""Errors after which reconnecting cannot help."""


@dataclass(frozen=True)
class ReconnectPolicy:
    max_attempts: int = 5
    """Attempts after one drop before giving up (0: never reconnect)."""
    base_delay_s: float = 0.05
    """Delay before the first attempt; doubles each attempt."""
    max_delay_s: float = 2.0
    """Longest delay between two attempts."""

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * 2**attempt))


class ActorConnection:
    def __init__(
        self,
        client: Client,
        resolve: Callable[[], Awaitable[str]],
        params: Any,
        policy: ReconnectPolicy,
    ) -> None:
        self._client = client
        self._resolve = resolve
        self._params = params
        self._policy = policy
        self._codec = client.codec
        self._handlers: dict[str, list[EventHandler]] = {}
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._ws: ClientSocket | None = None
        self._ready = asyncio.Event()
        self._failure: EdgewiseClientError | None = None
        self._reader: asyncio.Task[None] | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._sending: set[asyncio.Future[Any]] = set()
        self.actor_id: str | None = None
        self.url: str | None = None
        self._moving = False
        """The node to connect to, once a forwarding node or a move said (else the client's)."""
        self.conn_id: int | None = None
        self.reconnects = 0

    async def __aenter__(self) -> ActorConnection:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect; raises the server's error (e.g. ``connection.refused``) if refused."""
        self.actor_id = await self._resolve()
        self._ws = await self._establish()
        self._ready.set()
        self._reader = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Close the socket; idempotent. Pending calls fail with ``ClientClosed``."""
        if isinstance(self._failure, ClientClosed):
            return
        self._failure = ClientClosed("the connection is closed")
        self._ready.set()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._fail_pending(self._failure)

    # --- events -------------------------------------------------------------------------------

    def on(self, event: str, handler: EventHandler) -> None:
        """Call ``handler(*args)`` for each ``event``; subscribes to it if not yet."""
        first = event not in self._handlers
        self._handlers.setdefault(event, []).append(handler)
        if first and self._ready.is_set() and self._failure is None:
            self._send_later(SubscribeFrame(event))

    def off(self, event: str) -> None:
        """Remove every handler of ``event`` and unsubscribe."""
        if self._handlers.pop(event, None) is not None and self._failure is None:
            self._send_later(UnsubscribeFrame(event))

    # --- calls --------------------------------------------------------------------------------

    async def call(self, action: str, *args: Any) -> Any:
        """Run one action over this socket and return its output."""
        try:
            return await self._call_once(action, args)
        except EdgewiseClientError as exc:
            if exc.code != "actor.moved":
                raise
        await asyncio.sleep(0)  # the moved frame came first: the reconnection is under way
        return await self._call_once(action, args)

    async def _call_once(self, action: str, args: tuple[Any, ...]) -> Any:
        await self._ready.wait()
        if self._failure is not None:
            raise self._failure
        await self._drain_background()
        frame_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            await self._send(ActionFrame(frame_id, action, args))
            return await future
        finally:
            self._pending.pop(frame_id, None)

    # --- socket -------------------------------------------------------------------------------

    async def _establish(self) -> ClientSocket:
        client = self._client
        path = f"/v1/actors/{self.actor_id}/connect"
        ws = await client.open_socket(path, [("encoding", self._codec.encoding)], self.url)
        try:
            await self._send_on(ws, ConnectFrame(self._params))
            frame = await self._first_answer(ws, path)
            if isinstance(frame, ErrorFrame):
                raise EdgewiseClientError(frame.message, code=frame.code)
            if not isinstance(frame, InitFrame):
                raise ProtocolViolation(f"expected an init frame, got {frame!r}")
            self.conn_id = frame.conn_id
            for event in self._handlers:
                await self._send_on(ws, SubscribeFrame(event))
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _first_answer(self, ws: ClientSocket, path: str) -> ServerFrame:
        """The answer to the connect frame; a ``location`` frame before it is noted."""
        for _ in range(MAX_FRAMES_BEFORE_INIT):
            try:
                data = await ws.receive(self._client.timeout_s)
            except TimeoutError:
                raise ServerUnreachable(f"{path}: no answer to the connect frame") from None
            frame = self._decode(data)
            if not isinstance(frame, LocationFrame):
                return frame
            self._dispatch(frame)
        raise ProtocolViolation(f"{path}: no init frame after {MAX_FRAMES_BEFORE_INIT} frames")

    async def _run(self) -> None:
        while self._ws is not None:
            await self._read(self._ws)
            self._ready.clear()
            if self._failure is not None:
                break
            if self._moving:  # what was pending then never ran at the old node: retried
                self._fail_pending(EdgewiseClientError("the actor moved", code="actor.moved"))
                self._moving = False
            else:
                self._fail_pending(ConnectionLost("the connection dropped"))
            self._ws = await self._reconnect()
        self._ready.set()

    async def _read(self, ws: ClientSocket) -> None:
        while (data := await ws.receive(None)) is not None:
            try:
                self._dispatch(self._decode(data))
            except ProtocolViolation as exc:
                log.warning("ignoring a frame: %s", exc)

    async def _reconnect(self) -> ClientSocket | None:
        last: EdgewiseClientError = ConnectionLost("the connection dropped")
        for attempt in range(self._policy.max_attempts):
            await asyncio.sleep(self._policy.delay(attempt))
            if self._failure is not None:
                return None
            try:
                ws = await self._establish()
            except EdgewiseClientError as exc:
                last = exc
                if exc.code in FINAL_CODES:
                    break
                continue
            self.reconnects += 1
            self._ready.set()
            return ws
        self._failure = ConnectionLost(f"could not reconnect: {last}")
        return None

    def _dispatch(self, frame: ServerFrame) -> None:
        match frame:
            case ResultFrame(frame_id, output):
                future = self._pending.get(frame_id)  # type: ignore[arg-type]
                if future is not None and not future.done():
                    future.set_result(output)
            case ErrorFrame(None, code, message):
                log.info("connection to actor %s ended by the server: %s", self.actor_id, code)
            case ErrorFrame(frame_id, code, message):
                future = self._pending.get(frame_id)  # type: ignore[arg-type]
                if future is not None and not future.done():
                    future.set_exception(EdgewiseClientError(message, code=code))
            case EventFrame(name, args):
                for handler in list(self._handlers.get(name, ())):
                    self._run_handler(handler, args)
            case LocationFrame(region, url):
                self.url = self._client.endpoint_for(region, url)
            case MovedFrame(region, url):
                log.info("actor %s moved to region %s: reconnecting", self.actor_id, region)
                self.url = self._client.endpoint_for(region, url)
                self._moving = True
                self._ready.clear()

    def _run_handler(self, handler: EventHandler, args: tuple[Any, ...]) -> None:
        try:
            result = handler(*args)
        except Exception:
            log.exception("event handler failed")
            return
        if inspect.isawaitable(result):
            self._track(asyncio.ensure_future(result))

    def _fail_pending(self, exc: EdgewiseClientError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    # --- sending ------------------------------------------------------------------------------

    def _decode(self, data: bytes | None) -> ServerFrame:
        if data is None:
            raise ConnectionLost("the socket closed")
        try:
            return parse_server_frame(self._codec.decode(data, len(data)))
        except EdgewiseError as exc:
            raise ProtocolViolation(exc.message) from None

    async def _send_on(self, ws: ClientSocket, frame: ClientFrame) -> None:
        data = self._codec.encode(to_wire(frame))
        try:
            await ws.send(data, self._codec.text_frames)
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionLost(f"sending failed: {exc}") from None

    async def _send(self, frame: ClientFrame) -> None:
        if self._ws is None:
            raise ConnectionLost("not connected")
        await self._send_on(self._ws, frame)

    def _send_later(self, frame: ClientFrame) -> None:
        future = asyncio.ensure_future(self._send_quietly(frame))
        self._sending.add(future)
        future.add_done_callback(self._sending.discard)

    async def _send_quietly(self, frame: ClientFrame) -> None:
        with contextlib.suppress(EdgewiseClientError):
            await self._send(frame)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    async def _drain_background(self) -> None:
        """Let queued subscribe frames go out before a call that may trigger their events."""
        if self._sending:
            await asyncio.wait(list(self._sending))
