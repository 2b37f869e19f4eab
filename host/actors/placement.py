"""Where an actor's turns run: inline on the event loop's thread, or in the worker pool.

A typical turn takes tens of microseconds, less than a hop to a worker thread and back, so actors
start inline. A turn that used more CPU time than the budget is a strike; two strikes in a row (one
alone may be a garbage-collection pause that hit a quick turn) or one timeout move the actor to the
pool for as long as the node runs, where wasm runs without the GIL and a slow actor cannot stall
the others. Sans-IO: callers measure the CPU time and report it.
"""

from __future__ import annotations

STRIKES_TO_MOVE = 2


class TurnPlacement:
    def __init__(self, budget_s: float) -> None:
        self._budget_s = budget_s
        self._strikes: dict[str, int] = {}
        self._pooled: set[str] = set()

    def runs_inline(self, actor_id: str) -> bool:
        return self._budget_s > 0 and actor_id not in self._pooled

    def turn_ran(self, actor_id: str, cpu_s: float) -> None:
        """An inline turn of ``actor_id`` used ``cpu_s`` seconds of CPU time."""
        if cpu_s <= self._budget_s:
            self._strikes.pop(actor_id, None)
            return
        strikes = self._strikes.get(actor_id, 0) + 1
        if strikes >= STRIKES_TO_MOVE:
            self._move_to_pool(actor_id)
        else:
            self._strikes[actor_id] = strikes

    def turn_timed_out(self, actor_id: str) -> None:
        self._move_to_pool(actor_id)

    def forget(self, actor_id: str) -> None:
        """The actor was destroyed."""
        self._strikes.pop(actor_id, None)
        self._pooled.discard(actor_id)

    def _move_to_pool(self, actor_id: str) -> None:
        self._strikes.pop(actor_id, None)
        self._pooled.add(actor_id)
