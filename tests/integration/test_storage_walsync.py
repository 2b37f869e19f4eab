"""The WAL sync thread: answers each request once the sync ran, passes failures on, stops."""

from __future__ import annotations

import pytest
from edgewise.storage.errors import StorageClosed, StorageFailed
from edgewise.storage.walsync import WalSyncer


async def test_each_request_resolves_after_a_sync() -> None:
    syncs: list[int] = []
    syncer = WalSyncer(lambda: syncs.append(1))
    try:
        await syncer.sync()
        await syncer.sync()
        assert len(syncs) == 2
    finally:
        syncer.close()


async def test_a_failed_sync_fails_its_request_and_the_next_one_works() -> None:
    outcomes = iter([StorageFailed("WAL sync failed: disk"), None])

    def sync() -> None:
        error = next(outcomes)
        if error is not None:
            raise error

    syncer = WalSyncer(sync)
    try:
        with pytest.raises(StorageFailed, match="disk"):
            await syncer.sync()
        await syncer.sync()
    finally:
        syncer.close()


async def test_after_close_requests_fail_and_close_is_idempotent() -> None:
    syncer = WalSyncer(lambda: None)
    syncer.close()
    syncer.close()
    with pytest.raises(StorageClosed):
        await syncer.sync()
