"""Two regions, ``a`` and ``b``, each one real node served on 127.0.0.1, joined to one cluster
whose directory is the session's NATS super-cluster (``nats_cluster`` fixture)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from edgewise.host.actors import Node
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.regions.cluster import Member, join
from edgewise.regions.nats_cluster import SuperCluster, free_port
from edgewise.regions.topology import Topology, topology_from_dict

SECRET = "test-cluster-secret-0123456789"
LOCATIONS = {"a": (48.86, 2.35), "b": (40.71, -74.01)}


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


@contextlib.asynccontextmanager
async def two_regions(
    make_node: Callable[..., Awaitable[Node]], nats: SuperCluster, **tables: dict[str, Any]
) -> AsyncIterator[dict[str, RegionNode]]:
    ports = {region: free_port() for region in LOCATIONS}
    topology = cluster_topology(nats, ports)
    started: dict[str, RegionNode] = {}
    try:
        for region in LOCATIONS:
            node_table = {"node_id": f"{region}-1", "region": region, **tables.get("node", {})}
            node = await make_node(**{**tables, "node": node_table})
            member = await join(node, topology)
            server = await start_server(node, "127.0.0.1", ports[region], api=member.api())
            started[region] = RegionNode(region, node, member, server)
        yield started
    finally:
        for region_node in started.values():
            await region_node.server.close()
            await region_node.member.close()
