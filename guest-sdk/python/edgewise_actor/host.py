"""The host imports an actor's turn uses (spec section 3), as a small interface.

`Host` is what the turn logic calls: `world.WitHost` implements it over the component's imports,
`memory_host.MemoryHost` in plain Python for tests. Key-value calls that the host refuses raise
`KvError`, whose code is the spec's negative error code and whose message says what to fix.
"""

from __future__ import annotations

from typing import Protocol

MAX_KEY_BYTES = 512
MAX_LIST_LIMIT = 1000
MAX_RANDOM_BYTES = 65536

VALUE_TOO_LARGE = -2
KEY_TOO_LARGE = -3
INVALID_ARGUMENT = -5

LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = range(4)


class KvError(ValueError):
    """A key-value call the host (or the SDK, checking first) refused."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def kv_error(code: int, key: bytes, value: bytes | None = None) -> KvError:
    """The KvError for a host error `code` returned for `key` (and `value`, for a put)."""
    if code == VALUE_TOO_LARGE:
        size = len(value) if value is not None else 0
        return KvError(code, f"value of {size} bytes is past the node's max_value_bytes")
    if code == KEY_TOO_LARGE:
        return KvError(code, f"key of {len(key)} bytes is past the limit of {MAX_KEY_BYTES}")
    if code == INVALID_ARGUMENT:
        return KvError(code, "invalid argument (an empty key, or a list limit outside 1..1000)")
    return KvError(code, f"the host refused the key-value call with error {code}")


class Host(Protocol):
    """The host imports of spec section 3 that a turn needs, with bytes passed as bytes."""

    def kv_get(self, key: bytes) -> bytes | None:
        """The value under `key`, None when absent; this turn's own writes included."""
        ...

    def kv_put(self, key: bytes, value: bytes) -> None: ...

    def kv_delete(self, key: bytes) -> None: ...

    def kv_list(self, prefix: bytes, start_after: bytes, limit: int) -> bytes:
        """A CBOR array of at most `limit` [key, value] pairs after `start_after`, in key order."""
        ...

    def log(self, level: int, text: str) -> None: ...

    def random(self, size: int) -> bytes: ...
