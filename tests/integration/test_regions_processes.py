"""Two real `edgewise serve` processes joined into one cluster by a cluster file, on the session's
NATS super-cluster: routing between them, `edgewise regions list`, `edgewise migrate`, and a
source node killed with SIGKILL in the middle of a migration."""

from __future__ import annotations

import asyncio
import json
import random
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewise.client import Client
from edgewise.regions.directory_nats import NatsDirectory
from edgewise.regions.nats_cluster import SuperCluster, free_ports
from node_process import NodeProcess

pytestmark = pytest.mark.timeout(180)

TOKEN = "process-admin-token"
SECRET = "process-cluster-secret-0123456789"
CHUNK = 256 * 1024


class Cluster:
    def __init__(self, tmp: Path, nats: SuperCluster) -> None:
        self.tmp = tmp
        self.nats = nats
        self.ports = dict(zip("ab", free_ports(2), strict=True))
        self.file = tmp / "cluster.toml"
        lines = []
        for region, port in self.ports.items():
            urls = ", ".join(f'"{u}"' for u in nats.urls(region))
            lines += [f"[regions.{region}]", "latitude = 1.0", "longitude = 2.0",
                      f'http_url = "http://127.0.0.1:{port}"', f"nats_urls = [{urls}]",
                      f"[nodes.{region}-1]", f'region = "{region}"',
                      f'url = "http://127.0.0.1:{port}"']  # fmt: skip
        lines += ["[cluster]", f'secret = "{SECRET}"']
        self.file.write_text("\n".join(lines) + "\n")
        self.procs: dict[str, NodeProcess] = {}

    def url(self, region: str) -> str:
        return f"http://127.0.0.1:{self.ports[region]}"

    def start(self, region: str) -> NodeProcess:
        config = self.tmp / f"{region}.toml"
        config.write_text(
            f'[node]\nport = {self.ports[region]}\ndata_dir = "{self.tmp / region}"\n'
            f'node_id = "{region}-1"\nadmin_token = "{TOKEN}"\ncluster_file = "cluster.toml"\n'
            "[http3]\nenabled = false\n"
        )
        log = self.tmp / f"{region}-{len(self.procs)}-{time.monotonic_ns()}.log"
        self.procs[region] = NodeProcess.start(["serve", "--config", str(config)], log)
        return self.procs[region]


@pytest.fixture
def cluster(tmp_path: Path, nats_cluster: SuperCluster) -> Iterator[Cluster]:
    made = Cluster(tmp_path, nats_cluster)
    try:
        yield made
    finally:
        for proc in made.procs.values():
            proc.kill()


def edgewise(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgewise.host.cli.main", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def deploy_examples(url: str, built: dict[str, Any]) -> None:
    async with Client(url, admin_token=TOKEN, transport="h1") as admin:
        for name, result in built.items():
            await admin.deploy(name, result.wasm_path.read_bytes())


async def test_two_serve_processes_route_list_and_migrate(
    cluster: Cluster, built_examples: dict[str, Any]
) -> None:
    a, b = cluster.start("a"), cluster.start("b")
    assert "joined region a" in a.output and "joined region b" in b.output
    for region in "ab":
        await deploy_examples(cluster.url(region), built_examples)
    key = uuid.uuid4().hex
    async with Client(cluster.url("a"), transport="h1") as client:
        assert await client.get_or_create("counter", [key]).call("increment", 3) == 3
    async with Client(cluster.url("b"), transport="h1") as client:
        handle = client.get_or_create("counter", [key])
        assert await handle.call("increment", 1) == 4
        assert handle.url == cluster.url("a")  # told where the actor lives
        actor_id = await handle.resolve()

    listed = edgewise("regions", "list", "--cluster", str(cluster.file))
    assert listed.returncode == 0, listed.stderr
    assert sum(" ok " in line for line in listed.stdout.splitlines()) == 2

    moved = edgewise("migrate", actor_id, "--to", "b", "--url", cluster.url("a"), "--token", TOKEN)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["to"] == "b"
    refused = edgewise("migrate", actor_id, "--to", "mars", "--url", cluster.url("a"),
                       "--token", TOKEN)  # fmt: skip
    assert refused.returncode == 1 and "region.unknown" in refused.stderr
    async with Client(cluster.url("a"), transport="h1") as client:
        assert await client.get(actor_id).call("get") == 4
    assert a.stop() == 0 and b.stop() == 0


async def test_a_source_killed_mid_migration_leaves_one_owner_with_all_the_state(
    cluster: Cluster, built_examples: dict[str, Any]
) -> None:
    a, _ = cluster.start("a"), cluster.start("b")
    for region in "ab":
        await deploy_examples(cluster.url(region), built_examples)
    rng = random.Random(3)
    async with Client(cluster.url("a"), transport="h1") as client:
        room = client.get_or_create("chat_room", [uuid.uuid4().hex])
        async with room.connect({"user": "ann"}) as conn:
            for _ in range(40):  # 10 MiB that RocksDB cannot compress
                last = "".join(rng.choices(string.ascii_letters, k=CHUNK))
                await conn.call("send", last)
        actor_id = await room.resolve()
    migrating = subprocess.Popen(
        [sys.executable, "-m", "edgewise.host.cli.main", "migrate", actor_id, "--to", "b",
         "--url", cluster.url("a"), "--token", TOKEN],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    async with Client(cluster.url("a"), transport="h1") as client:
        for _ in range(2000):
            try:
                progress = await client.request("GET", f"/v1/actors/{actor_id}/migration")
            except Exception:  # not started yet, or already over
                progress = None
            if progress and progress["state"] in ("streaming", "flipping"):
                break
            await asyncio.sleep(0.002)
    a.kill()
    migrating.wait(60)
    cluster.start("a")  # restarted on the same data

    directory = await NatsDirectory.connect(cluster.nats.urls("a"), placement_cluster="a")
    try:
        owner = await directory.owner(actor_id)
    finally:
        await directory.close()
    assert owner is not None and owner.placement.region in ("a", "b")
    for region in "ab":  # the same state, whichever node is asked
        async with Client(cluster.url(region), transport="h1") as client:
            [message] = await client.get(actor_id).call("history", 1)
            assert message["text"] == last
