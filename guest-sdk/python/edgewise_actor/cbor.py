"""CBOR (RFC 8949) for exactly the value subset of guest ABI v1 (guest-sdk/abi/v1/spec.md).

Values map to Python as: null None, false/true bool, integers int (within i64), floats float,
text str, byte strings bytes, arrays list, maps dict with str keys. `encode` writes definite
lengths, the shortest head for every length and integer, and floats as doubles; tuples encode as
arrays and `Encoded` splices bytes that already hold one CBOR value. `decode` reads exactly one
value that fills its input. Anything outside the subset raises `CborError`: trailing bytes,
truncation, indefinite lengths, tags, simple values other than false/true/null, integers outside
i64, non-text or duplicate map keys, invalid UTF-8, nesting deeper than MAX_DEPTH.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
MAX_DEPTH = 200

_FLOAT_FORMATS = {25: ">e", 26: ">f", 27: ">d"}
_SIMPLE_VALUES = {20: False, 21: True, 22: None}


class CborError(ValueError):
    """Bytes that are not one CBOR value of the ABI subset, or a value that has no CBOR form."""


@dataclass(frozen=True)
class Encoded:
    """Bytes that already hold one CBOR value; `encode` copies them as they are."""

    data: bytes


def encode(value: object) -> bytes:
    """The CBOR bytes of `value`; raises CborError for values outside the subset."""
    out = bytearray()
    _encode_into(out, value)
    return bytes(out)


def _head(out: bytearray, major: int, arg: int) -> None:
    if arg < 24:
        out.append(major << 5 | arg)
    elif arg < 0x100:
        out += bytes((major << 5 | 24, arg))
    elif arg < 0x10000:
        out.append(major << 5 | 25)
        out += arg.to_bytes(2, "big")
    elif arg < 0x1_0000_0000:
        out.append(major << 5 | 26)
        out += arg.to_bytes(4, "big")
    else:
        out.append(major << 5 | 27)
        out += arg.to_bytes(8, "big")


def _encode_into(out: bytearray, value: object) -> None:
    match value:
        case None:
            out.append(0xF6)
        case bool():
            out.append(0xF5 if value else 0xF4)
        case int():
            _encode_int(out, value)
        case float():
            out.append(0xFB)
            out += struct.pack(">d", value)
        case str():
            _encode_text(out, value)
        case bytes() | bytearray():
            _head(out, 2, len(value))
            out += value
        case list() | tuple():
            _head(out, 4, len(value))
            for item in value:
                _encode_into(out, item)
        case dict():
            _head(out, 5, len(value))
            for key, item in value.items():
                if not isinstance(key, str):
                    raise CborError(f"map keys must be str, not {type(key).__name__}")
                _encode_text(out, key)
                _encode_into(out, item)
        case Encoded():
            out += value.data
        case _:
            raise CborError(f"{type(value).__name__} has no CBOR form in the Edgewise ABI")


def _encode_int(out: bytearray, value: int) -> None:
    if not I64_MIN <= value <= I64_MAX:
        raise CborError(f"integer {value} is outside i64")
    if value >= 0:
        _head(out, 0, value)
    else:
        _head(out, 1, -1 - value)


def _encode_text(out: bytearray, text: str) -> None:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CborError(f"text is not valid Unicode: {error.reason}") from None
    _head(out, 3, len(data))
    out += data


def decode(data: bytes) -> Any:
    """The one value that `data` holds; raises CborError for anything outside the subset."""
    reader = _Reader(bytes(data))
    value = reader.value(0)
    if reader.pos != len(reader.data):
        raise CborError(f"{len(reader.data) - reader.pos} trailing bytes after the value")
    return value


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise CborError("truncated input")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def head(self) -> tuple[int, int, int]:
        """(major type, additional info, argument) of the next item."""
        if self.pos >= len(self.data):
            raise CborError("truncated input")
        initial = self.data[self.pos]
        self.pos += 1
        major, info = initial >> 5, initial & 31
        if info < 24:
            return major, info, info
        if info == 31:
            raise CborError("indefinite lengths are not allowed")
        if info > 27:
            raise CborError(f"reserved additional information {info}")
        return major, info, int.from_bytes(self.take(1 << (info - 24)), "big")

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CborError(f"nesting deeper than {MAX_DEPTH}")
        major, info, arg = self.head()
        if major in (0, 1):
            if arg > I64_MAX:
                raise CborError("integer outside i64")
            return arg if major == 0 else -1 - arg
        if major == 2:
            return self.take(arg)
        if major == 3:
            return self.text(arg)
        if major == 4:
            return self.array(arg, depth)
        if major == 5:
            return self.map(arg, depth)
        if major == 6:
            raise CborError("tags are not allowed")
        return self.simple(info, arg)

    def text(self, size: int) -> str:
        try:
            return self.take(size).decode("utf-8")
        except UnicodeDecodeError as error:
            raise CborError(f"text is not valid UTF-8: {error.reason}") from None

    def array(self, count: int, depth: int) -> list[Any]:
        if count > self.remaining():  # every item takes at least one byte
            raise CborError("truncated input")
        return [self.value(depth + 1) for _ in range(count)]

    def map(self, count: int, depth: int) -> dict[str, Any]:
        if 2 * count > self.remaining():
            raise CborError("truncated input")
        result: dict[str, Any] = {}
        for _ in range(count):
            key = self.value(depth + 1)
            if not isinstance(key, str):
                raise CborError(f"map keys must be text, not {type(key).__name__}")
            if key in result:
                raise CborError(f"duplicate map key {key!r}")
            result[key] = self.value(depth + 1)
        return result

    def simple(self, info: int, arg: int) -> Any:
        if info in _FLOAT_FORMATS:
            size = 1 << (info - 24)
            value: float = struct.unpack(_FLOAT_FORMATS[info], arg.to_bytes(size, "big"))[0]
            return value
        if info in _SIMPLE_VALUES:
            return _SIMPLE_VALUES[info]
        raise CborError(f"simple value {arg} is not allowed")
