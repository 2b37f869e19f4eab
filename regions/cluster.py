"""A node joining its cluster: the directory it uses, its router and forwarder, one API.

``join(node, topology)`` picks the directory from the node's region: NATS JetStream KV when the
region lists NATS servers (the bucket is replicated in the first region, by name, that has
them, so that every node opens it with the same settings), else the local RocksDB directory in
``DATA_DIR/directory`` (a one-region cluster). ``Member.close()`` is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgewise.host.actors import Node
from edgewise.host.transports.api import Api
from edgewise.host.transports.routes import make_api
from edgewise.regions.directory import Directory, LocalDirectory
from edgewise.regions.directory_nats import NatsDirectory
from edgewise.regions.forward import Forwarder
from edgewise.regions.migration.coordinator import Migrations
from edgewise.regions.router import Router
from edgewise.regions.topology import Topology


@dataclass
class Member:
    node: Node
    topology: Topology
    directory: Directory
    router: Router
    forwarder: Forwarder
    migrations: Migrations
    _closed: bool = field(default=False)

    def api(self) -> Api:
        return make_api(self.node, self.router, self.forwarder, self.migrations)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.migrations.close()
            await self.forwarder.close()
            await self.directory.close()


async def open_directory(node: Node, topology: Topology) -> Directory:
    region = topology.region(topology.node(node.node_id).region)
    if not region.nats_urls:
        return LocalDirectory.open(node.config.data_path / "directory")
    with_nats = sorted(r.name for r in topology.regions.values() if r.nats_urls)
    return await NatsDirectory.connect(region.nats_urls, placement_cluster=with_nats[0])


async def join(node: Node, topology: Topology, directory: Directory | None = None) -> Member:
    """Join ``node`` to its cluster (with ``directory`` if given, else the region's own)."""
    if directory is None:
        directory = await open_directory(node, topology)
    router = Router(node, directory, topology)
    migrations = Migrations(node, router, directory, topology)
    forwarder = Forwarder(topology, router.region)
    return Member(node, topology, directory, router, forwarder, migrations)
