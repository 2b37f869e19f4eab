"""Write the golden vectors of guest ABI v1: NAME.cbor + NAME.json for envelopes and results.

Run from anywhere: `python make_vectors.py` rewrites the files beside it. NAME starts with
`envelope_` (host -> guest, spec section 2) or `result_` (guest -> host, spec section 4). Floats
are double precision except in the CANONICAL vectors, which use the shortest exact form. The JSON
holds the same value, with byte strings as {"$bytes": "<hex>"}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cbor2

HERE = Path(__file__).resolve().parent
ACTOR = {"id": "0123456789abcdef0123456789abcdef", "name": "counter", "key": ["eu", "room-1"]}
NOW = 1_790_000_000_000

ENVELOPES: dict[str, dict[str, Any]] = {
    "create_null": {"kind": "create", "actor": ACTOR, "now_ms": NOW, "input": None},
    "create_input": {
        "kind": "create",
        "actor": {**ACTOR, "key": []},
        "now_ms": NOW,
        "input": {"start": 10, "tags": ["a", "b"], "nested": {"deep": [1, [2, [3]]]}},
    },
    "wake": {"kind": "wake", "actor": ACTOR, "now_ms": NOW + 1},
    "action_http": {
        "kind": "action",
        "actor": ACTOR,
        "now_ms": NOW + 2,
        "action": "increment",
        "args": [5],
        "conn": None,
    },
    "action_values": {
        "kind": "action",
        "actor": ACTOR,
        "now_ms": NOW + 3,
        "action": "store",
        "args": [
            0, 23, 24, 255, 256, 65535, 65536, 2**32, 2**63 - 1,
            -1, -24, -25, -256, -(2**63),
            "", "héllo ✓", b"", b"\x00\xff\x10", True, False, None, 1.5, -0.25, 1e300,
            [], {}, [1, "two", [3.0]], {"k": {"v": [None]}},
        ],
        "conn": 7,
    },
    "action_short_floats": {
        "kind": "action", "actor": ACTOR, "now_ms": NOW + 3, "action": "floats",
        "args": [1.5, -0.25, 65504.0, 5.960464477539063e-08, 0.1, 3.4028234663852886e38, 1e300],
        "conn": None,
    },
    "action_no_args": {
        "kind": "action", "actor": ACTOR, "now_ms": NOW + 4, "action": "get", "args": [],
        "conn": 2**40,
    },
    "connect_params": {
        "kind": "connect", "actor": ACTOR, "now_ms": NOW + 5, "conn": 3,
        "params": {"user": "ada"},
    },
    "connect_null": {
        "kind": "connect", "actor": ACTOR, "now_ms": NOW + 6, "conn": 4, "params": None,
    },
    "disconnect": {"kind": "disconnect", "actor": ACTOR, "now_ms": NOW + 7, "conn": 3},
    "alarm_payload": {
        "kind": "alarm", "actor": ACTOR, "now_ms": NOW + 8, "alarm": "increment_later/1",
        "payload": 4,
    },
    "alarm_null": {
        "kind": "alarm", "actor": ACTOR, "now_ms": NOW + 9, "alarm": "tick", "payload": None,
    },
}  # fmt: skip

# encoded with the shortest float forms (half and single precision), to test float decoding
CANONICAL = {"envelope_action_short_floats"}

RESULTS: dict[str, dict[str, Any]] = {
    "empty": {},
    "ok_int": {"ok": 42},
    "ok_value": {"ok": {"list": [1, "x", b"\x01"], "none": None}},
    "error": {"error": {"code": "bad_args", "message": "increment(n: int)"}},
    "refuse": {"refuse": 'connect with params {"user": "<name>"}'},
    "events": {
        "ok": 1,
        "broadcast": [["newCount", [1]], ["message", [{"user": "ada", "text": "hi"}]]],
        "send": [[3, "welcome", []]],
    },
    "alarms": {
        "ok": None,
        "set_alarms": [
            {"name": "increment_later/1", "at_ms": NOW + 1000, "payload": 4},
            {"name": "tick", "at_ms": NOW},
        ],
        "cancel_alarms": ["old"],
    },
    "sleep_destroy": {"sleep": True, "destroy": True},
}


def to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(value: Any) -> Any:
    """The inverse of `to_json`, for tests that read the vectors."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def write_all(folder: Path) -> list[str]:
    names = []
    for prefix, table in (("envelope", ENVELOPES), ("result", RESULTS)):
        for name, value in table.items():
            stem = f"{prefix}_{name}"
            (folder / f"{stem}.cbor").write_bytes(cbor2.dumps(value, canonical=stem in CANONICAL))
            text = json.dumps(to_json(value), indent=2, ensure_ascii=False) + "\n"
            (folder / f"{stem}.json").write_text(text, encoding="utf-8")
            names.append(stem)
    return names


if __name__ == "__main__":
    print(f"wrote {len(write_all(HERE))} vector pairs to {HERE}")
