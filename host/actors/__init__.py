"""Actors: the node, activations, mailboxes, lifecycle and alarms."""

from edgewise.host.actors.connections import EventSink
from edgewise.host.actors.node import ActorInfo, Node

__all__ = ["ActorInfo", "EventSink", "Node"]
