"""Validation of an export file's entries before import (pure: no RocksDB)."""

from __future__ import annotations

import pytest
from edgewise.storage import keys
from edgewise.storage.errors import ImportInvalid
from edgewise.storage.migration import check_entries
from edgewise.storage.records import ActorMeta, AlarmEntry, encode_alarm, encode_meta

A = "1" * 32
B = "2" * 32
META = ActorMeta(A, "room", ("eu", "1"), 5, "d" * 64)


def actor_entries(actor_id: str = A, meta: ActorMeta = META) -> list[tuple[bytes, bytes]]:
    alarm = AlarmEntry(actor_id, "tick", 42, b"\xf6")
    return sorted(
        [
            (keys.meta_key(actor_id), encode_meta(meta)),
            (keys.index_key(meta.name, meta.key), actor_id.encode()),
            (keys.name_index_key(meta.name, actor_id), b""),
            (keys.kv_key(actor_id, b"k"), b"v"),
            (keys.alarm_at_key(42, actor_id, "tick"), encode_alarm(alarm)),
            (keys.alarm_of_key(actor_id, "tick"), keys.encode_at_ms(42)),
        ]
    )


def test_a_complete_actor_passes() -> None:
    assert check_entries(actor_entries()) == META


@pytest.mark.parametrize(
    ("label", "mutate"),
    [
        ("foreign kv", lambda e: [*e, (keys.kv_key(B, b"k"), b"v")]),
        ("no meta", lambda e: [x for x in e if keys.kind_of(x[0]) is not keys.KeyKind.META]),
        ("deployment", lambda e: [*e, (keys.deployment_key("room"), b"d" * 64)]),
        (
            "index of other",
            lambda e: (
                [x for x in e if x[0][0] != 3] + [(keys.index_key("room", ("eu", "1")), B.encode())]
            ),
        ),
        ("alarm half", lambda e: [x for x in e if x[0][0] != keys.KeyKind.ALARM_OF]),
        ("unknown kind", lambda e: [*e, (b"\x7fjunk", b"")]),
        ("bad meta", lambda e: [(k, b"{" if k[0] == 2 else v) for k, v in e]),
        ("two actors", lambda e: e + actor_entries(B, ActorMeta(B, "room", ("x",), 1, "d" * 64))),
    ],
)
def test_inconsistent_exports_are_refused(label: str, mutate: object) -> None:
    entries = mutate(actor_entries())  # type: ignore[operator]
    with pytest.raises(ImportInvalid):
        check_entries(entries)
