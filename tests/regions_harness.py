"""Two regions, ``a`` and ``b``, each one real node served on 127.0.0.1, joined to one cluster
whose directory is the session's NATS super-cluster (``nats_cluster`` fixture)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from edgewise.host.actors import Node
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.regions.cluster import Member, join, open_directory
from edgewise.regions.directory import Directory
from edgewise.regions.nats_cluster import SuperCluster, free_port
from edgewise.regions.topology import Topology, topology_from_dict

SECRET = "test-cluster-secret-0123456789"
LOCATIONS = {"a": (48.86, 2.35), "b": (40.71, -74.01)}


async def migrate(node: RegionNode, actor_id: str, body: Any) -> tuple[int, Any]:
    """``POST /v1/actors/{id}/migrate`` with ``body`` to ``node``: status and decoded answer."""
    async with aiohttp.ClientSession() as http:
        url = f"{node.url}/v1/actors/{actor_id}/migrate"
        async with http.post(url, json=body) as response:
            return response.status, await response.json()


@dataclass
class RegionNode:
    region: str
    node: Node
    member: Member
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url


def cluster_topology(nats: SuperCluster, ports: dict[str, int]) -> Topology:
    regions: dict[str, Any] = {}
    nodes: dict[str, Any] = {}
    for region, (latitude, longitude) in LOCATIONS.items():
        url = f"http://127.0.0.1:{ports[region]}"
        regions[region] = {"latitude": latitude, "longitude": longitude, "http_url": url,
                           "nats_urls": nats.urls(region)}  # fmt: skip
        nodes[f"{region}-1"] = {"region": region, "url": url}
    return topology_from_dict({"regions": regions, "nodes": nodes, "cluster": {"secret": SECRET}})


Wrap = Callable[[str, Directory], Directory]


class Regions(dict[str, RegionNode]):
    """The running regions by name; ``restart(name)`` is a crash and a restart of its node."""

    def __init__(
        self,
        make_node: Callable[..., Awaitable[Node]],
        topology: Topology,
        ports: dict[str, int],
        wrap: Wrap | None,
        tables: dict[str, Any],
    ) -> None:
        super().__init__()
        self.make_node = make_node
        self.topology = topology
        self.ports = ports
        self.wrap = wrap
        self.tables = tables
        self.data_dirs: dict[str, str] = {}  # where each region's node keeps its state

    async def start(self, region: str, data_dir: str | None = None) -> RegionNode:
        node_table = {"node_id": f"{region}-1", "region": region, **self.tables.get("node", {})}
        if data_dir is not None:
            node_table["data_dir"] = data_dir
        node = await self.make_node(**{**self.tables, "node": node_table})
        self.data_dirs[region] = node.config.node.data_dir
        directory = await open_directory(node, self.topology)
        if self.wrap is not None:
            directory = self.wrap(region, directory)
        member = await join(node, self.topology, directory)
        server = await start_server(node, "127.0.0.1", self.ports[region], api=member.api())
        self[region] = RegionNode(region, node, member, server)
        return self[region]

    async def stop(self, region: str) -> None:
        """The node goes away at once: its turns and migrations end where they are."""
        stopped = self.pop(region)
        await stopped.server.close()
        await stopped.member.close()
        await stopped.node.close()

    async def restart(self, region: str) -> RegionNode:
        await self.stop(region)
        return await self.start(region, self.data_dirs[region])


@contextlib.asynccontextmanager
async def two_regions(
    make_node: Callable[..., Awaitable[Node]],
    nats: SuperCluster,
    wrap: Wrap | None = None,
    **tables: dict[str, Any],
) -> AsyncIterator[Regions]:
    ports = {region: free_port() for region in LOCATIONS}
    regions = Regions(make_node, cluster_topology(nats, ports), ports, wrap, tables)
    try:
        for region in LOCATIONS:
            await regions.start(region)
        yield regions
    finally:
        for region_node in regions.values():
            await region_node.server.close()
            await region_node.member.close()
