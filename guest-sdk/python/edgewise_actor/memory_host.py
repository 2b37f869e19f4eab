"""`MemoryHost`: the host of one actor in plain Python, to test actors without a node.

It implements `Host` with the node's rules: keys of 1..512 bytes, values up to
`max_value_bytes`, list limits of 1..1000, the spec's error codes. Log lines are kept in `logs`,
the key of every put and delete call in `writes`; randomness is seeded. `turn` runs one turn the
way the node does: it builds the envelope, and when the turn faults it drops the turn's writes
and re-raises.
"""

from __future__ import annotations

import random
from typing import Any

from . import cbor
from .actor import Actor
from .host import (
    INVALID_ARGUMENT,
    KEY_TOO_LARGE,
    MAX_KEY_BYTES,
    MAX_LIST_LIMIT,
    MAX_RANDOM_BYTES,
    VALUE_TOO_LARGE,
    kv_error,
)
from .turn import Fault, run_turn


class MemoryHost:
    """One actor's KV data, log and clock, in memory."""

    def __init__(
        self, *, name: str = "test", key: tuple[str, ...] = ("k",), now_ms: int = 1_000_000,
        max_value_bytes: int = 1 << 20, seed: int = 0,
    ) -> None:  # fmt: skip
        self.actor = {"id": "0" * 32, "name": name, "key": list(key)}
        self.now_ms = now_ms
        self.max_value_bytes = max_value_bytes
        self.data: dict[bytes, bytes] = {}
        self.logs: list[tuple[int, str]] = []
        self.writes: list[bytes] = []
        self._random = random.Random(seed)

    def turn(self, actor: Actor, kind: str, **fields: Any) -> dict[str, Any]:
        """Run one turn of `kind` (envelope `fields` beside actor and now_ms): the decoded
        result. A Fault drops the turn's writes, as the node does, and propagates."""
        envelope = {"kind": kind, "actor": self.actor, "now_ms": self.now_ms, **fields}
        saved = dict(self.data)
        try:
            result: dict[str, Any] = cbor.decode(run_turn(actor, cbor.encode(envelope), self))
        except Fault:
            self.data = saved
            raise
        return result

    def call(
        self, actor: Actor, action: str, *args: Any, conn: int | None = None
    ) -> dict[str, Any]:
        """Run the action turn `action(*args)`: the result map."""
        return self.turn(actor, "action", action=action, args=list(args), conn=conn)

    def _check_key(self, key: bytes) -> None:
        if not key:
            raise kv_error(INVALID_ARGUMENT, key)
        if len(key) > MAX_KEY_BYTES:
            raise kv_error(KEY_TOO_LARGE, key)

    def kv_get(self, key: bytes) -> bytes | None:
        self._check_key(key)
        return self.data.get(key)

    def kv_put(self, key: bytes, value: bytes) -> None:
        self._check_key(key)
        if len(value) > self.max_value_bytes:
            raise kv_error(VALUE_TOO_LARGE, key, value)
        self.data[key] = value
        self.writes.append(key)

    def kv_delete(self, key: bytes) -> None:
        self._check_key(key)
        self.data.pop(key, None)
        self.writes.append(key)

    def kv_list(self, prefix: bytes, start_after: bytes, limit: int) -> bytes:
        if len(prefix) > MAX_KEY_BYTES or len(start_after) > MAX_KEY_BYTES:
            raise kv_error(KEY_TOO_LARGE, max(prefix, start_after, key=len))
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise kv_error(INVALID_ARGUMENT, prefix)
        keys = sorted(k for k in self.data if k.startswith(prefix) and k > start_after)
        return cbor.encode([[k, self.data[k]] for k in keys[:limit]])

    def log(self, level: int, text: str) -> None:
        self.logs.append((level, text))

    def random(self, size: int) -> bytes:
        if not 0 <= size <= MAX_RANDOM_BYTES:
            raise ValueError(f"random takes 0..{MAX_RANDOM_BYTES} bytes, not {size}")
        return self._random.randbytes(size)
