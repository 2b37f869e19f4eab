"""Errors of the actor store, named by cause, each with a stable ``code``.

Every exception of rocksdict is mapped to one of these where it happens (``storage/engine.py``);
none crosses this package's API. The actors layer maps any ``StorageError`` to its own
``StorageFailed`` (``storage.failed``) unless a caller matches a more precise code.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error this package raises on purpose."""

    code = "storage.failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class StorageFailed(StorageError):
    """RocksDB refused a read or write (I/O error, full disk, background error)."""

    code = "storage.failed"


class StorageClosed(StorageError):
    code = "storage.closed"


class StorageOpenFailed(StorageError):
    """The database could not be opened (locked by another process, corrupt, no permission)."""

    code = "storage.open_failed"


class NotADatabase(StorageError):
    """The path holds something that is not an Edgewise RocksDB."""

    code = "storage.not_a_database"


class KeyInvalid(StorageError):
    """A key, actor id, name or alarm name is empty, too long or malformed."""

    code = "storage.key_invalid"


class ValueInvalid(StorageError):
    """A value is too large or a stored record cannot be decoded."""

    code = "storage.value_invalid"


class ActorExists(StorageError):
    """An import or a new index entry would overwrite an actor that already exists."""

    code = "storage.actor_exists"


class ActorMissing(StorageError):
    code = "storage.actor_not_found"


class ImportInvalid(StorageError):
    """An export file is corrupt, fails its checksum or holds keys of more than one actor."""

    code = "storage.import_invalid"


class CommitStateInvalid(StorageError):
    """The group commit was driven out of order (a bug in the driver, never bad input)."""

    code = "storage.internal"
