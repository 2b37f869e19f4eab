"""Byte lists in wasmtime's component value layout, built and read without wasm."""

from __future__ import annotations

import pytest
from edgewise.host.sandbox.component_call import ComponentValue, lift_bytes, lower_bytes, release


@pytest.mark.parametrize("data", [b"", b"\x00", bytes(range(256)), b"\xff" * 70_000])
def test_bytes_survive_a_round_trip_through_a_list_value(data: bytes) -> None:
    value = ComponentValue()
    lower_bytes(value, data)
    try:
        assert value.of.list.size == len(data)
        assert lift_bytes(value) == data
    finally:
        release(value)


def test_a_value_of_another_kind_is_not_read_as_bytes() -> None:
    value = ComponentValue()  # a zeroed value: kind 0, a bool
    with pytest.raises(TypeError, match="list<u8>"):
        lift_bytes(value)
