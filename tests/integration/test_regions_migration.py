"""Live migration between two regions under load: HTTP and WebSocket clients keep calling while
the actor moves from a to b; every acknowledged increment is in the final count, none ran twice,
the state left a, and the connected client follows the actor to b with its subscription."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from conftest import MakeNode
from edgewise.client import Client, EdgewiseClientError, ReconnectPolicy
from edgewise.regions.nats_cluster import SuperCluster
from regions_harness import migrate, two_regions

pytestmark = pytest.mark.timeout(90)

FAST = ReconnectPolicy(max_attempts=20, base_delay_s=0.01, max_delay_s=0.1)
LOAD_S = 0.4
WAIT_S = 5.0


class Load:
    """Workers that increment until stopped, counting what they tried and what was acked."""

    def __init__(self) -> None:
        self.attempted = 0
        self.acked = 0
        self.errors: list[str] = []
        self.stop = asyncio.Event()

    async def run(self, call: Any) -> None:
        for _ in range(100_000):
            if self.stop.is_set():
                return
            self.attempted += 1
            try:
                await asyncio.wait_for(call(), WAIT_S)
            except (EdgewiseClientError, TimeoutError) as exc:
                self.errors.append(repr(exc))
            else:
                self.acked += 1


async def test_an_actor_moves_under_load_and_its_clients_follow(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions:
        a, b = regions["a"], regions["b"]
        async with Client(a.url, reconnect=FAST, transport="h1") as client:
            handle = client.get_or_create("counter", [key])
            assert await handle.call("increment", 10) == 10
            actor_id = await handle.resolve()
            counts: asyncio.Queue[int] = asyncio.Queue()
            async with handle.connect() as conn:
                conn.on("newCount", counts.put_nowait)
                assert await conn.call("increment", 1) == 11
                load = Load()
                http_handles = [client.get(actor_id) for _ in range(3)]
                workers = [asyncio.create_task(load.run(lambda h=h: h.call("increment", 1)))
                           for h in http_handles]  # fmt: skip
                workers.append(asyncio.create_task(load.run(lambda: conn.call("increment", 1))))
                await asyncio.sleep(LOAD_S)
                status, report = await migrate(a, actor_id, {"to": "b"})
                assert status == 200, report
                assert (report["from"], report["to"], report["node"]) == ("a", "b", "b-1")
                await asyncio.sleep(LOAD_S)
                load.stop.set()
                await asyncio.gather(*workers)

                assert b.node.has_actor(actor_id) and not a.node.has_actor(actor_id)
                final = await client.get(actor_id).call("get")
                assert 11 + load.acked <= final <= 11 + load.attempted, (final, load.errors)
                assert load.acked > 0

                assert conn.url == b.url and conn.reconnects >= 1
                while not counts.empty():
                    counts.get_nowait()
                assert await conn.call("increment", 1) == final + 1
                assert await asyncio.wait_for(counts.get(), WAIT_S) == final + 1
            assert any(h.url == b.url for h in http_handles)


async def test_bad_migrations_fail_clearly_and_change_nothing(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions:
        a, b = regions["a"], regions["b"]
        async with Client(a.url, transport="h1") as client:
            handle = client.get_or_create("counter", [key])
            assert await handle.call("increment", 3) == 3
            actor_id = await handle.resolve()
            status, answer = await migrate(a, actor_id, {"to": "mars"})
            assert (status, answer["error"]["code"]) == (404, "region.unknown")
            status, answer = await migrate(a, actor_id, {"to": "a"})
            assert (status, answer["error"]["code"]) == (400, "request.invalid")
            status, answer = await migrate(a, uuid.uuid4().hex, {"to": "b"})
            assert (status, answer["error"]["code"]) == (404, "actor.not_found")
            for body in ({}, {"to": 5}, {"to": "b", "x": 1}, ["b"]):
                status, answer = await migrate(a, actor_id, body)
                assert (status, answer["error"]["code"]) == (400, "request.invalid")
            assert a.node.has_actor(actor_id) and not b.node.has_actor(actor_id)
            assert await handle.call("increment", 1) == 4


async def test_an_actor_can_move_there_and_back(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions:
        a, b = regions["a"], regions["b"]
        async with Client(b.url, transport="h1", reconnect=FAST) as client:
            handle = client.get_or_create("counter", [key])
            assert await handle.call("increment", 1) == 1
            actor_id = await handle.resolve()
            assert b.node.has_actor(actor_id)
            async with handle.connect() as conn:
                for hop, (source, target) in enumerate([(b, a), (a, b), (b, a)]):
                    status, report = await migrate(b, actor_id, {"to": target.region})
                    assert status == 200 and report["to"] == target.region, report
                    assert target.node.has_actor(actor_id) and not source.node.has_actor(actor_id)
                    assert await client.get(actor_id).call("increment", 1) == 2 + 2 * hop
                    assert await conn.call("increment", 1) == 3 + 2 * hop
                    assert conn.url == target.url
