"""JSON and CBOR codecs for request bodies, responses and WebSocket frames.

The encoding of a request is chosen by its ``Content-Type`` (``application/json`` or
``application/cbor``; parameters such as ``charset`` are ignored). A request without a body may
omit it (any other type is then ignored); its response encoding follows ``Accept`` (CBOR when it
names ``application/cbor``, else JSON). A response is always written in the request's encoding.

JSON cannot carry byte strings: the JSON codec writes ``bytes`` values as standard base64 text
(so they come back as ``str``). Values JSON cannot represent at all (NaN, infinities, CBOR tags)
are refused with ``response.unencodable``. Decode failures of either codec are mapped to
``request.malformed``; bodies past the size limit to ``request.too_large``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal

import cbor2
from edgewise.host.errors import (
    RequestMalformed,
    RequestTooLarge,
    ResponseUnencodable,
    UnsupportedMediaType,
)

Encoding = Literal["json", "cbor"]

JSON_TYPE = "application/json"
CBOR_TYPE = "application/cbor"

_CONTENT_TYPES: dict[str, Encoding] = {JSON_TYPE: "json", CBOR_TYPE: "cbor"}


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not representable in JSON")


_JSON_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default
)


@dataclass(frozen=True)
class Codec:
    """One wire encoding: its name, its media type and its two directions."""

    encoding: Encoding

    @property
    def content_type(self) -> str:
        return JSON_TYPE if self.encoding == "json" else CBOR_TYPE

    @property
    def text_frames(self) -> bool:
        """JSON travels in WebSocket text frames, CBOR in binary ones."""
        return self.encoding == "json"

    def encode(self, value: Any) -> bytes:
        try:
            if self.encoding == "json":
                return _JSON_ENCODER.encode(value).encode("utf-8")
            return cbor2.dumps(value)
        except (TypeError, ValueError, OverflowError, RecursionError, cbor2.CBOREncodeError) as exc:
            raise ResponseUnencodable(
                f"value cannot be encoded as {self.encoding}: {exc}"
            ) from None

    def decode(self, data: bytes, max_bytes: int) -> Any:
        if len(data) > max_bytes:
            raise RequestTooLarge(f"message of {len(data)} bytes exceeds the limit of {max_bytes}")
        try:
            if self.encoding == "json":
                return json.loads(data)
            return cbor2.loads(data)
        except (ValueError, TypeError, RecursionError, OverflowError, cbor2.CBORDecodeError) as exc:
            # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
            raise RequestMalformed(f"body is not valid {self.encoding}: {exc}") from None


JSON = Codec("json")
CBOR = Codec("cbor")


def codec_for(encoding: str) -> Codec:
    """The codec named by an ``encoding`` query parameter (``json`` or ``cbor``)."""
    if encoding == "json":
        return JSON
    if encoding == "cbor":
        return CBOR
    raise UnsupportedMediaType(f"encoding must be 'json' or 'cbor', got {encoding!r}")


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def request_codec(content_type: str | None, accept: str | None, has_body: bool) -> Codec:
    """The codec of a request, which is also the codec of its response."""
    encoding = _CONTENT_TYPES.get(_media_type(content_type)) if content_type else None
    if encoding is not None:
        return JSON if encoding == "json" else CBOR
    if has_body:
        raise UnsupportedMediaType(
            f"a body needs a Content-Type of {JSON_TYPE} or {CBOR_TYPE}, got {content_type!r}"
        )
    if accept and CBOR_TYPE in accept.lower():
        return CBOR
    return JSON


def decode_body(codec: Codec, body: bytes, max_bytes: int) -> Any:
    """The decoded body, or ``None`` for an empty one."""
    if not body:
        return None
    return codec.decode(body, max_bytes)
