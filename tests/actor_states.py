"""Waiting, bounded, for an actor of an in-process ``Node`` to reach a lifecycle state."""

from __future__ import annotations

import asyncio

from edgewise.host.actors import Node


async def wait_for_state(node: Node, actor_id: str, state: str, attempts: int) -> None:
    for _ in range(attempts):
        if node.get(actor_id).state == state:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"actor never reached {state}: {node.get(actor_id).state}")
