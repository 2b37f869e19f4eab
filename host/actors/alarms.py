"""The alarm scheduler: fires durable alarms as alarm turns, at least once.

Alarms live in the store's time-ordered index, so they survive restarts. One task sleeps until
the earliest alarm is due (or until a turn sets an earlier one and wakes it), then hands each
due alarm to the node, which activates the actor if it sleeps and runs an ``alarm`` turn; that
turn removes the alarm in its own write set. A failed turn leaves the alarm in place and it is
retried with exponential backoff; after ``alarm_max_attempts`` failures it is dropped and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from edgewise.host.actors.activation import now_ms
from edgewise.host.actors.storage_gate import commit, storage_errors
from edgewise.host.config import ActorsConfig
from edgewise.host.errors import ActorNotFound, EdgewiseError, UserError
from edgewise.storage import AlarmEntry, Store

log = logging.getLogger("edgewise.actors")

BATCH = 100
IN_FLIGHT_POLL_S = 1.0


def retry_delay_s(attempt: int, base_s: float, max_s: float) -> float:
    """Delay before retry number ``attempt`` (1 for the first retry): base, 2*base, ... max."""
    return float(min(max_s, base_s * 2 ** max(0, attempt - 1)))


class AlarmScheduler:
    def __init__(
        self,
        store: Store,
        config: ActorsConfig,
        fire: Callable[[AlarmEntry], Awaitable[None]],
    ) -> None:
        self._store = store
        self._config = config
        self._fire = fire
        self._changed = asyncio.Event()
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def alarms_changed(self) -> None:
        """A turn set alarms: look again for the earliest one."""
        self._changed.set()

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._in_flight.values()) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._in_flight.clear()

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            try:
                delay_s = self._fire_due()
            except EdgewiseError as error:
                log.error("alarm scheduler: %s", error.message)
                delay_s = IN_FLIGHT_POLL_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay_s)

    def _fire_due(self) -> float | None:
        """Start a delivery for each due alarm; return how long to sleep (None: until woken)."""
        now = now_ms()
        with storage_errors():
            due = self._store.due_alarms(now, BATCH)
            for entry in due:
                slot = (entry.actor_id, entry.name)
                if slot not in self._in_flight:
                    task = asyncio.get_running_loop().create_task(self._deliver(entry))
                    self._in_flight[slot] = task
            upcoming = self._store.next_alarm_ms()
        if upcoming is None:
            return None
        if upcoming <= now:
            return 0.0 if len(due) == BATCH else IN_FLIGHT_POLL_S
        return (upcoming - now) / 1000

    async def _deliver(self, entry: AlarmEntry) -> None:
        try:
            await self._fire(entry)
        except UserError as error:
            log.warning("alarm %r of actor %s: %s", entry.name, entry.actor_id, error.message)
        except ActorNotFound:
            await self._drop(entry)
        except EdgewiseError as error:
            await self._retry(entry, error)
        finally:
            self._in_flight.pop((entry.actor_id, entry.name), None)
            self._changed.set()

    async def _retry(self, entry: AlarmEntry, error: EdgewiseError) -> None:
        attempt = entry.attempt + 1
        if attempt >= self._config.alarm_max_attempts:
            log.error(
                "alarm %r of actor %s dropped after %d attempts: %s",
                entry.name,
                entry.actor_id,
                attempt,
                error.message,
            )
            await self._drop(entry)
            return
        delay = retry_delay_s(
            attempt, self._config.alarm_retry_base_s, self._config.alarm_retry_max_s
        )
        log.warning(
            "alarm %r of actor %s failed (%s); retry %d in %.1f s",
            entry.name,
            entry.actor_id,
            error.code,
            attempt,
            delay,
        )
        retry = dataclasses.replace(entry, at_ms=now_ms() + int(delay * 1000), attempt=attempt)
        await self._rewrite(entry, retry)

    async def _drop(self, entry: AlarmEntry) -> None:
        await self._rewrite(entry, None)

    async def _rewrite(self, entry: AlarmEntry, replacement: AlarmEntry | None) -> None:
        """Replace or remove the alarm, unless a turn changed it since it was fired."""
        try:
            with storage_errors():
                if not self._store.alarm_is_set(entry):
                    return
                ws = self._store.write_set(entry.actor_id)
                if replacement is None:
                    ws.cancel_alarm(entry.name)
                else:
                    ws.set_alarm(replacement)
            await commit(self._store, ws)
        except EdgewiseError as error:
            log.error("alarm %r of actor %s: %s", entry.name, entry.actor_id, error.message)
