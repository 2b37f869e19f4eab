"""The node's table of client connections (sans-IO).

The node owns the sockets, not the activations: a connection maps a connection id to its actor,
its ``EventSink`` (one per WebSocket, implemented by a transport) and the event names it
subscribed to. Connections outlive an actor's sleep; a destroyed actor's connections are closed.
Delivery never raises: a sink that fails is logged and left to its transport.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edgewise.host.errors import ConnectionNotFound

log = logging.getLogger("edgewise.actors")


class EventSink(Protocol):
    """Where a connection's events go; implemented by each transport, one per WebSocket."""

    def deliver(self, name: str, args: tuple[Any, ...]) -> None: ...

    def close(self, code: str, message: str) -> None: ...

    def moved(self, region: str, url: str) -> None:
        """The actor moved to ``region``: tell the client where, then close."""


@dataclass
class Connection:
    conn_id: int
    actor_id: str
    sink: EventSink
    subscriptions: set[str] = field(default_factory=set)


class Connections:
    def __init__(self) -> None:
        self._by_id: dict[int, Connection] = {}
        self._by_actor: dict[str, dict[int, Connection]] = {}  # a broadcast looks at one actor's
        self._next_id = 1

    def open(self, actor_id: str, sink: EventSink) -> Connection:
        conn = Connection(self._next_id, actor_id, sink)
        self._next_id += 1
        self._by_id[conn.conn_id] = conn
        self._by_actor.setdefault(actor_id, {})[conn.conn_id] = conn
        return conn

    def get(self, conn_id: int) -> Connection:
        conn = self._by_id.get(conn_id)
        if conn is None:
            raise ConnectionNotFound(f"connection {conn_id} does not exist")
        return conn

    def remove(self, conn_id: int) -> Connection | None:
        conn = self._by_id.pop(conn_id, None)
        if conn is not None:
            of_actor = self._by_actor[conn.actor_id]
            del of_actor[conn_id]
            if not of_actor:
                del self._by_actor[conn.actor_id]
        return conn

    def of_actor(self, actor_id: str) -> list[Connection]:
        return list(self._by_actor.get(actor_id, {}).values())

    def all(self) -> list[Connection]:
        return list(self._by_id.values())

    def broadcast(self, actor_id: str, events: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """Deliver each event to every connection of the actor subscribed to its name."""
        listeners = self._by_actor.get(actor_id)
        if not listeners:
            return
        for name, args in events:
            for conn in list(listeners.values()):
                if name in conn.subscriptions:
                    _deliver(conn, name, args)

    def send(self, actor_id: str, messages: Iterable[tuple[int, str, tuple[Any, ...]]]) -> None:
        """Deliver each event to one connection of the actor, subscribed or not."""
        for conn_id, name, args in messages:
            conn = self._by_id.get(conn_id)
            if conn is not None and conn.actor_id == actor_id:
                _deliver(conn, name, args)

    def close_actor(self, actor_id: str, code: str, message: str) -> None:
        self._close(self.of_actor(actor_id), code, message)

    def move_actor(self, actor_id: str, region: str, url: str) -> None:
        """Forget the actor's connections and tell each client where the actor went."""
        for conn in self.of_actor(actor_id):
            self.remove(conn.conn_id)
            try:
                conn.sink.moved(region, url)
            except Exception:
                log.exception("moving connection %d failed", conn.conn_id)

    def close_all(self, code: str, message: str) -> None:
        self._close(self.all(), code, message)

    def _close(self, conns: list[Connection], code: str, message: str) -> None:
        """Forget each connection, then close its sink (a failure is logged)."""
        for conn in conns:
            self.remove(conn.conn_id)
            try:
                conn.sink.close(code, message)
            except Exception:
                log.exception("closing connection %d failed", conn.conn_id)


def _deliver(conn: Connection, name: str, args: tuple[Any, ...]) -> None:
    try:
        conn.sink.deliver(name, args)
    except Exception:
        log.exception("event %r to connection %d failed", name, conn.conn_id)
