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
        self._waiter: asyncio.Future[bool] | None = None  # the worker, while it waits
        self._woken = False  # a wake that came while the worker was busy

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
        if self._waiter is not None:
            _settle(self._waiter, True)
        return reply

    def take(self) -> Letter | None:
        return self._letters.popleft() if self._letters else None

    async def wait(self, timeout_s: float) -> bool:
        """Wait until a letter (or a wake) arrived (True) or the timeout passed (False).

        One future and one timer per wait: this runs before every turn, and ``asyncio.wait_for``
        would wrap the wait in a task of its own.
        """
        if self._letters or self._woken:
            self._woken = False
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout_s, _settle, waiter, False)
        try:
            return await waiter or bool(self._letters)
        finally:
            timer.cancel()
            self._waiter = None

    def wake(self) -> None:
        """Wake the worker without a letter (to stop it), now or as soon as it next waits."""
        if self._waiter is not None:
            _settle(self._waiter, True)
        else:
            self._woken = True

    def fail_all(self, error: EdgewiseError) -> None:
        while self._letters:
            letter = self._letters.popleft()
            if not letter.reply.done():
                letter.reply.set_exception(error)


def _settle(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)
