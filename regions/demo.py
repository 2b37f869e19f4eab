"""Two regions on one machine, far apart: what ``edgewise regions demo`` starts.

Regions ``eu`` and ``us``, each a NATS cluster of three servers (one super-cluster, the
directory in JetStream) and one node serving the given modules. Each node also sits behind a
``DelayProxy`` adding ``rtt_ms / 2`` each way: the other region's node and the clients "from the
other region" use that address, so forwarding, migration and follow-the-user pay a real round
trip. ``Demo`` owns everything it starts; ``close()`` stops it all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edgewise.host.actors import Node
from edgewise.host.config import ActorsConfig, Config, FollowConfig, NodeConfig
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.regions.cluster import Member, join
from edgewise.regions.latency import DelayProxy
from edgewise.regions.nats_cluster import SuperCluster, free_ports
from edgewise.regions.topology import Topology, topology_from_dict

REGIONS = {"eu": (48.86, 2.35), "us": (40.71, -74.01)}
SECRET = "edgewise-demo-cluster-secret"


@dataclass
class DemoRegion:
    name: str
    node: Node
    member: Member
    server: RunningServer
    proxy: DelayProxy

    @property
    def local_url(self) -> str:
        return self.server.url

    @property
    def remote_url(self) -> str:
        return self.proxy.url


@dataclass
class Demo:
    nats: SuperCluster
    topology: Topology
    regions: dict[str, DemoRegion] = field(default_factory=dict)

    async def close(self) -> None:
        for region in self.regions.values():
            await region.server.close()
            await region.member.close()
            await region.proxy.close()
            await region.node.close()
        self.nats.stop()


Deploy = Callable[[Node], Awaitable[None]]


async def start_demo(
    data_dir: Path,
    rtt_ms: float,
    deploy: Deploy,
    *,
    ports: Sequence[int] | None = None,
    proxy_ports: Sequence[int] | None = None,
    actors: ActorsConfig | None = None,
    follow: FollowConfig | None = None,
) -> Demo:
    """Start both regions; ``deploy(node)`` puts the modules on each node. Ports (nodes, then
    their proxies) are picked when not given."""
    nats = SuperCluster(list(REGIONS), data_dir / "nats").start()
    node_ports = list(ports) if ports else free_ports(len(REGIONS))
    proxies = {
        name: DelayProxy(port, rtt_ms / 2) for name, port in zip(REGIONS, node_ports, strict=True)
    }
    for proxy, port in zip(proxies.values(), proxy_ports or [0] * len(REGIONS), strict=True):
        await proxy.start(port)
    topology = _topology(nats, dict(zip(REGIONS, node_ports, strict=True)), proxies)
    demo = Demo(nats, topology)
    try:
        for (name, proxy), port in zip(proxies.items(), node_ports, strict=True):
            config = Config(
                node=NodeConfig(
                    node_id=f"{name}-1", region=name, port=port, data_dir=str(data_dir / name)
                ),
                actors=actors or ActorsConfig(),
                follow=follow or FollowConfig(),
            )
            node = await Node.open(config)
            await deploy(node)
            member = await join(node, topology)
            server = await start_server(node, "127.0.0.1", port, api=member.api())
            demo.regions[name] = DemoRegion(name, node, member, server, proxy)
    except BaseException:
        await demo.close()
        for proxy in proxies.values():
            await proxy.close()
        raise
    return demo


def _topology(
    nats: SuperCluster, ports: dict[str, int], proxies: dict[str, DelayProxy]
) -> Topology:
    regions = {
        name: {
            "latitude": lat,
            "longitude": lon,
            "http_url": f"http://127.0.0.1:{ports[name]}",
            "nats_urls": nats.urls(name),
        }
        for name, (lat, lon) in REGIONS.items()
    }
    nodes = {f"{name}-1": {"region": name, "url": proxies[name].url} for name in REGIONS}
    return topology_from_dict({"regions": regions, "nodes": nodes, "cluster": {"secret": SECRET}})
