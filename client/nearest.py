"""Which of several region endpoints is nearest: the lowest round trip time of a few health
checks each, measured concurrently. An endpoint that does not answer counts as infinitely far."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from edgewise.client.errors import ServerUnreachable
from edgewise.client.transport import H1Transport

PROBES = 3


async def measure_rtts(urls: Sequence[str], timeout_s: float) -> dict[str, float]:
    """Milliseconds of the fastest of ``PROBES`` ``GET /v1/health`` to each endpoint."""

    async def one(url: str) -> tuple[str, float]:
        transport = H1Transport(url, timeout_s)
        best = float("inf")
        try:
            for _ in range(PROBES):
                started = time.perf_counter()
                reply = await transport.request("GET", "/v1/health", [], {}, None)
                if reply.status == 200:
                    best = min(best, (time.perf_counter() - started) * 1000.0)
        except ServerUnreachable:
            pass
        finally:
            await transport.close()
        return url, best

    return dict(await asyncio.gather(*(one(url) for url in urls)))
