"""Errors of the regions layer (topology, directory, routing, migration), named by cause.

They are ``EdgewiseError``s, so transports answer them like any other: a stable ``code``, a
safe ``message`` and an HTTP ``status``. Exceptions of nats-py and of peer HTTP calls are mapped
to these where they happen.

- ``PeerFault``: another node or the directory failed or answered wrongly; retry later.
"""

from __future__ import annotations

from edgewise.host.errors import ClientFault, EdgewiseError, HostFault


class PeerFault(EdgewiseError):
    code = "peer.failed"
    status = 502


class TopologyInvalid(HostFault):
    """The cluster file is missing, not TOML, or names things inconsistently."""

    code = "topology.invalid"


class RegionUnknown(ClientFault):
    code = "region.unknown"
    status = 404


class DirectoryUnavailable(PeerFault):
    """The directory (NATS JetStream KV) cannot be reached or did not answer in time."""

    code = "directory.unavailable"
    status = 503


class DirectoryConflict(PeerFault):
    """A compare-and-set lost: someone changed the record first (a stale owner, a racing create)."""

    code = "directory.conflict"
    status = 409


class OwnerUnreachable(PeerFault):
    """The node that owns the actor did not answer a forwarded request."""

    code = "peer.unreachable"
    status = 502


class MigrationFailed(PeerFault):
    """A migration stopped before the owner changed; the actor stayed where it was."""

    code = "migration.failed"
    status = 409
