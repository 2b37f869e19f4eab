"""Where an actor lives, from this node's point of view: here, or on which other node.

The router sits between the API and the node when the node is part of a cluster. A new key is
claimed in the directory (the first claim wins across regions) and its actor created here, in
the region of the node that received the request; an existing actor is found by its owner record.
An actor whose data is on this node is served here once its owner record confirms it (fencing:
after a restart, a copy whose owner moved on is dropped, never served); an actor owned elsewhere
is answered by ``Remote(node)`` and the API forwards the request there. Owners read from the
directory are cached until a forward finds them stale (``forget``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from edgewise.host.actors import ActorInfo, Node
from edgewise.host.errors import ActorAlreadyExists, ActorNotFound
from edgewise.regions.directory import Directory, Owner, Placement
from edgewise.regions.errors import DirectoryConflict, OwnerUnreachable
from edgewise.regions.topology import NodeEntry, Topology

log = logging.getLogger("edgewise.regions")

PEER_HEADER = "edgewise-cluster-secret"
OWNER_WAIT_S = 2.0  # a racing creator may not have written its owner record yet
OWNER_POLL_S = 0.02


@dataclass(frozen=True)
class Remote:
    node: NodeEntry
    actor_id: str


@dataclass(frozen=True)
class Local:
    info: ActorInfo
    created: bool


class Router:
    def __init__(self, node: Node, directory: Directory, topology: Topology) -> None:
        self.node = node
        self.directory = directory
        self.topology = topology
        self.me = topology.node(node.node_id)
        self._verified: set[str] = set()
        self._owners: dict[str, Owner] = {}
        self.incoming: set[str] = set()  # migrating here, not ours until the flip

    @property
    def region(self) -> str:
        return self.me.region

    def is_peer(self, headers: Mapping[str, str]) -> bool:
        """Whether a request comes from another node of the cluster (it knows the secret)."""
        given = headers.get(PEER_HEADER)
        secret = self.topology.secret
        return bool(secret) and given is not None and hmac.compare_digest(given, secret)

    async def actor_for_key(
        self,
        name: str,
        key: tuple[str, ...],
        input: object = None,
        *,
        create: bool = True,
        must_create: bool = False,
        retried: bool = False,
    ) -> Local | Remote:
        node = self.node
        local_id = node.local_actor_id(name, key)
        if local_id is not None and local_id not in self.incoming and await self._verify(local_id):
            if must_create:
                raise ActorAlreadyExists(f"actor {name} {list(key)} already exists")
            return Local(node.get(local_id), False)
        actor_id = await self.directory.lookup_key(name, key)
        if actor_id is None:
            if not create:
                raise ActorNotFound(f"actor {name} {list(key)} does not exist")
            mine = uuid.uuid4().hex
            actor_id = await self.directory.claim_key(name, key, mine)
            if actor_id == mine:
                await self.directory.create_owner(mine, Placement(self.region, node.node_id, 1))
                info, created = await node.get_or_create(name, key, input, actor_id=mine)
                self._verified.add(mine)
                return Local(info, created)
        if must_create:
            raise ActorAlreadyExists(f"actor {name} {list(key)} already exists")
        owner = await self._owner(actor_id, wait=True)
        if owner is None:
            raise ActorNotFound(f"actor {name} {list(key)} does not exist")
        if owner.placement.node == node.node_id:
            if actor_id in self.incoming and node.has_actor(actor_id):
                self.owned_here(actor_id, owner)  # flipped to us before the source told us
                return Local(node.get(actor_id), False)
            if actor_id in self.incoming or retried:
                raise OwnerUnreachable(f"actor {actor_id} is recorded here but has no data")
            await self.destroyed(actor_id, name, key)  # it destroyed itself here: free the key
            return await self.actor_for_key(
                name, key, input, create=create, must_create=must_create, retried=True
            )
        return Remote(self.topology.node(owner.placement.node), actor_id)

    async def where(self, actor_id: str, *, fresh: bool = False) -> Remote | None:
        """None if the actor is served here, else the node that owns it; ``fresh`` reads the
        owner from the directory even if a cached one exists (a peer sent us the request)."""
        if self.node.moved_to(actor_id) is None and actor_id not in self.incoming:
            if actor_id in self._verified:  # the common case: no storage read per request
                return None
            if self.node.has_actor(actor_id) and await self._verify(actor_id):
                return None
        if fresh:
            self._owners.pop(actor_id, None)
        owner = await self._owner(actor_id, wait=False)
        if owner is not None and owner.placement.node == self.node.node_id:
            owner = await self.directory.owner(actor_id)  # the cache may predate a flip to us
        if owner is None:
            raise ActorNotFound(f"actor {actor_id} does not exist")
        if owner.placement.node != self.node.node_id:
            return Remote(self.topology.node(owner.placement.node), actor_id)
        if actor_id in self.incoming and self.node.has_actor(actor_id):
            self.owned_here(actor_id, owner)  # flipped to us before the source told us
            return None
        raise ActorNotFound(f"actor {actor_id} does not exist")

    async def destroyed(self, actor_id: str, name: str, key: tuple[str, ...]) -> None:
        """The actor was destroyed here: free its key and remove its owner record."""
        owner = await self.directory.owner(actor_id)
        if owner is not None:
            try:
                await self.directory.delete_owner(actor_id, owner)
            except DirectoryConflict:
                log.warning("actor %s: its owner record changed while it was destroyed", actor_id)
        await self.directory.release_key(name, key, actor_id)
        self._verified.discard(actor_id)
        self._owners.pop(actor_id, None)

    def forget(self, actor_id: str) -> None:
        """A forward found the cached owner stale: read it again next time."""
        self._owners.pop(actor_id, None)

    def owned_here(self, actor_id: str, owner: Owner) -> None:
        """This node became the actor's owner (a migration ended here)."""
        self.incoming.discard(actor_id)
        self._owners[actor_id] = owner
        self._verified.add(actor_id)

    def moved_away(self, actor_id: str, owner: Owner) -> None:
        self._owners[actor_id] = owner
        self._verified.discard(actor_id)

    async def _owner(self, actor_id: str, *, wait: bool) -> Owner | None:
        cached = self._owners.get(actor_id)
        if cached is not None:
            return cached
        deadline = asyncio.get_running_loop().time() + (OWNER_WAIT_S if wait else 0.0)
        while True:
            owner = await self.directory.owner(actor_id)
            if owner is not None:
                self._owners[actor_id] = owner
                return owner
            if asyncio.get_running_loop().time() >= deadline:
                return None
            await asyncio.sleep(OWNER_POLL_S)

    async def _verify(self, actor_id: str) -> bool:
        """Whether this node may serve its copy of the actor (fencing after a restart)."""
        if actor_id in self._verified:
            return True
        if actor_id in self.incoming:
            return False
        owner = await self.directory.owner(actor_id)
        if owner is None:  # made before the node joined a cluster: claim it and its key
            info = self.node.get(actor_id)
            recorded = await self.directory.claim_key(info.name, info.key, actor_id)
            if recorded != actor_id:
                log.warning("actor %s: its key belongs to actor %s elsewhere", actor_id, recorded)
            try:
                owner = await self.directory.create_owner(
                    actor_id, Placement(self.region, self.node.node_id, 1)
                )
            except DirectoryConflict:
                owner = await self.directory.owner(actor_id)
        if owner is not None and owner.placement.node == self.node.node_id:
            self._verified.add(actor_id)
            self._owners[actor_id] = owner
            return True
        log.warning("actor %s is owned by another node now: dropping the local copy", actor_id)
        await self.node.drop_local(actor_id)
        return False
