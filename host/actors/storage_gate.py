"""The boundary between the actors layer and the store: every storage error becomes
``StorageFailed`` (``storage.failed``, 503) here, so that none crosses the node's API.
"""

from __future__ import annotations

from types import TracebackType

from edgewise.host.errors import StorageFailed
from edgewise.storage import Store, WriteSet
from edgewise.storage.errors import StorageError


class _StorageErrors:
    """``with storage_errors():`` maps a ``StorageError`` raised inside to ``StorageFailed``.

    A plain class rather than ``contextlib.contextmanager``: it guards every turn, and a
    generator-based context manager costs a few microseconds more each time.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, StorageError):
            raise StorageFailed(f"storage failed: {exc.message}") from exc


_GUARD = _StorageErrors()


def storage_errors() -> _StorageErrors:
    return _GUARD


async def commit(store: Store, ws: WriteSet) -> None:
    """Commit one write set through the group commit; returns once it is durable."""
    with storage_errors():
        await store.commit(ws)
