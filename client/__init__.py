"""The Edgewise Python client: HTTP calls and WebSocket connections to actors."""

from edgewise.client.client import ActorHandle, Client
from edgewise.client.connection import ActorConnection, ReconnectPolicy
from edgewise.client.errors import (
    ClientClosed,
    ConnectionLost,
    EdgewiseClientError,
    ProtocolViolation,
    ServerUnreachable,
)

__all__ = [
    "ActorConnection",
    "ActorHandle",
    "Client",
    "ClientClosed",
    "ConnectionLost",
    "EdgewiseClientError",
    "ProtocolViolation",
    "ReconnectPolicy",
    "ServerUnreachable",
]
