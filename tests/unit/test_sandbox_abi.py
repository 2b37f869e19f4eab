"""Guest ABI v1 codecs: the envelope the host writes and the result it accepts (no wasm)."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from edgewise.host.errors import GuestBadResult, RequestInvalid
from edgewise.host.sandbox.abi import ActorIdentity, AlarmRequest, TurnEnvelope, TurnResult

ACTOR = ActorIdentity("0" * 32, "counter", ("room", "1"))
ACTOR_MAP = {"id": "0" * 32, "name": "counter", "key": ["room", "1"]}


def decode(value: Any) -> TurnResult:
    return TurnResult.decode(cbor2.dumps(value))


@pytest.mark.parametrize(
    ("envelope", "extra"),
    [
        (TurnEnvelope("create", ACTOR, 5, input={"n": 1}), {"input": {"n": 1}}),
        (TurnEnvelope("create", ACTOR, 5), {"input": None}),
        (TurnEnvelope("wake", ACTOR, 5), {}),
        (
            TurnEnvelope("action", ACTOR, 5, action="add", args=(1, "x"), conn=7),
            {"action": "add", "args": [1, "x"], "conn": 7},
        ),
        (
            TurnEnvelope("action", ACTOR, 5, action="get"),
            {"action": "get", "args": [], "conn": None},
        ),
        (
            TurnEnvelope("connect", ACTOR, 5, conn=3, params={"token": "t"}),
            {"conn": 3, "params": {"token": "t"}},
        ),
        (TurnEnvelope("disconnect", ACTOR, 5, conn=3), {"conn": 3}),
        (
            TurnEnvelope("alarm", ACTOR, 5, alarm="tick", payload=b"\x01"),
            {"alarm": "tick", "payload": b"\x01"},
        ),
    ],
)
def test_envelope_has_exactly_the_keys_of_its_kind(
    envelope: TurnEnvelope, extra: dict[str, Any]
) -> None:
    expected = {"kind": envelope.kind, "actor": ACTOR_MAP, "now_ms": 5, **extra}
    assert cbor2.loads(envelope.encode()) == expected


def test_envelope_refuses_what_cbor_cannot_carry() -> None:
    with pytest.raises(RequestInvalid, match="CBOR"):
        TurnEnvelope("action", ACTOR, 5, action="x", args=(object(),)).encode()


@pytest.mark.parametrize(
    "envelope",
    [
        TurnEnvelope("action", ACTOR, 5, action="x", args=(2**64 - 1,)),
        TurnEnvelope("action", ACTOR, 5, action="x", args=([{"n": -(2**63) - 1}],)),
        TurnEnvelope("create", ACTOR, 5, input={"big": 2**70}),
        TurnEnvelope("connect", ACTOR, 5, conn=1, params=[2**63]),
    ],
)
def test_envelope_refuses_integers_outside_i64(envelope: TurnEnvelope) -> None:
    with pytest.raises(RequestInvalid, match="outside the signed 64-bit range"):
        envelope.encode()


def test_envelope_carries_the_ends_of_i64() -> None:
    envelope = TurnEnvelope("action", ACTOR, 5, action="x", args=(2**63 - 1, -(2**63)))
    assert cbor2.loads(envelope.encode())["args"] == [2**63 - 1, -(2**63)]


@pytest.mark.parametrize(
    "envelope",
    [
        TurnEnvelope("action", ACTOR, 5),
        TurnEnvelope("alarm", ACTOR, 5),
        TurnEnvelope("dance", ACTOR, 5),  # type: ignore[arg-type]
        TurnEnvelope("wake", ACTOR, -1),
    ],
)
def test_envelope_refuses_incomplete_fields(envelope: TurnEnvelope) -> None:
    with pytest.raises(ValueError):
        envelope.encode()


def test_empty_result_is_all_defaults() -> None:
    assert decode({}) == TurnResult()


def test_full_result_decodes_every_key() -> None:
    result = decode(
        {
            "ok": {"count": 3, "tags": ["a", b"\x00"], "f": 1.5},
            "refuse": "nope",
            "broadcast": [["changed", [3]]],
            "send": [[9, "hello", ["you"]]],
            "set_alarms": [{"name": "t", "at_ms": 10, "payload": [1]}, {"name": "u", "at_ms": 0}],
            "cancel_alarms": ["old"],
            "sleep": True,
            "destroy": False,
        }
    )
    assert result == TurnResult(
        ok={"count": 3, "tags": ["a", b"\x00"], "f": 1.5},
        refuse="nope",
        broadcast=(("changed", (3,)),),
        send=((9, "hello", ("you",)),),
        set_alarms=(AlarmRequest("t", 10, [1]), AlarmRequest("u", 0, None)),
        cancel_alarms=("old",),
        sleep=True,
    )


def test_user_error_decodes() -> None:
    assert decode({"error": {"code": "bad.input_2", "message": "no"}}).error == (
        "bad.input_2",
        "no",
    )


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\xff\xfe", "not valid CBOR"),
        (b"", "not valid CBOR"),
        (b"\xa1\x62ok", "not valid CBOR"),  # truncated
        (cbor2.dumps({}) + b"\x00", "bytes after"),
        (cbor2.dumps([1]), "must be a CBOR map"),
        (cbor2.dumps({1: 2}), "keys must be text"),
        (cbor2.dumps({"ok": 1, "error": {"code": "x", "message": "y"}}), "both 'ok' and 'error'"),
        (cbor2.dumps({"okay": 1}), "unknown key 'okay'"),
        (cbor2.dumps({"error": {"code": "Bad", "message": "m"}}), "must match"),
        (cbor2.dumps({"error": {"code": "a" * 65, "message": "m"}}), "must match"),
        (cbor2.dumps({"error": {"code": "1a", "message": "m"}}), "must match"),
        (cbor2.dumps({"error": {"code": "a", "message": 3}}), "error.message must be text"),
        (cbor2.dumps({"error": {"code": "a"}}), "error.message must be text"),
        (cbor2.dumps({"error": {"code": "a", "message": "m", "x": 1}}), "unknown key 'x'"),
        (cbor2.dumps({"error": "boom"}), "error must be a map"),
        (cbor2.dumps({"refuse": 5}), "refuse must be text"),
        (cbor2.dumps({"broadcast": {}}), "broadcast must be an array"),
        (cbor2.dumps({"broadcast": [["e"]]}), r"broadcast\[0\] must be \[name, args\]"),
        (cbor2.dumps({"broadcast": [[1, []]]}), r"broadcast\[0\]\[0\] must be text"),
        (cbor2.dumps({"broadcast": [["e", "x"]]}), r"broadcast\[0\]\[1\] must be an array"),
        (cbor2.dumps({"send": [[-1, "e", []]]}), r"send\[0\]\[0\] must be an unsigned"),
        (cbor2.dumps({"send": [[True, "e", []]]}), r"send\[0\]\[0\] must be an unsigned"),
        (cbor2.dumps({"send": [[1, "e"]]}), r"must be \[conn, name, args\]"),
        (cbor2.dumps({"set_alarms": [{"name": "t"}]}), "at_ms must be an unsigned"),
        (cbor2.dumps({"set_alarms": [{"name": "t", "at_ms": 1.5}]}), "at_ms must be an unsigned"),
        (cbor2.dumps({"set_alarms": [{"at_ms": 1}]}), "name must be text"),
        (cbor2.dumps({"set_alarms": [{"name": "t", "at_ms": 1, "when": 2}]}), "unknown key"),
        (cbor2.dumps({"set_alarms": ["t"]}), r"set_alarms\[0\] must be a map"),
        (cbor2.dumps({"cancel_alarms": [1]}), r"cancel_alarms\[0\] must be text"),
        (cbor2.dumps({"sleep": 1}), "sleep must be a bool"),
        (cbor2.dumps({"destroy": "yes"}), "destroy must be a bool"),
        (cbor2.dumps({"ok": 2**64}), "outside i64"),
        (cbor2.dumps({"ok": {1: "x"}}), "non-text key"),
        (cbor2.dumps({"ok": cbor2.CBORTag(4242, 1)}), "unsupported CBOR value"),
        (bytes.fromhex("a1626f6bf7"), "unsupported CBOR value"),  # undefined
        (bytes.fromhex("a1626f6bc11a514b67b0"), "unsupported CBOR value"),  # tag 1, a datetime
        (b"\xa1\x62ok" + b"\x81" * 1000 + b"\x00", "not valid CBOR"),  # nesting too deep
    ],
)
def test_bad_results_are_refused_with_a_clear_message(raw: bytes, words: str) -> None:
    with pytest.raises(GuestBadResult, match=words) as caught:
        TurnResult.decode(raw)
    assert caught.value.code == "guest.bad_result"
