"""A TCP proxy that adds a fixed delay each way: distance between regions on one machine.

``DelayProxy(upstream_port, one_way_ms)`` listens on 127.0.0.1 and forwards every connection to
the upstream port. Each chunk read is stamped and written out ``one_way_ms`` later, so the round
trip grows by twice that while throughput is not throttled (chunks are pipelined, not delayed
one after the other). Used by ``edgewise regions demo``, the regions benchmark and tests, in
front of a region's node for everything that comes from another region.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

CHUNK_BYTES = 65536
CLOSE_TIMEOUT_S = 2.0


class DelayProxy:
    def __init__(self, upstream_port: int, one_way_ms: float) -> None:
        self.upstream_port = upstream_port
        self.delay_s = one_way_ms / 1000.0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> DelayProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def close(self) -> None:
        """Stop accepting and end every connection (their sockets close, the pipes finish)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT_S)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            self._tasks.discard(task)
            return
        self._writers.add(up_writer)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, up_writer):
                w.close()
                self._writers.discard(w)
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy ``reader`` to ``writer``, each chunk ``delay_s`` after it was read."""
        loop = asyncio.get_running_loop()
        queue: deque[tuple[float, bytes]] = deque()
        arrived = asyncio.Event()

        async def deliver() -> None:
            while True:
                while not queue:
                    arrived.clear()
                    await arrived.wait()
                due, data = queue.popleft()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                try:
                    data = await reader.read(CHUNK_BYTES)
                except OSError:
                    data = b""
                queue.append((loop.time() + self.delay_s, data))
                arrived.set()
                if not data:
                    break
            with contextlib.suppress(OSError, RuntimeError):
                await sender
        finally:
            sender.cancel()
