"""The cluster file: regions, where they are, their endpoints and NATS servers, and their nodes.

A cluster file is TOML with one table per region and per node::

    [regions.eu]
    latitude = 48.86
    longitude = 2.35
    http_url = "http://127.0.0.1:6420"      # what clients of this region use
    nats_urls = ["nats://127.0.0.1:4222"]

    [nodes.eu-1]
    region = "eu"
    url = "http://127.0.0.1:6420"           # node-to-node traffic (forwarding, migration)

    [cluster]
    secret = "..."                          # authenticates node-to-node requests

Every node of the cluster reads the same file (``edgewise serve --config node.toml`` with
``[node] cluster_file`` and ``node_id``). Names are ``[a-z][a-z0-9-]{0,31}``.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewise.regions.errors import RegionUnknown, TopologyInvalid

NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Region:
    name: str
    latitude: float
    longitude: float
    http_url: str
    nats_urls: tuple[str, ...]


@dataclass(frozen=True)
class NodeEntry:
    node_id: str
    region: str
    url: str


@dataclass(frozen=True)
class Topology:
    regions: dict[str, Region]
    nodes: dict[str, NodeEntry]
    secret: str

    def region(self, name: str) -> Region:
        found = self.regions.get(name)
        if found is None:
            known = ", ".join(sorted(self.regions))
            raise RegionUnknown(f"no region {name!r} in the cluster (known: {known})")
        return found

    def node(self, node_id: str) -> NodeEntry:
        found = self.nodes.get(node_id)
        if found is None:
            raise TopologyInvalid(f"no node {node_id!r} in the cluster file")
        return found

    def nodes_of(self, region: str) -> list[NodeEntry]:
        return [n for n in self.nodes.values() if n.region == region]

    def distance_km(self, a: str, b: str) -> float:
        """Great-circle distance between two regions."""
        ra, rb = self.region(a), self.region(b)
        lat1, lat2 = math.radians(ra.latitude), math.radians(rb.latitude)
        dlat, dlon = lat2 - lat1, math.radians(rb.longitude - ra.longitude)
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def single_region(region: str, node_id: str, url: str) -> Topology:
    """The topology of a node on its own (``edgewise dev``): one region, one node."""
    return Topology(
        regions={region: Region(region, 0.0, 0.0, url, ())},
        nodes={node_id: NodeEntry(node_id, region, url)},
        secret="",
    )


def load_topology(path: Path) -> Topology:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopologyInvalid(f"cluster file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TopologyInvalid(f"cluster file {path} is not valid TOML: {exc}") from None
    return topology_from_dict(raw)


def topology_from_dict(raw: dict[str, Any]) -> Topology:
    unknown = set(raw) - {"regions", "nodes", "cluster"}
    if unknown:
        raise TopologyInvalid(f"unknown table [{sorted(unknown)[0]}] in the cluster file")
    regions = {name: _region(name, body) for name, body in _table(raw, "regions").items()}
    nodes = {name: _node(name, body, regions) for name, body in _table(raw, "nodes").items()}
    if not regions or not nodes:
        raise TopologyInvalid("the cluster file needs at least one region and one node")
    cluster = raw.get("cluster", {})
    secret = cluster.get("secret", "") if isinstance(cluster, dict) else None
    if not isinstance(secret, str):
        raise TopologyInvalid("[cluster] secret must be a string")
    if len(regions) > 1 and len(secret) < 16:
        raise TopologyInvalid("[cluster] secret of at least 16 characters is needed across regions")
    return Topology(regions, nodes, secret)


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise TopologyInvalid(f"[{name}] must be a table")
    for key, body in table.items():
        if not NAME.fullmatch(key):
            raise TopologyInvalid(f"[{name}.{key}]: names are [a-z][a-z0-9-]{{0,31}}")
        if not isinstance(body, dict):
            raise TopologyInvalid(f"[{name}.{key}] must be a table")
    return table


def _field(where: str, body: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TopologyInvalid(f"[{where}] {key} is missing or has the wrong type")
    return value


def _url(where: str, body: dict[str, Any], key: str) -> str:
    value: str = _field(where, body, key, str)
    if not value.startswith(("http://", "https://")):
        raise TopologyInvalid(f"[{where}] {key} must be an http:// or https:// URL")
    return value.rstrip("/")


def _region(name: str, body: dict[str, Any]) -> Region:
    where = f"regions.{name}"
    latitude = float(_field(where, body, "latitude", (int, float)))
    longitude = float(_field(where, body, "longitude", (int, float)))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise TopologyInvalid(f"[{where}] latitude or longitude out of range")
    nats = body.get("nats_urls", [])
    if not isinstance(nats, list) or not all(isinstance(u, str) for u in nats):
        raise TopologyInvalid(f"[{where}] nats_urls must be a list of strings")
    return Region(name, latitude, longitude, _url(where, body, "http_url"), tuple(nats))


def _node(name: str, body: dict[str, Any], regions: dict[str, Region]) -> NodeEntry:
    where = f"nodes.{name}"
    region: str = _field(where, body, "region", str)
    if region not in regions:
        raise TopologyInvalid(f"[{where}] names region {region!r}, which is not in [regions]")
    return NodeEntry(name, region, _url(where, body, "url"))
