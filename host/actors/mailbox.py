"""The mailbox of one activation: commands waiting for their turn, each with a reply future.

Commands are frozen dataclasses in the imperative (``RunAction``, ``DestroyActor``...). The
mailbox holds at most ``capacity`` waiting commands; one more is refused with
``actor.overloaded``. A single worker (the activation) takes them one at a time, which is what
keeps an actor's turns from overlapping.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from edgewise.host.errors import ActorOverloaded, EdgewiseError
from edgewise.storage import AlarmEntry


@dataclass(frozen=True)
class RunCreate:
    input: Any


@dataclass(frozen=True)
class RunAction:
    action: str
    args: tuple[Any, ...]
    conn: int | None


@dataclass(frozen=True)
class RunConnect:
    conn: int
    params: Any


@dataclass(frozen=True)
class RunDisconnect:
    conn: int


@dataclass(frozen=True)
class RunAlarm:
    alarm: AlarmEntry


@dataclass(frozen=True)
class DestroyActor:
    pass


Command = RunCreate | RunAction | RunConnect | RunDisconnect | RunAlarm | DestroyActor


@dataclass(frozen=True)
class Letter:
    command: Command
    reply: asyncio.Future[Any]


class Mailbox:
    def __init__(self, actor_id: str, capacity: int) -> None:
        self._actor_id = actor_id
        self._capacity = capacity
        self._letters: deque[Letter] = deque()
        self._arrived = asyncio.Event()

    def __len__(self) -> int:
        return len(self._letters)

    def post(self, command: Command) -> asyncio.Future[Any]:
        """Queue a command; its future resolves with the turn's reply or error."""
        if len(self._letters) >= self._capacity:
            raise ActorOverloaded(
                f"actor {self._actor_id} has {len(self._letters)} turns waiting; retry later"
            )
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._letters.append(Letter(command, reply))
        self._arrived.set()
        return reply

    def take(self) -> Letter | None:
        if not self._letters:
            self._arrived.clear()
            return None
        return self._letters.popleft()

    async def wait(self, timeout_s: float) -> bool:
        """Wait until a letter (or a wake) arrived (True) or the timeout passed (False)."""
        if self._letters:
            return True
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout_s)
        except TimeoutError:
            return bool(self._letters)
        return True

    def wake(self) -> None:
        """Wake a waiting worker without a letter (used to stop it)."""
        self._arrived.set()

    def fail_all(self, error: EdgewiseError) -> None:
        while self._letters:
            letter = self._letters.popleft()
            if not letter.reply.done():
                letter.reply.set_exception(error)
