"""Byte layouts of storage keys: round trips, ordering, no collisions, bad input."""

from __future__ import annotations

import pytest
from edgewise.storage import keys
from edgewise.storage.errors import KeyInvalid
from edgewise.storage.records import (
    ActorMeta,
    AlarmEntry,
    decode_alarm,
    decode_meta,
    encode_alarm,
    encode_meta,
)

A = "0" * 31 + "a"
B = "0" * 31 + "b"


def test_kv_round_trip_and_prefix() -> None:
    raw = keys.kv_key(A, b"user\x00key\xff")
    assert keys.decode_kv_key(raw) == (A, b"user\x00key\xff")
    assert raw.startswith(keys.kv_prefix(A))
    assert keys.kind_of(raw) is keys.KeyKind.KV
    assert not keys.kv_key(B, b"x").startswith(keys.kv_prefix(A))


def test_kv_keys_of_one_actor_sort_by_user_key() -> None:
    user_keys = [b"a", b"a\x00", b"ab", b"b", b"\xff"]
    encoded = [keys.kv_key(A, k) for k in user_keys]
    assert sorted(encoded) == encoded
    end = keys.prefix_end(keys.kv_prefix(A))
    assert all(keys.kv_prefix(A) <= k < end for k in encoded)
    assert not keys.kv_prefix(A) <= keys.meta_key(A) < end


def test_meta_and_deployment_round_trip() -> None:
    assert keys.decode_meta_key(keys.meta_key(A)) == A
    assert keys.decode_deployment_key(keys.deployment_key("chat-room")) == "chat-room"
    assert keys.deployment_key("a") < keys.prefix_end(keys.deployment_prefix())


@pytest.mark.parametrize(
    ("name", "key"),
    [("counter", ()), ("counter", ("a", "b")), ("c", ("", "é", "a\x00b")), ("x" * 256, ("y",))],
)
def test_index_round_trip(name: str, key: tuple[str, ...]) -> None:
    assert keys.decode_index_key(keys.index_key(name, key)) == (name, key)


def test_index_keys_never_collide() -> None:
    cases = [
        ("n", ("a", "b")),
        ("n", ("a\x00b",)),
        ("n", ("ab",)),
        ("n", ("a", "", "b")),
        ("n", ()),
        ("n", ("",)),
        ("na", ()),
        ("n", ("a",)),
        ("nb", ("a",)),
    ]
    encoded = {keys.index_key(name, key) for name, key in cases}
    assert len(encoded) == len(cases)


def test_name_index_round_trip_and_order() -> None:
    assert keys.decode_name_index_key(keys.name_index_key("room", A)) == ("room", A)
    assert keys.name_index_key("room", A) < keys.name_index_key("room", B)
    prefix = keys.name_index_prefix("room")
    assert not keys.name_index_key("rooms", A).startswith(prefix)


def test_alarm_keys_round_trip_and_sort_by_time() -> None:
    raw = keys.alarm_at_key(1_700_000_000_000, A, "tick")
    assert keys.decode_alarm_at_key(raw) == (1_700_000_000_000, A, "tick")
    times = [0, 1, 255, 256, 2**40, keys.MAX_AT_MS]
    encoded = [keys.alarm_at_key(t, B if t % 2 else A, "z") for t in times]
    assert sorted(encoded) == encoded
    assert keys.decode_alarm_of_key(keys.alarm_of_key(A, "tick")) == (A, "tick")
    assert keys.decode_at_ms(keys.encode_at_ms(2**40)) == 2**40


def test_prefix_end() -> None:
    assert keys.prefix_end(b"ab") == b"ac"
    assert keys.prefix_end(b"a\xff\xff") == b"b"
    with pytest.raises(KeyInvalid):
        keys.prefix_end(b"\xff")


@pytest.mark.parametrize(
    "bad",
    [
        lambda: keys.kv_key(A, b""),
        lambda: keys.kv_key(A, b"x" * (keys.MAX_USER_KEY_BYTES + 1)),
        lambda: keys.kv_key(A, "text"),  # type: ignore[arg-type]
        lambda: keys.kv_key("A" * 32, b"k"),
        lambda: keys.kv_key("abc", b"k"),
        lambda: keys.meta_key(""),
        lambda: keys.alarm_at_key(-1, A, "t"),
        lambda: keys.alarm_at_key(2**63, A, "t"),
        lambda: keys.alarm_at_key(True, A, "t"),
        lambda: keys.alarm_of_key(A, ""),
        lambda: keys.alarm_of_key(A, "\udcff"),
        lambda: keys.index_key("", ("a",)),
        lambda: keys.index_key("n", ["a"]),  # type: ignore[arg-type]
        lambda: keys.index_key("n", ("x" * (keys.MAX_KEY_PART_BYTES + 1),)),
        lambda: keys.deployment_key("m" * (keys.MAX_NAME_BYTES + 1)),
    ],
)
def test_bad_keys_are_refused(bad: object) -> None:
    with pytest.raises(KeyInvalid):
        bad()  # type: ignore[operator]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x99abc",
        bytes([keys.KeyKind.META]) + b"short",
        b"\x03\x00\x05ab",
        b"\x06" + b"0" * 40,
    ],
)
def test_malformed_raw_keys_are_refused(raw: bytes) -> None:
    with pytest.raises(KeyInvalid):
        kind = keys.kind_of(raw)
        decoders = {
            keys.KeyKind.META: keys.decode_meta_key,
            keys.KeyKind.KEY_INDEX: keys.decode_index_key,
            keys.KeyKind.ALARM_OF: keys.decode_alarm_of_key,
        }
        decoders[kind](raw)


def test_records_round_trip() -> None:
    meta = ActorMeta(A, "counter", ("eu", "7"), 123, "f" * 64)
    assert decode_meta(A, encode_meta(meta)) == meta
    alarm = AlarmEntry(A, "tick", 99, b"\xa1\x01\x02", attempt=3)
    assert decode_alarm(A, "tick", 99, encode_alarm(alarm)) == alarm
