"""The mailbox's wait: a letter wakes the waiting worker; a wake while it is busy is kept."""

from __future__ import annotations

import asyncio

from edgewise.host.actors.mailbox import DestroyActor, Mailbox


async def test_a_wake_while_the_worker_is_busy_is_kept_for_its_next_wait() -> None:
    mailbox = Mailbox("a" * 32, capacity=4)
    mailbox.wake()
    assert await mailbox.wait(30.0) is True
    assert mailbox.take() is None
    assert await mailbox.wait(0.01) is False  # the wake was used up: this one times out


async def test_a_letter_wakes_a_waiting_worker() -> None:
    mailbox = Mailbox("a" * 32, capacity=4)
    waiting = asyncio.ensure_future(mailbox.wait(30.0))
    await asyncio.sleep(0)
    reply = mailbox.post(DestroyActor())
    assert await asyncio.wait_for(waiting, 1) is True
    letter = mailbox.take()
    assert letter is not None and letter.reply is reply
