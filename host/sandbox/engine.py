"""The one wasmtime Engine of this process, and the epoch ticker that bounds a turn's CPU time.

wasmtime objects made for one Engine must never meet another (that aborts the process), so every
part of the node shares ``shared_engine()``. It is created on first use under a lock, with epoch
interruption on and small linear-memory reservations: the default 4 GiB reservation per memory
would cap the process near 32k live instances, while a few MiB of reserved address space (memories
move when they outgrow it) lets 10,000+ actors live at once. Instances of one module map its
initial memory copy-on-write: a Python component's 12 MiB CPython image costs a new instance
about 0.4 MiB instead of a copy. A daemon thread advances the epoch
every ``EPOCH_TICK_MS``; a turn's deadline is a number of ticks (``epoch_ticks``).
"""

from __future__ import annotations

import math
import threading
import time

import wasmtime

EPOCH_TICK_MS = 10
MEMORY_RESERVATION_BYTES = 8 * 1024 * 1024
MEMORY_GUARD_BYTES = 64 * 1024
MEMORY_GROWTH_RESERVATION_BYTES = 32 * 1024 * 1024

_lock = threading.Lock()
_engine: wasmtime.Engine | None = None


def shared_engine() -> wasmtime.Engine:
    """The process-wide Engine; starts the epoch ticker the first time."""
    global _engine
    engine = _engine
    if engine is not None:
        return engine
    with _lock:
        if _engine is None:
            _engine = wasmtime.Engine(_config())
            ticker = threading.Thread(
                target=_tick, args=(_engine,), name="edgewise-epoch", daemon=True
            )
            ticker.start()
        return _engine


def epoch_ticks(turn_timeout_ms: int) -> int:
    """Epoch ticks for a turn deadline of ``turn_timeout_ms`` (at least one)."""
    return max(1, math.ceil(turn_timeout_ms / EPOCH_TICK_MS))


def _config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.memory_reservation = MEMORY_RESERVATION_BYTES
    config.memory_guard_size = MEMORY_GUARD_BYTES
    config.memory_reservation_for_growth = MEMORY_GROWTH_RESERVATION_BYTES
    config.memory_may_move = True
    config.memory_init_cow = True  # wasmtime's default; Python components need it (see above)
    return config


def _tick(engine: wasmtime.Engine) -> None:
    while True:
        time.sleep(EPOCH_TICK_MS / 1000)
        engine.increment_epoch()
