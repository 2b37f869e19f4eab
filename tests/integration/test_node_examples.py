"""The node running the real example actors, built once per session by
`edgewise.host.build.build_actor` from copies in a temporary folder.

The counter tests are the conformance suite of the guest SDKs: each runs, unchanged, against the
C counter (examples/counter), the Zig one (guest-sdk/zig/conformance/counter) and the Python one
(examples/counter_py), deployed under the name "counter". A Python actor needs more linear memory
than the 4 MiB the C and Zig ones get (CPython itself is about 12 MiB).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import wasmtime
from actor_states import wait_for_state
from edgewise.host.actors import Node
from edgewise.host.build import build_actor
from edgewise.host.config import ActorsConfig, Config, LimitsConfig, NodeConfig
from edgewise.host.errors import (
    ActionUnknown,
    ActorNotFound,
    ConnectionRefused,
    GuestFault,
    GuestTrapped,
    NodeStopping,
    UserError,
)
from recording_sink import RecordingSink

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
COUNTERS = {
    "c": EXAMPLES / "counter",
    "zig": ROOT / "guest-sdk" / "zig" / "conformance" / "counter",
    "python": EXAMPLES / "counter_py",
}
MEMORY_BYTES = {"c": 4 * 1024 * 1024, "zig": 4 * 1024 * 1024, "python": 32 * 1024 * 1024}
TRAP = bytes(
    wasmtime.wat2wasm(
        """
        (module
          (memory (export "memory") 1)
          (func (export "ew_abi_v1"))
          (func (export "ew_alloc") (param i32) (result i32) (i32.const 1024))
          (func (export "ew_turn") (param i32 i32) (result i64) unreachable))
        """
    )
)


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each counter and the chat room, built on first use."""
    folders = {**COUNTERS, "chat_room": EXAMPLES / "chat_room"}

    class Builds(dict[str, bytes]):
        def __missing__(self, name: str) -> bytes:
            source = tmp_path_factory.mktemp("examples") / name
            shutil.copytree(folders[name], source, ignore=shutil.ignore_patterns("out"))
            self[name] = build_actor(source).wasm_path.read_bytes()
            return self[name]

    return Builds()


@pytest.fixture(params=sorted(COUNTERS))
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def modules(builds: dict[str, bytes], language: str) -> dict[str, bytes]:
    return {"counter": builds[language], "chat_room": builds["chat_room"]}


@pytest.fixture
def make_config(language: str) -> Callable[..., Config]:
    def make(data_dir: Path, idle_timeout_s: float = 30.0) -> Config:
        return config_for(data_dir, MEMORY_BYTES[language], idle_timeout_s)

    return make


def config_for(data_dir: Path, memory_bytes: int, idle_timeout_s: float) -> Config:
    return Config(
        node=NodeConfig(data_dir=str(data_dir)),
        limits=LimitsConfig(max_memory_bytes=memory_bytes),
        actors=ActorsConfig(
            idle_timeout_s=idle_timeout_s, alarm_retry_base_s=0.05, alarm_retry_max_s=0.2
        ),
    )


@pytest.fixture
async def node(
    tmp_path: Path, modules: dict[str, bytes], make_config: Callable[..., Config]
) -> AsyncIterator[Node]:
    async with await Node.open(make_config(tmp_path, idle_timeout_s=0.2)) as opened:
        for name, wasm in modules.items():
            await opened.deploy(wasm, name)
        yield opened


async def counter(node: Node, *key: str) -> str:
    info, _ = await node.get_or_create("counter", key or ("c",))
    return info.actor_id


async def test_counter_counts_and_get_or_create_finds_it_again(node: Node) -> None:
    actor = await counter(node, "one")
    assert await node.call(actor, "increment", (5,)) == 5
    assert await node.call(actor, "increment", (-2,)) == 3
    info, created = await node.get_or_create("counter", ("one",))
    assert info.actor_id == actor and not created
    assert await node.call(actor, "get", ()) == 3


async def test_concurrent_increments_are_serialized(node: Node) -> None:
    actor = await counter(node)
    results = await asyncio.gather(*(node.call(actor, "increment", (1,)) for _ in range(25)))
    assert sorted(results) == list(range(1, 26))
    assert await node.call(actor, "get", ()) == 25


async def test_counter_errors(node: Node) -> None:
    actor = await counter(node)
    with pytest.raises(ActionUnknown) as unknown:
        await node.call(actor, "decrement", (1,))
    assert unknown.value.status == 404
    assert "decrement" in unknown.value.message
    with pytest.raises(UserError) as bad:
        await node.call(actor, "increment", ("one",))
    assert bad.value.code == "user.bad_args"


async def test_events_reach_only_subscribed_connections(node: Node) -> None:
    actor = await counter(node)
    subscriber, other = RecordingSink(), RecordingSink()
    conn = await node.connect(actor, None, subscriber)
    await node.connect(actor, None, other)
    node.subscribe(conn, "newCount")
    await node.call(actor, "increment", (2,))
    assert subscriber.events == [("newCount", (2,))]
    assert other.events == []


async def test_idle_sleep_then_wake_keeps_state(node: Node) -> None:
    actor = await counter(node)
    await node.call(actor, "increment", (7,))
    await wait_for_state(node, actor, "sleeping", 150)
    assert await node.call(actor, "get", ()) == 7
    assert node.get(actor).state == "active"


async def test_alarm_fires_while_its_actor_sleeps(node: Node) -> None:
    actor = await counter(node)
    sink = RecordingSink()
    conn = await node.connect(actor, None, sink)
    node.subscribe(conn, "newCount")
    alarm = await node.call(actor, "increment_later", (400, 4))
    assert isinstance(alarm, str) and alarm.startswith("increment_later/")
    await wait_for_state(node, actor, "sleeping", 150)
    assert sink.events == []
    await asyncio.wait_for(sink.arrived.wait(), 5)
    assert sink.events == [("newCount", (4,))]
    assert await node.call(actor, "get", ()) == 4


async def test_a_guest_fault_keeps_committed_state(node: Node, modules: dict[str, bytes]) -> None:
    actor = await counter(node)
    await node.call(actor, "increment", (3,))
    with pytest.raises(GuestFault):
        await node.call(actor, "increment", ("x" * 6_000_000,))
    assert await node.call(actor, "get", ()) == 3
    await wait_for_state(node, actor, "sleeping", 150)
    await node.deploy(TRAP, "counter")
    with pytest.raises(GuestTrapped):
        await node.call(actor, "increment", (1,))
    await node.deploy(modules["counter"], "counter")
    await wait_for_state(node, actor, "sleeping", 150)
    assert await node.call(actor, "increment", (1,)) == 4


async def test_destroy_removes_state(node: Node) -> None:
    actor = await counter(node)
    await node.call(actor, "increment", (9,))
    await node.call(actor, "increment_later", (60_000, 1))
    await node.destroy(actor)
    with pytest.raises(ActorNotFound):
        await node.call(actor, "get", ())
    fresh = await counter(node)
    assert fresh != actor
    assert await node.call(fresh, "get", ()) == 0


async def test_restart_keeps_state_and_alarms(
    tmp_path: Path, modules: dict[str, bytes], make_config: Callable[..., Config]
) -> None:
    config = make_config(tmp_path)
    async with await Node.open(config) as node:
        await node.deploy(modules["counter"], "counter")
        actor = await counter(node)
        await node.call(actor, "increment", (2,))
        await node.call(actor, "increment_later", (300, 3))
    async with await Node.open(config) as node:
        assert await node.call(actor, "get", ()) == 2
        for _ in range(100):
            if await node.call(actor, "get", ()) == 5:
                break
            await asyncio.sleep(0.05)
        assert await node.call(actor, "get", ()) == 5


@pytest.mark.parametrize("language", ["c"])
async def test_chat_room(node: Node) -> None:
    info, _ = await node.get_or_create("chat_room", ("lobby",))
    room = info.actor_id
    with pytest.raises(ConnectionRefused) as refused:
        await node.connect(room, None, RecordingSink())
    assert "user" in refused.value.message
    with pytest.raises(ConnectionRefused):
        await node.connect(room, {"user": ""}, RecordingSink())
    ann_sink, bob_sink = RecordingSink(), RecordingSink()
    ann = await node.connect(room, {"user": "ann"}, ann_sink)
    bob = await node.connect(room, {"user": "bob"}, bob_sink)
    node.subscribe(bob, "message")
    assert await node.call(room, "send", ("hi",), conn=ann) == 1
    assert bob_sink.events == [("message", ({"user": "ann", "text": "hi"},))]
    assert ann_sink.events == []
    with pytest.raises(UserError) as anonymous:
        await node.call(room, "send", ("hello?",))
    assert anonymous.value.code == "user.not_connected"
    await node.disconnect(ann)
    assert await node.call(room, "history", (10,)) == [{"user": "ann", "text": "hi"}]


async def test_every_acknowledged_increment_survives_close(
    tmp_path: Path, modules: dict[str, bytes], make_config: Callable[..., Config]
) -> None:
    config = make_config(tmp_path)
    node = await Node.open(config)
    await node.deploy(modules["counter"], "counter")
    actor = await counter(node)
    calls = [asyncio.ensure_future(node.call(actor, "increment", (1,))) for _ in range(30)]
    await asyncio.sleep(0)
    await node.close()
    results = await asyncio.gather(*calls, return_exceptions=True)
    acknowledged = [r for r in results if isinstance(r, int)]
    assert all(isinstance(r, int | NodeStopping) for r in results)
    async with await Node.open(config) as reopened:
        assert await reopened.call(actor, "get", ()) == len(acknowledged)
