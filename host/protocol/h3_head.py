"""The head of an HTTP/3 request, decoded and checked (sans-IO).

HTTP/3 sends a request's method, target and protocol as pseudo-header fields (``:method``,
``:path``, ``:protocol``) beside the ordinary ones. ``parse_request_head`` turns the field list
of a HEADERS frame into a ``RequestHead``: lower-case field names, the path split from its
query, whether a body follows, and whether it is a WebSocket (RFC 9220: ``CONNECT`` with
``:protocol = websocket``, routed as a ``GET`` of its path, like an HTTP/1.1 upgrade). Fields
past ``max_bytes`` in all are refused with ``request.too_large`` (431); a head without
``:method`` or an absolute ``:path``, or with non-ASCII names, with ``request.invalid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from edgewise.host.errors import RequestInvalid, RequestTooLarge

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class RequestHead:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    has_body: bool
    websocket: bool


def parse_request_head(raw: list[tuple[bytes, bytes]], max_bytes: int) -> RequestHead:
    if sum(len(name) + len(value) for name, value in raw) > max_bytes:
        raise RequestTooLarge(f"request headers exceed {max_bytes} bytes", status=431)
    pseudo: dict[str, str] = {}
    headers: dict[str, str] = {}
    try:
        for name, value in raw:
            key, text = name.decode("ascii").lower(), value.decode("latin-1")
            (pseudo if key.startswith(":") else headers)[key] = text
    except UnicodeDecodeError:
        raise RequestInvalid("header names must be ASCII") from None
    method, target = pseudo.get(":method"), pseudo.get(":path")
    if not method or not target or not target.startswith("/"):
        raise RequestInvalid("a request needs :method and a :path starting with /")
    websocket = method == "CONNECT" and pseudo.get(":protocol") == "websocket"
    split = urlsplit(target)
    length = headers.get("content-length")
    if websocket:
        has_body = False
    elif length is not None:
        has_body = length != "0"
    else:  # no length given: a body may follow the head of a method that carries one
        has_body = method in BODY_METHODS and "content-type" in headers
    return RequestHead(
        method="GET" if websocket else method,
        path=unquote(split.path),
        query=parse_qs(split.query, keep_blank_values=True),
        headers=headers,
        has_body=has_body,
        websocket=websocket,
    )
