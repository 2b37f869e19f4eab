"""When to write a group commit: a sans-IO state machine that takes ``now`` (seconds).

Write sets are submitted as they become ready. The first one of a group opens a commit window;
when the window has passed (or the group reached ``max_items``) ``poll`` hands the whole group
over as one ``Flush``. While that batch is being written and synced (state ``flushing``), new
write sets collect into the next group; ``finish`` ends the flush and the next group is flushed
at once if its window has passed. Items come out in the order they were submitted.

    idle --submit--> collecting --take--> flushing --finish--> collecting | idle
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from edgewise.storage.errors import CommitStateInvalid

T = TypeVar("T")


class CommitState(enum.Enum):
    IDLE = "idle"
    COLLECTING = "collecting"
    FLUSHING = "flushing"


@dataclass(frozen=True)
class Flush(Generic[T]):
    """Write these items as one batch now, then call ``finish``."""

    items: tuple[T, ...]


@dataclass(frozen=True)
class WaitUntil:
    """Nothing to do before ``deadline``; new submissions do not move it earlier."""

    deadline: float


@dataclass(frozen=True)
class Idle:
    """Nothing pending."""


_S = CommitState
_TRANSITIONS: dict[tuple[CommitState, str], CommitState | None] = {
    (_S.IDLE, "submit"): _S.COLLECTING,
    (_S.COLLECTING, "submit"): _S.COLLECTING,
    (_S.FLUSHING, "submit"): _S.FLUSHING,
    (_S.IDLE, "poll"): _S.IDLE,
    (_S.COLLECTING, "poll"): _S.COLLECTING,
    (_S.COLLECTING, "take"): _S.FLUSHING,
    (_S.FLUSHING, "finish"): None,  # collecting or idle, by what is pending
    (_S.IDLE, "drain"): _S.IDLE,
    (_S.COLLECTING, "drain"): _S.IDLE,
    (_S.FLUSHING, "drain"): _S.FLUSHING,
}


class GroupCommit(Generic[T]):
    def __init__(self, window_s: float, max_items: int = 1024) -> None:
        if window_s < 0 or max_items < 1:
            raise ValueError("window_s must be >= 0 and max_items >= 1")
        self.window_s = window_s
        self.max_items = max_items
        self.state = CommitState.IDLE
        self._pending: list[T] = []
        self._opened_at = 0.0

    def _move(self, event: str) -> None:
        if (self.state, event) not in _TRANSITIONS:
            raise CommitStateInvalid(f"group commit: event {event!r} in state {self.state.value!r}")
        target = _TRANSITIONS[(self.state, event)]
        if target is None:
            target = CommitState.COLLECTING if self._pending else CommitState.IDLE
        self.state = target

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, item: T, now: float) -> None:
        if not self._pending:
            self._opened_at = now
        self._move("submit")
        self._pending.append(item)

    def poll(self, now: float) -> Flush[T] | WaitUntil | Idle:
        self._move("poll")
        if self.state is CommitState.IDLE:
            return Idle()
        deadline = self._opened_at + self.window_s
        if now < deadline and len(self._pending) < self.max_items:
            return WaitUntil(deadline)
        self._move("take")
        items = tuple(self._pending[: self.max_items])
        del self._pending[: self.max_items]
        return Flush(items)

    def finish(self) -> None:
        self._move("finish")

    def drain(self) -> list[T]:
        """Take every item not yet handed to a flush (the store is closing)."""
        self._move("drain")
        items, self._pending = self._pending, []
        return items
