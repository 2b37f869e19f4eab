"""Migrations that go wrong: a target region that is down, a flip whose answer was lost, a
directory outage at the flip, a source that restarts with the copy it should have dropped, and a
NATS server of the directory's region killed mid-migration. Afterwards the actor has exactly
one owner and every acknowledged increment."""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from typing import Any

import pytest
from conftest import MakeNode
from edgewise.client import Client
from edgewise.regions.directory import Directory
from edgewise.regions.nats_cluster import SuperCluster
from faulty_directory import FaultyDirectory
from regions_harness import RegionNode, Regions, migrate, two_regions

pytestmark = pytest.mark.timeout(120)

CHUNK = 256 * 1024


async def counter_in_a(regions: Regions, count: int) -> str:
    async with Client(regions["a"].url, transport="h1") as client:
        handle = client.get_or_create("counter", [uuid.uuid4().hex])
        assert await handle.call("increment", count) == count
        return await handle.resolve()


async def count_via(node: RegionNode, actor_id: str) -> int:
    async with Client(node.url, transport="h1") as client:
        value = await client.get(actor_id).call("get")
        assert isinstance(value, int)
        return value


async def owners(regions: Regions, actor_id: str) -> list[str]:
    return [name for name, region in regions.items() if region.node.has_actor(actor_id)]


async def test_a_region_that_is_down_fails_the_migration_and_changes_nothing(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    async with two_regions(make_node, nats_cluster) as regions:
        actor_id = await counter_in_a(regions, 5)
        await regions.stop("b")
        status, answer = await migrate(regions["a"], actor_id, {"to": "b"})
        assert (status, answer["error"]["code"]) == (409, "migration.failed")
        assert "did not answer" in answer["error"]["message"]
        assert await owners(regions, actor_id) == ["a"]
        assert await count_via(regions["a"], actor_id) == 5
        owner = await regions["a"].member.directory.owner(actor_id)
        assert owner is not None and owner.placement.node == "a-1"


def faulty_in_a(made: dict[str, FaultyDirectory]) -> Any:
    def wrap(region: str, real: Directory) -> Directory:
        if region != "a":
            return real
        made[region] = FaultyDirectory(real)
        return made[region]

    return wrap


async def test_a_flip_whose_answer_was_lost_is_settled_by_reading_the_owner(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    faulty: dict[str, FaultyDirectory] = {}
    async with two_regions(make_node, nats_cluster, wrap=faulty_in_a(faulty)) as regions:
        actor_id = await counter_in_a(regions, 7)
        faulty["a"].lose_flip_answer = True
        status, answer = await migrate(regions["a"], actor_id, {"to": "b"})
        assert status == 200, answer
        assert await owners(regions, actor_id) == ["b"]
        assert await count_via(regions["a"], actor_id) == 7


async def test_a_directory_outage_at_the_flip_holds_the_actor_until_it_can_tell(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    faulty: dict[str, FaultyDirectory] = {}
    async with two_regions(make_node, nats_cluster, wrap=faulty_in_a(faulty)) as regions:
        actor_id = await counter_in_a(regions, 3)
        faulty["a"].fail_flip, faulty["a"].outage_s = True, 1.5
        waiting = asyncio.create_task(count_via(regions["a"], actor_id))
        status, answer = await migrate(regions["a"], actor_id, {"to": "b"})
        assert (status, answer["error"]["code"]) == (409, "migration.failed")
        assert "did not happen" in answer["error"]["message"]
        assert await asyncio.wait_for(waiting, 10) == 3  # it waited, then ran at a
        for _ in range(100):  # the target drops what it ingested once it hears the abort
            if await owners(regions, actor_id) == ["a"]:
                break
            await asyncio.sleep(0.05)
        assert await owners(regions, actor_id) == ["a"]
        assert await count_via(regions["b"], actor_id) == 3


async def test_a_source_restarted_with_its_old_copy_never_serves_it(
    make_node: MakeNode, nats_cluster: SuperCluster, tmp_path: Any
) -> None:
    async with two_regions(make_node, nats_cluster) as regions:
        actor_id = await counter_in_a(regions, 4)
        a = regions["a"]
        await a.node.hold(actor_id)
        stale = await a.node.export_actor(actor_id, tmp_path / "stale.sst")
        a.node.release(actor_id)
        status, answer = await migrate(a, actor_id, {"to": "b"})
        assert status == 200, answer
        assert await count_via(regions["b"], actor_id) == 4
        async with Client(regions["b"].url, transport="h1") as client:
            assert await client.get(actor_id).call("increment", 1) == 5
        a = await regions.restart("a")  # as if it died between the flip and dropping its copy
        await a.node.import_actor(tmp_path / "stale.sst", stale.sha256)
        assert a.node.has_actor(actor_id)
        assert await count_via(a, actor_id) == 5  # served by b, through a
        assert await owners(regions, actor_id) == ["b"]


async def test_a_killed_nats_server_of_the_directory_region_does_not_stop_a_migration(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    async with two_regions(make_node, nats_cluster) as regions:
        actor_id = await counter_in_a(regions, 2)
        nats_cluster.kill("a-1")
        try:
            for _ in range(60):  # if it led the bucket, JetStream elects another leader first
                status, answer = await migrate(regions["a"], actor_id, {"to": "b"})
                if status != 503:
                    break
                await asyncio.sleep(0.5)
            assert status == 200, answer
            assert await owners(regions, actor_id) == ["b"]
            assert await count_via(regions["a"], actor_id) == 2
        finally:
            nats_cluster.restart("a-1")


async def one_owner(regions: Regions, actor_id: str) -> str:
    """The region the directory names; only its node may serve the actor (a target that had
    ingested a copy before its migration died keeps it unserved until it learns the outcome)."""
    owner = await regions["a"].member.directory.owner(actor_id)
    assert owner is not None
    region = owner.placement.region
    assert regions[region].node.has_actor(actor_id)
    for name, other in regions.items():
        if name != region:
            incoming = other.member.router.incoming
            assert not other.node.has_actor(actor_id) or actor_id in incoming
    return region


async def chat_room_in_a(regions: Regions, size: int) -> tuple[str, str]:
    """A chat room in a holding ``size`` bytes of incompressible messages; its id and the text
    of the last one."""
    rng = random.Random(7)
    async with Client(regions["a"].url, transport="h1") as client:
        room = client.get_or_create("chat_room", [uuid.uuid4().hex])
        async with room.connect({"user": "ann"}) as conn:
            for _ in range(size // CHUNK):
                text = "".join(rng.choices(string.ascii_letters, k=CHUNK))
                await conn.call("send", text)
        return await room.resolve(), text


async def last_message(node: RegionNode, actor_id: str) -> str:
    async with Client(node.url, transport="h1") as client:
        [message] = await client.get(actor_id).call("history", 1)
        return str(message["text"])


async def when_streaming(regions: Regions, actor_id: str) -> None:
    for _ in range(5000):
        progress = regions["a"].member.migrations.progress(actor_id)
        if progress is not None and progress.state == "streaming" and progress.sent_bytes:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the migration never streamed")


@pytest.mark.parametrize("killed", ["a", "b"])
async def test_a_node_killed_mid_stream_leaves_the_actor_at_the_source(
    make_node: MakeNode, nats_cluster: SuperCluster, killed: str
) -> None:
    async with two_regions(make_node, nats_cluster) as regions:
        actor_id, last = await chat_room_in_a(regions, 24 * CHUNK)
        moving = asyncio.create_task(migrate(regions["a"], actor_id, {"to": "b"}))
        await when_streaming(regions, actor_id)
        await regions.stop(killed)
        if killed == "b":
            status, answer = await moving
            assert (status, answer["error"]["code"]) == (409, "migration.failed")
        else:
            await asyncio.gather(moving, return_exceptions=True)  # its node is gone
        await regions.start(killed, _data_dir(regions, killed))
        owner = await one_owner(regions, actor_id)
        if killed == "b":
            assert owner == "a"
        for region in regions.values():  # all its state, wherever it is asked
            assert await last_message(region, actor_id) == last


async def test_a_target_killed_right_after_the_flip_owns_the_actor_after_restart(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    faulty: dict[str, FaultyDirectory] = {}
    async with two_regions(make_node, nats_cluster, wrap=faulty_in_a(faulty)) as regions:
        actor_id = await counter_in_a(regions, 9)
        data_dir = _data_dir(regions, "b")

        async def kill_target() -> None:
            await regions.stop("b")

        faulty["a"].after_flip = kill_target
        status, answer = await migrate(regions["a"], actor_id, {"to": "b"})
        assert status == 200, answer  # the flip is what counts: b owns it
        assert not regions["a"].node.has_actor(actor_id)
        await regions.start("b", data_dir)
        assert await count_via(regions["a"], actor_id) == 9
        assert await owners(regions, actor_id) == ["b"]


def _data_dir(regions: Regions, region: str) -> str:
    return regions.data_dirs[region]


async def test_the_whole_directory_region_down_at_the_flip_then_back(
    make_node: MakeNode, tmp_path: Any
) -> None:
    """All three NATS servers of the region holding the directory die while a migration streams,
    and come back a little later: the source keeps the actor held until the directory can say
    whether the owner changed, then the actor has one owner and all its state."""
    with SuperCluster(["a", "b"], tmp_path / "nats") as nats:
        async with two_regions(make_node, nats) as regions:
            actor_id, last = await chat_room_in_a(regions, 24 * CHUNK)
            status, answer = await migrate(regions["a"], actor_id, {"to": "mars"})
            assert status == 404
            directory_servers = ["a-1", "a-2", "a-3"]
            moving = asyncio.create_task(migrate(regions["a"], actor_id, {"to": "b"}))
            await when_streaming(regions, actor_id)
            for name in directory_servers:
                nats.kill(name)
            await asyncio.sleep(1.0)
            for name in directory_servers:
                await asyncio.to_thread(nats.restart, name)
            status, answer = await asyncio.wait_for(moving, 90)
            assert status in (200, 409), answer
            owner = await one_owner(regions, actor_id)
            assert owner == ("b" if status == 200 else "a")
            for region in regions.values():
                assert await last_message(region, actor_id) == last
