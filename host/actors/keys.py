"""How actors are addressed (sans-IO): actor keys, actor ids and list pages.

An actor key is a list of 1..``max_actor_key_parts`` non-empty strings whose UTF-8 bytes total
at most ``max_actor_key_bytes``. Anything else is refused with ``actor.key_invalid``. An actor id
is 32 lowercase hex characters; a page of listed actors holds 1..``MAX_LIST_LIMIT`` of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from edgewise.host.config import LimitsConfig
from edgewise.host.errors import ActorKeyInvalid

ACTOR_ID = re.compile(r"[0-9a-f]{32}")
MAX_LIST_LIMIT = 1000


def validate_key(key: object, limits: LimitsConfig) -> tuple[str, ...]:
    """Return the key as a tuple of strings, or raise ``ActorKeyInvalid`` naming the problem."""
    if isinstance(key, str | bytes) or not isinstance(key, Sequence):
        raise ActorKeyInvalid("actor key must be a list of strings")
    parts = tuple(key)
    if not 1 <= len(parts) <= limits.max_actor_key_parts:
        raise ActorKeyInvalid(
            f"actor key must have 1 to {limits.max_actor_key_parts} parts, got {len(parts)}"
        )
    total = 0
    for index, part in enumerate(parts):
        if not isinstance(part, str):
            raise ActorKeyInvalid(f"actor key part {index} must be a string")
        if not part:
            raise ActorKeyInvalid(f"actor key part {index} must not be empty")
        try:
            total += len(part.encode("utf-8"))
        except UnicodeEncodeError:
            raise ActorKeyInvalid(f"actor key part {index} is not valid UTF-8") from None
    if total > limits.max_actor_key_bytes:
        raise ActorKeyInvalid(f"actor key is {total} bytes, more than {limits.max_actor_key_bytes}")
    return parts
