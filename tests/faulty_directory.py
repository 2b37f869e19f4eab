"""A directory that fails on purpose, around a real one: the faults a NATS outage causes at the
moment of a migration's flip. Every call is passed to the real directory except:

- ``lose_flip_answer``: the next ``move_owner`` is applied, then answered with an outage (the
  client cannot tell whether it happened);
- ``fail_flip``: the next ``move_owner`` is not applied and answered with an outage, and the
  owner record cannot be read for ``outage_s`` seconds after it;
- ``after_flip``: awaited right after a ``move_owner`` applied (to kill a node at that moment).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from edgewise.regions.directory import Directory, Owner, Placement
from edgewise.regions.errors import DirectoryUnavailable


class FaultyDirectory:
    def __init__(self, real: Directory) -> None:
        self.real = real
        self.lose_flip_answer = False
        self.fail_flip = False
        self.outage_s = 0.0
        self.after_flip: Callable[[], Awaitable[None]] | None = None
        self._down_until = 0.0
        self.flips_seen = 0

    def _check(self) -> None:
        if time.monotonic() < self._down_until:
            raise DirectoryUnavailable("directory: injected outage")

    async def claim_key(self, name: str, key: tuple[str, ...], actor_id: str) -> str:
        return await self.real.claim_key(name, key, actor_id)

    async def lookup_key(self, name: str, key: tuple[str, ...]) -> str | None:
        return await self.real.lookup_key(name, key)

    async def release_key(self, name: str, key: tuple[str, ...], actor_id: str) -> None:
        await self.real.release_key(name, key, actor_id)

    async def create_owner(self, actor_id: str, placement: Placement) -> Owner:
        return await self.real.create_owner(actor_id, placement)

    async def owner(self, actor_id: str) -> Owner | None:
        self._check()
        return await self.real.owner(actor_id)

    async def move_owner(self, actor_id: str, expected: Owner, placement: Placement) -> Owner:
        self.flips_seen += 1
        if self.lose_flip_answer:
            self.lose_flip_answer = False
            await self.real.move_owner(actor_id, expected, placement)
            raise DirectoryUnavailable("directory: the answer was lost")
        if self.fail_flip:
            self.fail_flip = False
            self._down_until = time.monotonic() + self.outage_s
            raise DirectoryUnavailable("directory: injected outage")
        owner = await self.real.move_owner(actor_id, expected, placement)
        if self.after_flip is not None:
            await self.after_flip()
        return owner

    async def delete_owner(self, actor_id: str, expected: Owner) -> None:
        await self.real.delete_owner(actor_id, expected)

    async def close(self) -> None:
        await self.real.close()
