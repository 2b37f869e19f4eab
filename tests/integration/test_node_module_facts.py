"""What a module's build knew (language, actions) is kept with the module across restarts."""

from __future__ import annotations

from pathlib import Path

from edgewise.host.actors import Node
from edgewise.host.config import Config, NodeConfig
from test_node_wat import OK


async def test_language_and_actions_survive_a_restart(tmp_path: Path) -> None:
    config = Config(node=NodeConfig(data_dir=str(tmp_path / "data")))
    async with await Node.open(config) as node:
        manifest = await node.deploy(OK, "plain", language="zig", actions=("go", "stop"))
        assert (manifest.language, manifest.actions) == ("zig", ("go", "stop"))
        await node.deploy(OK, "bare")
    async with await Node.open(config) as node:
        facts = {m.name: (m.language, m.actions) for m in node.manifests()}
    assert facts == {"plain": ("zig", ("go", "stop")), "bare": ("unknown", None)}
