"""Sleep, wake and alarms seen by a WebSocket client of a real server: the socket stays open
while its actor sleeps, an alarm wakes the actor and its event reaches the socket, and a message
on the socket wakes the actor again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import MakeNode
from edgewise.client import Client
from edgewise.host.transports.http import start_server
from edgewise.host.transports.tls import TlsFiles

pytestmark = pytest.mark.timeout(60)


async def wait_for_state(client: Client, actor_id: str, state: str) -> None:
    for _ in range(200):
        if (await client.actor_info(actor_id))["state"] == state:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"actor {actor_id} never became {state}")


async def test_an_alarm_wakes_a_sleeping_actor_and_reaches_its_open_socket(
    make_node: MakeNode, transport: str, tls: TlsFiles
) -> None:
    node = await make_node(actors={"idle_timeout_s": 0.2})
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    client = Client(server.url, transport=transport, ca_file=str(tls.authority))  # type: ignore[arg-type]
    async with server, client:
        counter = client.get_or_create("counter", ["sleepy"])
        actor_id = await counter.resolve()
        counts: list[Any] = []
        arrived = asyncio.Event()

        def on_count(count: Any) -> None:
            counts.append(count)
            arrived.set()

        async with counter.connect() as conn:
            conn.on("newCount", on_count)
            await conn.call("increment_later", 600, 4)
            await wait_for_state(client, actor_id, "sleeping")
            assert counts == []
            await asyncio.wait_for(arrived.wait(), 10)
            assert counts == [4]
            await wait_for_state(client, actor_id, "sleeping")
            assert await conn.call("increment", 1) == 5
            assert (await client.actor_info(actor_id))["state"] == "active"
        assert client.last_transport == transport
