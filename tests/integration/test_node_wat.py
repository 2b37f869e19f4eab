"""The node with real wasm: tiny WAT guests that return fixed CBOR results.

Each guest answers every turn with the same result (or traps, or loops), which is enough to
check the turn pipeline, the lifecycle, the registry, connections and module deployment
without any guest SDK.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import cbor2
import pytest
import wasmtime
from actor_states import wait_for_state
from edgewise.host.actors import Node
from edgewise.host.config import ActorsConfig, Config, LimitsConfig, NodeConfig
from edgewise.host.errors import (
    ActorAlreadyExists,
    ActorKeyInvalid,
    ActorNotFound,
    ActorOverloaded,
    ClientFault,
    ConnectionNotFound,
    ConnectionRefused,
    GuestTimeout,
    GuestTrapped,
    ModuleInvalid,
    ModuleNotFound,
    NodeStopping,
    RequestInvalid,
    UserError,
)
from recording_sink import RecordingSink

pytestmark = pytest.mark.timeout(60)


def _wat_bytes(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def guest(result: dict[str, Any] | None = None, *, body: str | None = None) -> bytes:
    """A module answering every turn with ``result`` (or running ``body`` instead)."""
    data = cbor2.dumps(result if result is not None else {})
    turn = body or f"(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len(data)}))"
    return bytes(
        wasmtime.wat2wasm(
            f"""
        (module
          (import "ew" "log" (func $log (param i32 i32 i32)))
          (memory (export "memory") 2)
          (data (i32.const 16) "{_wat_bytes(data)}")
          (data (i32.const 4096) "hello from the guest")
          (func (export "ew_abi_v1"))
          (func (export "ew_alloc") (param i32) (result i32) (i32.const 8192))
          (func (export "ew_turn") (param i32 i32) (result i64)
            (call $log (i32.const 1) (i32.const 4096) (i32.const 20))
            {turn}))
        """
        )
    )


OK = guest({"ok": 1})
SLEEPY = guest({"ok": 1, "sleep": True})
BROADCAST_SLEEPY = guest({"ok": 7, "broadcast": [["ev", [1, "x"]]], "sleep": True})
DESTROYER = guest({"ok": 1, "destroy": True})
REFUSER = guest({"error": {"code": "no_way", "message": "not today"}})
DOORMAN = guest({"refuse": "members only", "sleep": True})
TRAP = guest(body="unreachable")
LOOP = guest(body="(loop $spin (br $spin)) (i64.const 0)")


def make_config(data_dir: Path, **actors: Any) -> Config:
    return Config(
        node=NodeConfig(data_dir=str(data_dir)),
        limits=LimitsConfig(turn_timeout_ms=50, max_actor_key_parts=4, max_actor_key_bytes=64),
        actors=ActorsConfig(**actors),
    )


@pytest.fixture
async def node(tmp_path: Path) -> Any:
    opened = await Node.open(make_config(tmp_path / "data"))
    yield opened
    await opened.close()


async def test_deploy_returns_a_manifest_and_lists_it(node: Node) -> None:
    manifest = await node.deploy(OK, "plain")
    assert manifest.name == "plain"
    assert manifest.abi_version == 1
    assert manifest.language == "unknown"
    assert manifest.actions is None
    assert manifest.size_bytes == len(OK)
    assert len(manifest.sha256) == 64
    assert [m.name for m in node.manifests()] == ["plain"]


@pytest.mark.parametrize("wasm", [b"", b"not wasm at all", b"\0asm\x01\0\0\0"])
async def test_deploy_refuses_bad_modules(node: Node, wasm: bytes) -> None:
    with pytest.raises(ModuleInvalid):
        await node.deploy(wasm, "bad")
    assert node.manifests() == []


@pytest.mark.parametrize("name", ["", "Upper", "9lives", "a" * 64, "sp ace"])
async def test_deploy_refuses_bad_names(node: Node, name: str) -> None:
    with pytest.raises(ClientFault) as caught:
        await node.deploy(OK, name)
    assert caught.value.code == "module.name_invalid"


async def test_get_or_create_twice_is_one_actor(node: Node) -> None:
    await node.deploy(OK, "plain")
    first, created = await node.get_or_create("plain", ("a", "b"), {"seed": 1})
    second, created_again = await node.get_or_create("plain", ("a", "b"))
    assert created and not created_again
    assert first.actor_id == second.actor_id
    assert len(first.actor_id) == 32
    assert second.key == ("a", "b")
    assert node.get(first.actor_id).state == "active"
    other, _ = await node.get_or_create("plain", ("a",))
    assert other.actor_id != first.actor_id


async def test_create_flags(node: Node) -> None:
    await node.deploy(OK, "plain")
    with pytest.raises(ActorNotFound):
        await node.get_or_create("plain", ("x",), create=False)
    info, created = await node.get_or_create("plain", ("x",), must_create=True)
    assert created
    with pytest.raises(ActorAlreadyExists):
        await node.get_or_create("plain", ("x",), must_create=True)
    found, created = await node.get_or_create("plain", ("x",), create=False)
    assert found.actor_id == info.actor_id and not created


async def test_concurrent_get_or_create_ends_with_one_actor(node: Node) -> None:
    await node.deploy(OK, "plain")
    results = await asyncio.gather(*(node.get_or_create("plain", ("race",)) for _ in range(20)))
    assert len({info.actor_id for info, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(node.list("plain", None, 100)) == 1


@pytest.mark.parametrize("key", [(), ("",), ("a",) * 5, ("x" * 65,), "abc", (1,), None])
async def test_bad_keys_are_refused(node: Node, key: Any) -> None:
    await node.deploy(OK, "plain")
    with pytest.raises(ActorKeyInvalid):
        await node.get_or_create("plain", key)
    assert node.list(None, None, 10) == []


async def test_unknown_module_and_actor(node: Node) -> None:
    with pytest.raises(ModuleNotFound):
        await node.get_or_create("nothing", ("a",))
    for actor_id in ["0" * 32, "nope", "", "A" * 32]:
        with pytest.raises(ActorNotFound):
            node.get(actor_id)
        with pytest.raises(ActorNotFound):
            await node.call(actor_id, "go", ())
        with pytest.raises(ActorNotFound):
            await node.destroy(actor_id)
        with pytest.raises(ActorNotFound):
            await node.connect(actor_id, None, RecordingSink())


async def test_a_create_that_returns_an_error_creates_nothing(node: Node) -> None:
    await node.deploy(REFUSER, "picky")
    with pytest.raises(UserError) as caught:
        await node.get_or_create("picky", ("a",))
    assert caught.value.code == "user.no_way"
    assert caught.value.message == "not today"
    with pytest.raises(ActorNotFound):
        await node.get_or_create("picky", ("a",), create=False)


async def test_redeploy_applies_to_new_activations_only(node: Node) -> None:
    await node.deploy(OK, "flip")
    info, _ = await node.get_or_create("flip", ("a",))
    await node.deploy(REFUSER, "flip")
    assert await node.call(info.actor_id, "go", ()) == 1  # the live activation keeps its module


async def test_user_error_of_an_action(node: Node) -> None:
    await node.deploy(SLEEPY, "moody")
    info, _ = await node.get_or_create("moody", ("a",))
    await node.call(info.actor_id, "go", ())  # asleep; the next activation gets the new module
    await node.deploy(REFUSER, "moody")
    with pytest.raises(UserError) as caught:
        await node.call(info.actor_id, "go", ())
    assert caught.value.code == "user.no_way"
    assert caught.value.status == 400


async def test_sleep_result_and_wake(node: Node, caplog: pytest.LogCaptureFixture) -> None:
    await node.deploy(SLEEPY, "sleepy")
    info, _ = await node.get_or_create("sleepy", ("a",))
    assert node.get(info.actor_id).state == "active"  # sleep is not honoured on create
    with caplog.at_level(logging.INFO, logger="edgewise.guest"):
        assert await node.call(info.actor_id, "go", ()) == 1
    assert node.get(info.actor_id).state == "sleeping"
    assert any(
        r.name == "edgewise.guest" and info.actor_id in r.getMessage() for r in caplog.records
    )
    assert await node.call(info.actor_id, "go", ()) == 1
    assert node.get(info.actor_id).state == "sleeping"


async def test_idle_timeout_puts_actors_to_sleep(tmp_path: Path) -> None:
    async with await Node.open(make_config(tmp_path, idle_timeout_s=0.1)) as node:
        await node.deploy(OK, "plain")
        info, _ = await node.get_or_create("plain", ("a",))
        assert node.get(info.actor_id).state == "active"
        await wait_for_state(node, info.actor_id, "sleeping", 100)
        assert await node.call(info.actor_id, "go", ()) == 1


async def test_events_reach_subscribed_connections_across_sleep(node: Node) -> None:
    await node.deploy(BROADCAST_SLEEPY, "chatty")
    info, _ = await node.get_or_create("chatty", ("a",))
    listener, bystander = RecordingSink(), RecordingSink()
    listening = await node.connect(info.actor_id, {"user": "ann"}, listener)
    await node.connect(info.actor_id, None, bystander)
    assert node.get(info.actor_id).state == "sleeping"
    node.subscribe(listening, "ev")
    assert await node.call(info.actor_id, "go", (), conn=listening) == 7
    # the wake turn and the action turn each broadcast once
    assert listener.events == [("ev", (1, "x")), ("ev", (1, "x"))]
    assert bystander.events == []
    node.unsubscribe(listening, "ev")
    await node.call(info.actor_id, "go", ())
    assert len(listener.events) == 2
    await node.disconnect(listening)
    await node.disconnect(listening)  # twice is harmless
    with pytest.raises(ConnectionNotFound):
        node.subscribe(listening, "ev")
    with pytest.raises(ConnectionNotFound):
        await node.call(info.actor_id, "go", (), conn=listening)


async def test_connect_refused(node: Node) -> None:
    await node.deploy(SLEEPY, "club")
    info, _ = await node.get_or_create("club", ("a",))
    await node.call(info.actor_id, "go", ())
    await node.deploy(DOORMAN, "club")
    sink = RecordingSink()
    with pytest.raises(ConnectionRefused) as caught:
        await node.connect(info.actor_id, {"user": "eve"}, sink)
    assert caught.value.code == "connection.refused"
    assert "members only" in caught.value.message
    assert node.get(info.actor_id).state == "sleeping"  # writes and sleep of the turn still apply


async def test_guest_fault_keeps_the_actor_and_the_next_turn_starts_fresh(node: Node) -> None:
    await node.deploy(SLEEPY, "fragile")
    info, _ = await node.get_or_create("fragile", ("a",))
    await node.call(info.actor_id, "go", ())  # now sleeping
    await node.deploy(TRAP, "fragile")
    with pytest.raises(GuestTrapped):
        await node.call(info.actor_id, "go", ())
    assert node.get(info.actor_id).state == "failed"
    await node.deploy(LOOP, "fragile")
    await node.deploy(OK, "fragile")
    # the failed activation keeps the trapping module until it leaves memory
    with pytest.raises(GuestTrapped):
        await node.call(info.actor_id, "go", ())


async def test_a_looping_guest_times_out(node: Node) -> None:
    await node.deploy(SLEEPY, "spinner")
    info, _ = await node.get_or_create("spinner", ("a",))
    await node.call(info.actor_id, "go", ())
    await node.deploy(LOOP, "spinner")
    with pytest.raises(GuestTimeout):
        await node.call(info.actor_id, "go", ())


async def test_mailbox_overflow_is_refused(tmp_path: Path) -> None:
    async with await Node.open(make_config(tmp_path, mailbox_capacity=2)) as node:
        await node.deploy(OK, "busy")
        info, _ = await node.get_or_create("busy", ("a",))
        calls = [node.call(info.actor_id, "go", ()) for _ in range(6)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        overloaded = [r for r in results if isinstance(r, ActorOverloaded)]
        assert results.count(1) == 2
        assert len(overloaded) == 4
        assert overloaded[0].status == 429
        assert await node.call(info.actor_id, "go", ()) == 1


async def test_destroy_by_admin(node: Node) -> None:
    await node.deploy(OK, "doomed")
    info, _ = await node.get_or_create("doomed", ("a",))
    sink = RecordingSink()
    await node.connect(info.actor_id, None, sink)
    await node.destroy(info.actor_id)
    assert sink.closed and sink.closed[0][0] == "actor.destroyed"
    with pytest.raises(ActorNotFound):
        node.get(info.actor_id)
    with pytest.raises(ActorNotFound):
        await node.call(info.actor_id, "go", ())
    with pytest.raises(ActorNotFound):
        await node.destroy(info.actor_id)
    again, created = await node.get_or_create("doomed", ("a",))
    assert created and again.actor_id != info.actor_id


async def test_destroy_result_of_a_turn(node: Node) -> None:
    await node.deploy(SLEEPY, "oneshot")
    info, _ = await node.get_or_create("oneshot", ("a",))
    sink = RecordingSink()
    await node.connect(info.actor_id, None, sink)  # asleep after the connect turn
    await node.deploy(DESTROYER, "oneshot")
    with pytest.raises(ActorNotFound):
        await node.call(info.actor_id, "go", ())  # the wake turn destroys it
    with pytest.raises(ActorNotFound):
        node.get(info.actor_id)
    assert sink.closed[0][0] == "actor.destroyed"


async def test_list_pages_in_actor_id_order(node: Node) -> None:
    await node.deploy(OK, "many")
    await node.deploy(OK, "other")
    ids = sorted([(await node.get_or_create("many", (str(i),)))[0].actor_id for i in range(5)])
    await node.get_or_create("other", ("z",))
    first = node.list("many", None, 3)
    rest = node.list("many", first[-1].actor_id, 3)
    assert [i.actor_id for i in first + rest] == ids
    assert len(node.list(None, None, 100)) == 6
    with pytest.raises(RequestInvalid):
        node.list(None, None, 0)


async def test_restart_keeps_actors_and_deployments(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with await Node.open(config) as node:
        await node.deploy(OK, "plain")
        info, _ = await node.get_or_create("plain", ("keep",))
    async with await Node.open(config) as node:
        assert [m.name for m in node.manifests()] == ["plain"]
        again, created = await node.get_or_create("plain", ("keep",))
        assert not created and again.actor_id == info.actor_id
        assert node.get(info.actor_id).created_ms == info.created_ms
        assert await node.call(info.actor_id, "go", ()) == 1


async def test_close_is_idempotent_and_refuses_new_work(tmp_path: Path) -> None:
    node = await Node.open(make_config(tmp_path))
    await node.deploy(OK, "plain")
    info, _ = await node.get_or_create("plain", ("a",))
    sink = RecordingSink()
    await node.connect(info.actor_id, None, sink)
    await asyncio.gather(node.close(), node.close())
    await node.close()
    assert sink.closed == [("node.stopping", "node is stopping")]
    with pytest.raises(NodeStopping):
        await node.call(info.actor_id, "go", ())
    with pytest.raises(NodeStopping):
        await node.get_or_create("plain", ("b",))


async def test_a_failing_alarm_is_retried_with_backoff_then_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(
        tmp_path, alarm_retry_base_s=0.05, alarm_retry_max_s=0.1, alarm_max_attempts=3
    )
    due_ms = int(time.time() * 1000) + 300
    setter = guest({"ok": 1, "sleep": True, "set_alarms": [{"name": "soon", "at_ms": due_ms}]})
    caplog.set_level(logging.WARNING, logger="edgewise.actors")
    async with await Node.open(config) as node:
        await node.deploy(setter, "alarmy")
        info, _ = await node.get_or_create("alarmy", ("a",))
        await node.call(info.actor_id, "go", ())  # asleep; the alarm is due in ~300 ms
        await node.deploy(TRAP, "alarmy")
        for _ in range(200):
            if any("dropped after 3 attempts" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.02)
        messages = [r.getMessage() for r in caplog.records if r.name == "edgewise.actors"]
        assert any("retry 1" in m for m in messages)
        assert any("retry 2" in m for m in messages)
        assert any("dropped after 3 attempts" in m for m in messages)
        assert node.get(info.actor_id).actor_id == info.actor_id


async def test_close_never_loses_an_acknowledged_turn(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    node = await Node.open(config)
    await node.deploy(OK, "plain")
    info, _ = await node.get_or_create("plain", ("a",))
    calls = [asyncio.ensure_future(node.call(info.actor_id, "go", ())) for _ in range(10)]
    await asyncio.sleep(0)
    await node.close()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(r == 1 or isinstance(r, NodeStopping) for r in results)
    assert results.count(1) >= 1
