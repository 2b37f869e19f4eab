"""Codecs: choice by Content-Type, round trips, bytes in JSON, malformed and oversized input."""

from __future__ import annotations

import math

import cbor2
import pytest
from edgewise.host.errors import (
    RequestMalformed,
    RequestTooLarge,
    ResponseUnencodable,
    UnsupportedMediaType,
)
from edgewise.host.protocol.codec import CBOR, JSON, Codec, codec_for, decode_body, request_codec

VALUE = {"name": "counter", "key": ["a", "ü"], "n": [1, -2, 3.5, None, True]}


@pytest.mark.parametrize("codec", [JSON, CBOR], ids=["json", "cbor"])
def test_round_trip(codec: Codec) -> None:
    assert codec.decode(codec.encode(VALUE), 1 << 20) == VALUE


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", JSON),
        ("application/cbor", CBOR),
        ("Application/JSON; charset=utf-8", JSON),
    ],
)
def test_codec_follows_content_type(content_type: str, expected: Codec) -> None:
    assert request_codec(content_type, "application/cbor", has_body=True) is expected


def test_bodyless_request_follows_accept_then_defaults_to_json() -> None:
    assert request_codec(None, "application/cbor", has_body=False) is CBOR
    assert request_codec(None, None, has_body=False) is JSON
    assert request_codec("", "*/*", has_body=False) is JSON


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/wasm"])
def test_other_content_types_are_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        request_codec(content_type, None, has_body=True)
    assert info.value.status == 415
    assert info.value.code == "request.unsupported_media_type"


def test_body_without_content_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType):
        request_codec(None, None, has_body=True)
    assert request_codec("application/octet-stream", None, has_body=False) is JSON


def test_encoding_parameter() -> None:
    assert codec_for("json") is JSON
    assert codec_for("cbor") is CBOR
    with pytest.raises(UnsupportedMediaType):
        codec_for("msgpack")


@pytest.mark.parametrize(
    ("codec", "data"),
    [(JSON, b"{not json"), (JSON, b"\xff\xfe"), (CBOR, b"\xbf"), (CBOR, b"\x1c")],
)
def test_malformed_bodies(codec: Codec, data: bytes) -> None:
    with pytest.raises(RequestMalformed) as info:
        codec.decode(data, 1024)
    assert info.value.code == "request.malformed"


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    with pytest.raises(RequestMalformed):
        JSON.decode(b"[" * 100_000 + b"]" * 100_000, 1 << 20)


def test_too_large() -> None:
    with pytest.raises(RequestTooLarge) as info:
        JSON.decode(b"[" + b"1," * 600 + b"1]", 1000)
    assert info.value.status == 413


def test_empty_body_decodes_to_none() -> None:
    assert decode_body(JSON, b"", 10) is None
    assert decode_body(CBOR, cbor2.dumps([1]), 10) == [1]


def test_json_writes_bytes_as_base64_and_cbor_keeps_them() -> None:
    assert JSON.decode(JSON.encode({"b": b"\x00\xff"}), 100) == {"b": "AP8="}
    assert CBOR.decode(CBOR.encode({"b": b"\x00\xff"}), 100) == {"b": b"\x00\xff"}


def test_json_refuses_values_it_cannot_represent() -> None:
    with pytest.raises(ResponseUnencodable):
        JSON.encode({"x": math.nan})
    with pytest.raises(ResponseUnencodable):
        JSON.encode({"x": object()})
    assert math.isnan(CBOR.decode(CBOR.encode(math.nan), 100))
