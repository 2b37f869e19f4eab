"""The boundary between the actors layer and the store: every storage error becomes
``StorageFailed`` (``storage.failed``, 503) here, so that none crosses the node's API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from edgewise.host.errors import StorageFailed
from edgewise.storage import Store, WriteSet
from edgewise.storage.errors import StorageError


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except StorageError as error:
        raise StorageFailed(f"storage failed: {error.message}") from error


async def commit(store: Store, ws: WriteSet) -> None:
    """Commit one write set through the group commit; returns once it is durable."""
    with storage_errors():
        await store.commit(ws)
