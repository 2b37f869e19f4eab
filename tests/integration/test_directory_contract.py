"""The directory contract, run against both implementations: the local RocksDB one and NATS
JetStream KV on a real super-cluster of two regions (each region opens its own connection)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from edgewise.regions.directory import Directory, LocalDirectory, Owner, Placement
from edgewise.regions.directory_nats import NatsDirectory
from edgewise.regions.errors import DirectoryConflict, DirectoryUnavailable
from edgewise.regions.nats_cluster import SuperCluster, free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["local", "nats"])
async def directories(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Directory, Directory]]:
    """Two handles on one directory (for NATS: one from each region)."""
    if request.param == "local":
        local = LocalDirectory.open(tmp_path / "directory")
        yield local, local
        await local.close()
        return
    cluster: SuperCluster = request.getfixturevalue("nats_cluster")
    a = await NatsDirectory.connect(cluster.urls("a"), placement_cluster="a")
    b = await NatsDirectory.connect(cluster.urls("b"), placement_cluster="a")
    yield a, b
    await a.close()
    await b.close()


def new_id() -> str:
    return uuid.uuid4().hex


async def test_the_first_claim_of_a_key_wins(directories: tuple[Directory, Directory]) -> None:
    a, b = directories
    key = ("room", new_id())
    first, second = new_id(), new_id()
    assert await a.lookup_key("chat", key) is None
    assert await a.claim_key("chat", key, first) == first
    assert await b.claim_key("chat", key, second) == first
    assert await b.lookup_key("chat", key) == first
    assert await a.lookup_key("other", key) is None  # keys are per module
    await b.release_key("chat", key, second)  # not the recorded actor: nothing happens
    assert await a.lookup_key("chat", key) == first
    await b.release_key("chat", key, first)
    assert await a.lookup_key("chat", key) is None
    assert await b.claim_key("chat", key, second) == second


async def test_racing_claims_from_two_regions_end_with_one_actor(
    directories: tuple[Directory, Directory],
) -> None:
    a, b = directories
    key = (new_id(),)
    ids = [new_id() for _ in range(10)]
    claims = [(a if i % 2 else b).claim_key("counter", key, actor) for i, actor in enumerate(ids)]
    winners = set(await asyncio.gather(*claims))
    assert len(winners) == 1 and winners <= set(ids)


async def test_owner_changes_are_compare_and_set(directories: tuple[Directory, Directory]) -> None:
    a, b = directories
    actor = new_id()
    assert await a.owner(actor) is None
    first = await a.create_owner(actor, Placement("a", "a-1", 1))
    with pytest.raises(DirectoryConflict):
        await b.create_owner(actor, Placement("b", "b-1", 1))
    assert await b.owner(actor) == first
    moved = await b.move_owner(actor, first, Placement("b", "b-1", 2))
    assert moved.placement == Placement("b", "b-1", 2) and moved.revision != first.revision
    with pytest.raises(DirectoryConflict):  # a stale owner cannot move it back
        await a.move_owner(actor, first, Placement("a", "a-1", 3))
    with pytest.raises(DirectoryConflict):
        await a.delete_owner(actor, first)
    assert await a.owner(actor) == moved
    await a.delete_owner(actor, moved)
    assert await b.owner(actor) is None
    with pytest.raises(DirectoryConflict):
        await a.move_owner(actor, moved, Placement("a", "a-1", 3))


async def test_racing_moves_let_exactly_one_win(directories: tuple[Directory, Directory]) -> None:
    a, b = directories
    actor = new_id()
    first = await a.create_owner(actor, Placement("a", "a-1", 1))
    moves = [
        (a if i % 2 else b).move_owner(actor, first, Placement("b", f"b-{i}", 2)) for i in range(6)
    ]
    results = await asyncio.gather(*moves, return_exceptions=True)
    won = [r for r in results if isinstance(r, Owner)]
    assert len(won) == 1
    assert all(isinstance(r, DirectoryConflict) for r in results if not isinstance(r, Owner))
    assert await b.owner(actor) == won[0]


async def test_an_unreachable_nats_is_a_clear_error() -> None:
    with pytest.raises(DirectoryUnavailable, match="cannot reach NATS"):
        await NatsDirectory.connect([f"nats://127.0.0.1:{free_port()}"], timeout_s=1.0)


async def test_a_local_directory_survives_a_reopen(tmp_path: Path) -> None:
    directory = LocalDirectory.open(tmp_path / "d")
    actor = new_id()
    owner = await directory.create_owner(actor, Placement("local", "dev", 1))
    assert await directory.claim_key("counter", ("k",), actor) == actor
    await directory.close()
    again = LocalDirectory.open(tmp_path / "d")
    assert await again.owner(actor) == owner
    assert await again.lookup_key("counter", ("k",)) == actor
    await again.close()
