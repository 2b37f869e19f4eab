"""Which of several region endpoints is nearest: the lowest round trip time of a few health
checks each, measured concurrently (their answers also name each endpoint's region). An endpoint
that does not answer counts as infinitely far."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from edgewise.client.errors import ServerUnreachable
from edgewise.client.transport import H1Transport

PROBES = 3


@dataclass(frozen=True)
class Probe:
    rtt_ms: float  # infinite when the endpoint did not answer
    region: str | None  # what its health answer said


async def measure_rtts(urls: Sequence[str], timeout_s: float) -> dict[str, Probe]:
    """The fastest of ``PROBES`` ``GET /v1/health`` to each endpoint, and its region."""

    async def one(url: str) -> tuple[str, Probe]:
        transport = H1Transport(url, timeout_s)
        best, region = float("inf"), None
        try:
            for _ in range(PROBES):
                started = time.perf_counter()
                reply = await transport.request("GET", "/v1/health", [], {}, None)
                if reply.status == 200:
                    best = min(best, (time.perf_counter() - started) * 1000.0)
                    value = reply.value()
                    if isinstance(value, dict) and isinstance(value.get("region"), str):
                        region = value["region"]
        except ServerUnreachable:
            pass
        finally:
            await transport.close()
        return url, Probe(best, region)

    return dict(await asyncio.gather(*(one(url) for url in urls)))
