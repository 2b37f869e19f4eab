"""The node's handover hooks that migration builds on: hold (turns wait, the activation finishes
what it had and leaves memory), release here or to another node (waiting turns fail with
actor.moved, sockets are told where), export, drop and import of the actor's data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import MakeNode
from edgewise.host.errors import ActorMoved, ActorNotFound
from recording_sink import RecordingSink

pytestmark = pytest.mark.timeout(30)


async def test_hold_serves_what_waited_then_parks_new_turns(make_node: MakeNode) -> None:
    node = await make_node()
    info, _ = await node.get_or_create("counter", ("held",))
    queued = [asyncio.create_task(node.call(info.actor_id, "increment", (1,))) for _ in range(20)]
    await asyncio.sleep(0)
    await asyncio.wait_for(node.hold(info.actor_id), 2.0)  # not the 5 s drain timeout
    assert all(task.done() for task in queued)
    assert sorted(task.result() for task in queued) == list(range(1, 21))
    assert node.get(info.actor_id).state == "sleeping"
    later = asyncio.create_task(node.call(info.actor_id, "increment", (1,)))
    await asyncio.sleep(0.05)
    assert not later.done()
    node.release(info.actor_id)
    assert await asyncio.wait_for(later, 2.0) == 21


async def test_release_to_another_node_fails_waiting_turns_and_moves_sockets(
    make_node: MakeNode, tmp_path: Path
) -> None:
    node = await make_node()
    other = await make_node()
    info, _ = await node.get_or_create("counter", ("leaving",))
    assert await node.call(info.actor_id, "increment", (7,)) == 7
    sink = RecordingSink()
    await node.connect(info.actor_id, None, sink)
    await node.hold(info.actor_id)
    export = await node.export_actor(info.actor_id, tmp_path / "actor.sst")
    waiting = asyncio.create_task(node.call(info.actor_id, "get", ()))
    await asyncio.sleep(0.02)
    node.release(info.actor_id, moved_to=("b", "http://127.0.0.1:1"))
    with pytest.raises(ActorMoved) as moved:
        await waiting
    assert (moved.value.code, moved.value.region, moved.value.url) == (
        "actor.moved", "b", "http://127.0.0.1:1")  # fmt: skip
    await asyncio.sleep(0)
    assert sink.moves == [("b", "http://127.0.0.1:1")]
    await node.drop_local(info.actor_id)
    assert not node.has_actor(info.actor_id)
    with pytest.raises(ActorMoved):
        await node.call(info.actor_id, "get", ())

    imported = await other.import_actor(tmp_path / "actor.sst", export.sha256)
    assert imported.actor_id == info.actor_id and other.has_actor(info.actor_id)
    assert await other.call(info.actor_id, "get", ()) == 7
    assert other.local_actor_id("counter", ("leaving",)) == info.actor_id
    with pytest.raises(ActorNotFound):
        node.get(info.actor_id)
