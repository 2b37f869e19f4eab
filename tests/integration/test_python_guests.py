"""Python actors (components) on a real node: deploying one compiles it off the event loop and
keeps the result on disk for the next process; an uncaught exception's traceback reaches the
node's guest log; the agent_memory example remembers and recalls through the node."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MakeNode
from edgewise.host.actors import Node
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import GuestTrapped, UserError
from edgewise.host.sandbox import Sandbox
from recording_sink import RecordingSink

pytestmark = pytest.mark.timeout(180)

LOAD_FROM_CACHE = """
import logging, sys
from pathlib import Path
from edgewise.host.config import LimitsConfig
from edgewise.host.sandbox import Sandbox

logging.basicConfig(level=logging.INFO)
with Sandbox(LimitsConfig(), Path(sys.argv[1])) as sandbox:
    print(sandbox.load(Path(sys.argv[2]).read_bytes()).digest)
"""


async def test_a_python_deploy_compiles_off_the_event_loop_and_is_cached_on_disk(
    make_node: MakeNode, tmp_path: Path, guest_builds: dict[str, bytes]
) -> None:
    node = await make_node()
    wasm = guest_builds["counter_py"]  # a fresh build: no process has compiled these bytes yet
    deploying = asyncio.ensure_future(node.deploy(wasm, "counter_py"))
    info, _ = await node.get_or_create("counter", ("meanwhile",))
    served = 0
    while not deploying.done() and served < 100_000:
        await node.call(info.actor_id, "increment", (1,))
        served += 1
    manifest = await deploying
    assert served > 10, "the node stopped serving while the component compiled"
    cached = tmp_path / "node0" / "cache" / f"{manifest.sha256}.cwasm"
    assert cached.is_file()
    module = tmp_path / "counter_py.wasm"
    module.write_bytes(wasm)
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_FROM_CACHE, str(cached.parent), str(module)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == manifest.sha256
    assert "compiling" not in loaded.stderr


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_instances_of_one_component_share_its_memory_image(
    tmp_path: Path, guest_builds: dict[str, bytes]
) -> None:
    with Sandbox(LimitsConfig(), tmp_path) as sandbox:
        module = sandbox.load(guest_builds["counter_py"])
        with module.instantiate():
            pass
        before = resident_bytes()
        instances = [module.instantiate() for _ in range(40)]
        grown = resident_bytes() - before
        for instance in instances:
            instance.close()
    assert grown < 40 * 3 * 1024 * 1024, f"{grown / 40 / 1024:.0f} KiB per instance"


async def test_an_uncaught_exception_is_logged_with_its_traceback(
    make_node: MakeNode, guest_builds: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    node = await make_node()
    await node.deploy(guest_builds["hostile_py"], "hostile_py")
    info, _ = await node.get_or_create("hostile_py", ("k",))
    assert await node.call(info.actor_id, "set", (5,)) == 5
    with (
        caplog.at_level(logging.INFO, logger="edgewise.guest"),
        pytest.raises(GuestTrapped) as trapped,
    ):
        await node.call(info.actor_id, "raise", ())
    assert trapped.value.message == "guest raised an uncaught exception (KeyError)"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "edgewise.guest")
    assert "Traceback" in logged and "a bug in the actor" in logged and "raise_" in logged
    assert await node.call(info.actor_id, "get", ()) == 5


async def agent(node: Node, guest_builds: dict[str, bytes]) -> str:
    await node.deploy(guest_builds["agent_memory"], "agent_memory")
    info, _ = await node.get_or_create("agent_memory", ("agent-1",))
    return info.actor_id


async def test_agent_memory_remembers_recalls_and_forgets(
    make_node: MakeNode, guest_builds: dict[str, bytes]
) -> None:
    node = await make_node()
    actor = await agent(node, guest_builds)
    sink = RecordingSink()
    node.subscribe(await node.connect(actor, None, sink), "remembered")
    notes = [
        ("The user prefers tea over coffee in the morning", ["drinks"]),
        ("Meeting with Ana about the budget on Friday", ["work"]),
        ("The user's cat is called Miso", None),
    ]
    ids = [await node.call(actor, "remember", (text, tags)) for text, tags in notes]
    assert ids == [1, 2, 3]
    assert sink.events == [("remembered", (1,)), ("remembered", (2,)), ("remembered", (3,))]
    best = await node.call(actor, "recall", ("what does the user drink, tea or coffee?", 2))
    assert best[0]["id"] == 1 and best[0]["tags"] == ["drinks"]
    assert await node.call(actor, "forget", (2,)) is True
    assert await node.call(actor, "forget", (2,)) is False
    assert await node.call(actor, "count", ()) == 2


@pytest.mark.parametrize(
    ("action", "args"),
    [("remember", (42,)), ("recall", ()), ("recall", ("x", 0)), ("forget", ("one",))],
)
async def test_agent_memory_refuses_bad_arguments(
    make_node: MakeNode, guest_builds: dict[str, bytes], action: str, args: tuple[object, ...]
) -> None:
    node = await make_node()
    actor = await agent(node, guest_builds)
    with pytest.raises(UserError) as refused:
        await node.call(actor, action, args)
    assert refused.value.code == "user.bad_args"
    assert await node.call(actor, "count", ()) == 0
