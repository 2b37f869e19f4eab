"""The client side of the node-vs-floor benchmark: one coroutine per measured figure.

Each scenario drives a server through `Api` (aiohttp, JSON or CBOR bodies) and returns a dict of
figures. Every loop is bounded twice: by a count and by a deadline. A failed call is counted in
`Errors` (with the first few messages kept) instead of ending the run, and answers are checked
against the counter's semantics, so a server that replies fast but wrongly is caught.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from _common import CONTENT_TYPES, decode, encode, latency_ms, rss_kib

KEPT_MESSAGES = 5
WS_RECEIVE_TIMEOUT_S = 10.0
SLEEP_POLL_S = 0.1


class CallFailed(Exception):
    """One request or frame was answered with an error or a wrong value."""


@dataclass
class Errors:
    count: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.messages) < KEPT_MESSAGES:
            self.messages.append(message)


@dataclass
class Api:
    session: aiohttp.ClientSession
    url: str
    encoding: str
    errors: Errors = field(default_factory=Errors)

    async def request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        headers = {"Content-Type": CONTENT_TYPES[self.encoding]}
        data = None if body is None else encode(self.encoding, body)
        try:
            async with self.session.request(
                method, self.url + path, data=data, params=params, headers=headers
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    text = raw[:200].decode(errors="replace")
                    raise CallFailed(f"{method} {path} -> {resp.status}: {text}")
                encoding = "cbor" if resp.content_type == CONTENT_TYPES["cbor"] else "json"
                return decode(encoding, raw)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise CallFailed(f"{method} {path}: {type(exc).__name__}: {exc}") from None

    async def put_actor(self, name: str, key: list[str]) -> str:
        reply = await self.request("PUT", "/v1/actors", {"name": name, "key": key})
        return str(reply["actor_id"])

    async def action(self, actor_id: str, action: str, args: list[Any]) -> Any:
        reply = await self.request(
            "POST", f"/v1/actors/{actor_id}/actions/{action}", {"args": args}
        )
        return reply["output"]

    async def gateway(self, name: str, key: list[str], action: str, args: list[Any]) -> Any:
        params = [("key", part) for part in key]
        path = f"/v1/gateway/{name}/actions/{action}"
        return (await self.request("POST", path, {"args": args}, params))["output"]

    async def state(self, actor_id: str) -> str | None:
        """Lifecycle state from GET /v1/actors/{id}, or None if the server does not say."""
        try:
            reply = await self.request("GET", f"/v1/actors/{actor_id}")
        except CallFailed:
            return None
        state = reply.get("state") if isinstance(reply, dict) else None
        return state if isinstance(state, str) else None


def expect(value: Any, wanted: Any, what: str) -> None:
    if value != wanted:
        raise CallFailed(f"{what}: expected {wanted!r}, got {value!r}")


async def sequential_http(api: Api, count: int, deadline_s: float, tag: str) -> dict[str, Any]:
    """(a) Sequential durable increments over HTTP on one warm actor."""
    actor_id = await api.put_actor("counter", ["bench-seq", tag])
    expected = 0
    for _ in range(min(20, count)):
        expected = await api.action(actor_id, "increment", [1])
    samples: list[float] = []
    stop_at = time.monotonic() + deadline_s
    while len(samples) < count and time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            output = await api.action(actor_id, "increment", [1])
            expect(output, expected + 1, "increment")
        except CallFailed as exc:
            api.errors.add(str(exc))
            continue
        samples.append(time.perf_counter() - started)
        expected = output
    return {"calls": len(samples), **latency_ms(samples)}


async def _ws_client(
    api: Api, actor_id: str, ready: asyncio.Barrier, stop_at_box: list[float], max_calls: int
) -> tuple[list[float], int]:
    url = api.url.replace("http://", "ws://") + f"/v1/actors/{actor_id}/connect"
    samples: list[float] = []
    events = 0
    async with api.session.ws_connect(url, params={"encoding": api.encoding}) as ws:

        async def send(frame: dict[str, Any]) -> None:
            if api.encoding == "cbor":
                await ws.send_bytes(encode("cbor", frame))
            else:
                await ws.send_str(encode("json", frame).decode())

        async def receive() -> dict[str, Any]:
            msg = await ws.receive(timeout=WS_RECEIVE_TIMEOUT_S)
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raise CallFailed(f"websocket ended: {msg.type.name} {msg.data!r}")
            data = msg.data.encode() if isinstance(msg.data, str) else msg.data
            frame = decode(api.encoding, data)
            if not isinstance(frame, dict):
                raise CallFailed(f"frame is not an object: {frame!r}")
            return frame

        await send({"t": "connect", "params": None})
        init = await receive()
        expect(init.get("t"), "init", "first frame")
        await send({"t": "subscribe", "event": "newCount"})
        await ready.wait()
        for call_id in range(1, max_calls + 1):
            if time.monotonic() >= stop_at_box[0]:
                break
            started = time.perf_counter()
            await send({"t": "action", "id": call_id, "name": "increment", "args": [1]})
            while True:
                frame = await receive()
                if frame.get("t") == "event":
                    events += 1
                elif frame.get("t") == "error":
                    raise CallFailed(f"error frame: {frame!r}")
                elif frame.get("t") == "result" and frame.get("id") == call_id:
                    expect(frame.get("output"), call_id, "ws increment")
                    break
            samples.append(time.perf_counter() - started)
    return samples, events


async def websocket_clients(
    api: Api, clients: int, seconds: float, max_calls: int, tag: str
) -> dict[str, Any]:
    """(b) Many WebSocket clients, each on its own actor, one increment in flight each."""
    ids = [await api.put_actor("counter", ["bench-ws", tag, str(i)]) for i in range(clients)]
    ready = asyncio.Barrier(clients + 1)
    stop_at_box = [float("inf")]
    tasks = [
        asyncio.create_task(_ws_client(api, actor_id, ready, stop_at_box, max_calls))
        for actor_id in ids
    ]
    try:
        await asyncio.wait_for(ready.wait(), WS_RECEIVE_TIMEOUT_S)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        failures = await asyncio.gather(*tasks, return_exceptions=True)
        first = next((f for f in failures if not isinstance(f, asyncio.CancelledError)), None)
        raise CallFailed(f"websocket clients did not all connect: {first!r}") from None
    started = time.perf_counter()
    stop_at_box[0] = time.monotonic() + seconds
    results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    samples: list[float] = []
    events = 0
    for result in results:
        if isinstance(result, BaseException):
            api.errors.add(f"websocket client: {type(result).__name__}: {result}")
            continue
        samples.extend(result[0])
        events += result[1]
    return {
        "acked": len(samples),
        "rate_per_s": len(samples) / elapsed if elapsed > 0 else 0.0,
        "events": events,
        **latency_ms(samples),
    }


async def _bounded_pool(
    count: int, concurrency: int, deadline_s: float, job: Callable[[int], Awaitable[None]]
) -> float:
    """Run job(0..count-1) with `concurrency` in flight; returns elapsed seconds."""
    next_index = iter(range(count))
    stop_at = time.monotonic() + deadline_s

    async def worker() -> None:
        for index in next_index:
            if time.monotonic() >= stop_at:
                return
            await job(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _activate(api: Api, key: list[str], samples: list[float]) -> None:
    started = time.perf_counter()
    try:
        expect(await api.gateway("counter", key, "increment", [1]), 1, "new actor increment")
    except CallFailed as exc:
        api.errors.add(str(exc))
        return
    samples.append(time.perf_counter() - started)


async def new_actors(
    api: Api, count: int, concurrency: int, deadline_s: float, tag: str
) -> dict[str, Any]:
    """(c) Get-or-create + one call through the gateway route, `concurrency` in flight."""
    samples: list[float] = []

    async def job(i: int) -> None:
        await _activate(api, ["bench-new", tag, str(i)], samples)

    elapsed = await _bounded_pool(count, concurrency, deadline_s, job)
    rate = len(samples) / elapsed if elapsed > 0 else 0.0
    return {"created": len(samples), "rate_per_s": rate, **latency_ms(samples)}


async def _await_sleeping(api: Api, ids: list[str], idle_timeout_s: float) -> str:
    """Wait until the server reports every actor asleep, or a fixed time if it cannot say."""
    deadline = time.monotonic() + idle_timeout_s * 4 + 5.0
    await asyncio.sleep(idle_timeout_s)
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        states = [await api.state(actor_id) for actor_id in pending]
        if all(state is None for state in states):
            await asyncio.sleep(idle_timeout_s + 1.0)
            return "waited (server reports no state)"
        pending = [a for a, s in zip(pending, states, strict=True) if s != "sleeping"]
        if pending:
            await asyncio.sleep(SLEEP_POLL_S)
    if pending:
        return f"{len(pending)} of {len(ids)} still awake at the deadline"
    return "all sleeping"


async def wake(
    api: Api, count: int, idle_timeout_s: float | None, deadline_s: float, tag: str
) -> dict[str, Any]:
    """(d) First call to a sleeping actor (or, with no idle timeout, to an existing key)."""
    ids: list[str] = []
    for i in range(count):
        actor_id = await api.put_actor("counter", ["bench-wake", tag, str(i)])
        expect(await api.action(actor_id, "increment", [1]), 1, "wake setup increment")
        ids.append(actor_id)
    slept = "not applicable"
    if idle_timeout_s is not None:
        slept = await _await_sleeping(api, ids, idle_timeout_s)
    samples: list[float] = []
    stop_at = time.monotonic() + deadline_s
    for actor_id in ids:
        if time.monotonic() >= stop_at:
            break
        started = time.perf_counter()
        try:
            expect(await api.action(actor_id, "get", []), 1, "wake get")
        except CallFailed as exc:
            api.errors.add(str(exc))
            continue
        samples.append(time.perf_counter() - started)
    return {"woken": len(samples), "before": slept, **latency_ms(samples)}


async def rss_per_actor(
    api: Api, pid: int, count: int, concurrency: int, deadline_s: float, tag: str
) -> dict[str, Any]:
    """(e) RSS growth of the server process per newly active actor."""
    await _activate(api, ["bench-rss", tag, "warm"], [])
    await asyncio.sleep(0.2)
    before = rss_kib(pid)
    samples: list[float] = []

    async def job(i: int) -> None:
        await _activate(api, ["bench-rss", tag, str(i)], samples)

    await _bounded_pool(count, concurrency, deadline_s, job)
    await asyncio.sleep(0.5)
    after = rss_kib(pid)
    active = len(samples)
    return {
        "activated": active,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_actor": (after - before) / active if active else float("nan"),
    }
