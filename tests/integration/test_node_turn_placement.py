"""Quick turns run on the event loop's thread; an actor whose turns ran over the inline budget
runs its later turns in the worker pool, so it no longer holds up other actors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cbor2
import pytest
from edgewise.host.actors import Node
from edgewise.host.config import ActorsConfig, Config, LimitsConfig, NodeConfig
from test_node_wat import OK, guest

pytestmark = pytest.mark.timeout(60)

# About 0.1-0.5 s of wasm on this machine: far over the 2 ms inline budget, under the timeout.
# The loop counts down in the turn's first parameter; the result is {"ok": 2} at address 16.
BUSY = guest(
    {"ok": 2},
    body=f"""
    (local.set 0 (i32.const 150000000))
    (loop $spin (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                (br_if $spin (local.get 0)))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len(cbor2.dumps({"ok": 2}))}))""",
)


async def test_a_slow_actor_moves_to_the_pool_and_stops_blocking_others(tmp_path: Path) -> None:
    config = Config(
        node=NodeConfig(data_dir=str(tmp_path / "data")),
        limits=LimitsConfig(turn_timeout_ms=5000),
        actors=ActorsConfig(inline_turn_budget_ms=2.0),
    )
    async with await Node.open(config) as node:
        await node.deploy(BUSY, "busy")
        await node.deploy(OK, "plain")
        busy, _ = await node.get_or_create("busy", ("a",))  # its create turn ran inline, slowly
        assert await node.call(busy.actor_id, "spin", ()) == 2  # a second slow turn: to the pool
        plain, _ = await node.get_or_create("plain", ("b",))
        slow_call = asyncio.create_task(node.call(busy.actor_id, "spin", ()))
        await asyncio.sleep(0.01)
        assert await node.call(plain.actor_id, "go", ()) == 1
        assert not slow_call.done(), "the busy actor's turn should still be running in the pool"
        assert await asyncio.wait_for(slow_call, 10) == 2
