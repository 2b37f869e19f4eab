"""Two regions with 40 ms between them (``regions.demo``, delay proxies): a client that says it
is in ``us`` keeps calling an actor created in ``eu`` until follow-the-user moves the actor to
``us``; the client's calls then stay in its region. The delay itself is checked too."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from edgewise.client import Client
from edgewise.host.actors import Node
from edgewise.host.config import FollowConfig
from edgewise.regions.demo import start_demo

pytestmark = pytest.mark.timeout(90)

RTT_MS = 40.0
FOLLOW = FollowConfig(enabled=True, window_s=30.0, min_calls=10, share=0.6, cooldown_s=60.0)


async def test_an_actor_follows_its_users_to_their_region(
    tmp_path: Path, built_examples: dict[str, Any]
) -> None:
    wasm = built_examples["counter"].wasm_path.read_bytes()

    async def deploy(node: Node) -> None:
        await node.deploy(wasm, "counter")

    demo = await start_demo(tmp_path, RTT_MS, deploy, follow=FOLLOW)
    try:
        eu, us = demo.regions["eu"], demo.regions["us"]
        async with Client(eu.local_url, transport="h1") as local:
            handle = local.get_or_create("counter", ["follow-me"])
            assert await handle.call("increment", 1) == 1
            actor_id = await handle.resolve()
        assert eu.node.has_actor(actor_id)

        async with Client([eu.remote_url, us.local_url], transport="h1") as remote:
            mine = remote.get(actor_id)
            assert await remote.health() and remote.url == us.local_url
            assert remote.region == "us" and remote.rtts_ms[eu.remote_url] >= RTT_MS
            for _ in range(60):
                await mine.call("increment", 1)
                if us.node.has_actor(actor_id) and mine.url == us.local_url:
                    break
            assert us.node.has_actor(actor_id) and not eu.node.has_actor(actor_id)
            assert mine.url == us.local_url
            started = time.perf_counter()
            count = await mine.call("get")
            assert (time.perf_counter() - started) * 1000 < RTT_MS  # no round trip to eu
            assert count >= 11
    finally:
        await demo.close()
