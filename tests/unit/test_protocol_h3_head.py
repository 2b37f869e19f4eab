"""The head of an HTTP/3 request: pseudo-headers, query, body presence, WebSocket, bad input."""

from __future__ import annotations

import pytest
from edgewise.host.errors import RequestInvalid, RequestTooLarge
from edgewise.host.protocol.h3_head import parse_request_head

LIMIT = 16384


def head(method: bytes, path: bytes, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b":method", method), (b":scheme", b"https"), (b":authority", b"localhost"),
            (b":path", path), *extra]  # fmt: skip


def test_a_post_with_a_query_and_a_length() -> None:
    parsed = parse_request_head(
        head(b"POST", b"/v1/gateway/counter/actions/increment?key=a&key=b%20c",
             (b"Content-Type", b"application/json"), (b"content-length", b"12")),
        LIMIT,
    )  # fmt: skip
    assert parsed.method == "POST" and parsed.path == "/v1/gateway/counter/actions/increment"
    assert parsed.query == {"key": ["a", "b c"]}
    assert parsed.headers == {"content-type": "application/json", "content-length": "12"}
    assert parsed.has_body and not parsed.websocket


@pytest.mark.parametrize(
    ("method", "extra", "has_body"),
    [
        (b"GET", (), False),
        (b"POST", ((b"content-length", b"0"),), False),
        (b"POST", ((b"content-type", b"application/json"),), True),
        (b"POST", (), False),
        (b"DELETE", ((b"content-type", b"application/json"),), False),
    ],
)
def test_whether_a_body_follows(method: bytes, extra: tuple[tuple[bytes, bytes], ...],
                                has_body: bool) -> None:  # fmt: skip
    assert parse_request_head(head(method, b"/v1/actors", *extra), LIMIT).has_body is has_body


def test_extended_connect_is_a_websocket_routed_as_get() -> None:
    parsed = parse_request_head(
        head(b"CONNECT", b"/v1/actors/x/connect?encoding=cbor", (b":protocol", b"websocket")),
        LIMIT,
    )
    assert (parsed.method, parsed.websocket, parsed.has_body) == ("GET", True, False)
    plain = parse_request_head(head(b"CONNECT", b"/v1/health"), LIMIT)
    assert (plain.method, plain.websocket) == ("CONNECT", False)


@pytest.mark.parametrize(
    "raw",
    [
        [(b":path", b"/v1/health")],
        [(b":method", b"GET")],
        head(b"GET", b"v1/health"),
        head(b"GET", b""),
        head(b"GET", b"/v1/health", (b"caf\xc3\xa9", b"x")),
    ],
)
def test_bad_heads_are_refused(raw: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(RequestInvalid):
        parse_request_head(raw, LIMIT)


def test_oversized_heads_get_431() -> None:
    with pytest.raises(RequestTooLarge) as info:
        parse_request_head(head(b"GET", b"/v1/health", (b"x-big", b"y" * LIMIT)), LIMIT)
    assert (info.value.status, info.value.code) == (431, "request.too_large")
