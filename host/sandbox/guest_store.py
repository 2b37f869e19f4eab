"""What both kinds of instance (a core module's, a component's) share: a wasmtime Store of their
own on the shared Engine, made with the instance's memory limit and CPU deadline, and the faults
both word the same way. An instance is a context manager; ``close()`` is idempotent.
"""

from __future__ import annotations

from typing import Self

import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import GuestOutOfMemory, GuestTimeout, GuestTooLarge
from edgewise.host.sandbox.engine import epoch_ticks, shared_engine


class GuestStore:
    """Owns one instance's Store; subclasses instantiate their guest in ``self._store``."""

    def __init__(self, limits: LimitsConfig) -> None:
        self._limits = limits
        self._deadline = epoch_ticks(limits.turn_timeout_ms)
        store = wasmtime.Store(shared_engine())
        store.set_limits(memory_size=limits.max_memory_bytes)
        store.set_epoch_deadline(self._deadline)
        self._store: wasmtime.Store | None = store

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._store is None

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def _turn_timeout(self) -> GuestTimeout:
        return GuestTimeout(
            f"turn ran past its CPU deadline of {self._limits.turn_timeout_ms} ms "
            "(trap code interrupt)"
        )

    def _check_result_size(self, size: int) -> None:
        if size > self._limits.max_message_bytes:
            raise GuestTooLarge(
                f"turn result is {size} bytes, "
                f"limit is {self._limits.max_message_bytes} (max_message_bytes)"
            )

    def _memory_too_small(self, what: str) -> GuestOutOfMemory:
        return GuestOutOfMemory(
            f"{what} needs more linear memory than max_memory_bytes "
            f"({self._limits.max_memory_bytes} bytes)"
        )
