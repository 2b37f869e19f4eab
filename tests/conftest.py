"""Shared fixtures: built example actors, real nodes on tmp_path and real servers on 127.0.0.1.

- ``built_examples`` (session): ``{"counter": BuildResult, "chat_room": BuildResult}``, built
  with ``edgewise.host.build.build_actor`` into a tmp copy of each example folder.
- ``make_node(**tables)`` (function): opens a ``Node`` on its own folder under ``tmp_path`` with
  both examples deployed. Keyword arguments are config tables, e.g.
  ``await make_node(actors={"connect_timeout_s": 0.2}, limits={"max_message_bytes": 4096})``.
  Every node made is closed at the end of the test.
- ``node``: ``await make_node()`` with defaults.
- ``tls`` (session): a self-signed certificate for localhost (``TlsFiles``).
- ``server``: ``start_server(node, "127.0.0.1", 0, tls=tls)``: HTTP/1.1 on a free TCP port and
  HTTP/3 on the same UDP port; closed at the end of the test; ``server.url``.
- ``transport``: ``"h1"`` then ``"h3"``: a test that takes it runs over both (``tests/wire.py``).
- ``nats_cluster`` (session): a NATS super-cluster of regions ``a`` and ``b`` (3 servers each).
- ``guest_builds`` (session): ``guest_builds["hostile_py"]`` builds the actor folder of that name
  under ``tests/guests/`` (or ``examples/``) on first use and gives its wasm bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewise.host.actors import Node
from edgewise.host.build import BuildResult, build_actor
from edgewise.host.config import config_from_dict
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.host.transports.tls import TlsFiles, dev_files
from edgewise.regions.nats_cluster import SuperCluster

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_NAMES = ("counter", "chat_room")

MakeNode = Callable[..., Awaitable[Node]]


@pytest.fixture(scope="session")
def built_examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuildResult]:
    root = tmp_path_factory.mktemp("examples")
    built: dict[str, BuildResult] = {}
    for name in EXAMPLE_NAMES:
        copy = root / name
        shutil.copytree(EXAMPLES / name, copy, ignore=shutil.ignore_patterns("out", ".zig-cache"))
        built[name] = build_actor(copy)
    return built


@pytest.fixture
async def make_node(
    tmp_path: Path, built_examples: dict[str, BuildResult]
) -> AsyncIterator[MakeNode]:
    nodes: list[Node] = []

    async def make(**tables: dict[str, Any]) -> Node:
        raw: dict[str, Any] = {table: dict(values) for table, values in tables.items()}
        raw.setdefault("node", {}).setdefault("data_dir", str(tmp_path / f"node{len(nodes)}"))
        node = await Node.open(config_from_dict(raw))
        nodes.append(node)
        for result in built_examples.values():
            await node.deploy(result.wasm_path.read_bytes(), result.manifest.name)
        return node

    yield make
    for node in reversed(nodes):
        await node.close()


@pytest.fixture
async def node(make_node: MakeNode) -> Node:
    return await make_node()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return dev_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["h1", "h3"])
def transport(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def server(node: Node, tls: TlsFiles) -> AsyncIterator[RunningServer]:
    running = await start_server(node, "127.0.0.1", 0, tls=tls)
    yield running
    await running.close()


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuperCluster]:
    """Two regions, ``a`` and ``b``, of three real nats-servers each, joined by gateways."""
    with SuperCluster(["a", "b"], tmp_path_factory.mktemp("nats")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def guest_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    guests = Path(__file__).resolve().parent / "guests"

    class Builds(dict[str, bytes]):
        def __missing__(self, name: str) -> bytes:
            folder = guests / name if (guests / name).is_dir() else EXAMPLES / name
            out = tmp_path_factory.mktemp(f"{name}-out")
            self[name] = build_actor(folder, out).wasm_path.read_bytes()
            return self[name]

    return Builds()
