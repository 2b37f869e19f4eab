"""An in-process ``EventSink`` that records what the node delivered: a first-class sink (the
node's contract asks only for ``deliver``, ``close`` and ``moved``), used by tests instead of a
socket."""

from __future__ import annotations

import asyncio
from typing import Any


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.closed: list[tuple[str, str]] = []
        self.moves: list[tuple[str, str]] = []
        self.arrived = asyncio.Event()

    def deliver(self, name: str, args: tuple[Any, ...]) -> None:
        self.events.append((name, args))
        self.arrived.set()

    def close(self, code: str, message: str) -> None:
        self.closed.append((code, message))

    def moved(self, region: str, url: str) -> None:
        self.moves.append((region, url))
