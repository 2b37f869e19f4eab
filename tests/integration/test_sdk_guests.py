"""The C and Zig guest SDKs, run for real: the conformance echo actors against the golden envelope
vectors, and the counter and chat_room examples through whole turns.

`GuestHarness` is a tiny host written on wasmtime's public API: it defines the `ew` imports of ABI
v1 over a dict, writes one CBOR envelope per turn through `ew_alloc`, calls `ew_turn` and decodes
the result. It exists for these tests only, because they send raw (and broken) envelope bytes and
compare raw result bytes, which the sandbox's typed `Instance.run_turn` cannot; the node's sandbox
is another, faster path. It runs on the sandbox's process-wide Engine (one Engine per process), so
each Store gets a generous epoch deadline before every call into the guest.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import cbor2
import pytest
import wasmtime
from edgewise.host.build import BuildResult, build_actor
from edgewise.host.sandbox.engine import epoch_ticks, shared_engine
from vectors import VECTORS, load_vector

REPO = Path(__file__).resolve().parents[2]
ACTOR = {"id": "a" * 32, "name": "test", "key": ["k"]}
NOW = 1_800_000_000_000
I32, I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
DEADLINE_TICKS = epoch_ticks(60_000)


class GuestHarness:
    """One instance of a guest module with an in-memory KV store and a log."""

    def __init__(self, wasm: bytes, kv: dict[bytes, bytes] | None = None) -> None:
        self.kv: dict[bytes, bytes] = {} if kv is None else kv
        self.logs: list[tuple[int, str]] = []
        self.list_calls = 0
        engine = shared_engine()
        self.store = wasmtime.Store(engine)
        self.store.set_epoch_deadline(DEADLINE_TICKS)
        linker = wasmtime.Linker(engine)
        imports: dict[str, tuple[list[wasmtime.ValType], list[wasmtime.ValType], Any]] = {
            "kv_get": ([I32] * 4, [I32], self._kv_get),
            "kv_put": ([I32] * 4, [I32], self._kv_put),
            "kv_delete": ([I32] * 2, [I32], self._kv_delete),
            "kv_list": ([I32] * 7, [I32], self._kv_list),
            "log": ([I32] * 3, [], self._log),
            "now_ms": ([], [I64], lambda: NOW),
            "random": ([I32] * 2, [], lambda dst, n: self._write(dst, os.urandom(n))),
        }
        for name, (params, results, fn) in imports.items():
            linker.define_func("ew", name, wasmtime.FuncType(params, results), fn)
        instance = linker.instantiate(self.store, wasmtime.Module(engine, wasm))
        exports = instance.exports(self.store)
        self.memory: Any = exports["memory"]
        self.alloc: Any = exports["ew_alloc"]
        self.turn_fn: Any = exports["ew_turn"]

    def _read(self, ptr: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + n))

    def _write(self, ptr: int, data: bytes) -> None:
        self.memory.write(self.store, data, ptr)

    def _kv_get(self, kptr: int, klen: int, dst: int, cap: int) -> int:
        value = self.kv.get(self._read(kptr, klen))
        if value is None:
            return -1
        if len(value) <= cap:
            self._write(dst, value)
        return len(value)

    def _kv_put(self, kptr: int, klen: int, vptr: int, vlen: int) -> int:
        if not 1 <= klen <= 512:
            return -3
        self.kv[self._read(kptr, klen)] = self._read(vptr, vlen)
        return 0

    def _kv_delete(self, kptr: int, klen: int) -> int:
        self.kv.pop(self._read(kptr, klen), None)
        return 0

    def _kv_list(self, pp: int, pl: int, ap: int, al: int, limit: int, dst: int, cap: int) -> int:
        self.list_calls += 1
        if not 1 <= limit <= 1000:
            return -5
        prefix, after = self._read(pp, pl), self._read(ap, al)
        keys = sorted(k for k in self.kv if k.startswith(prefix) and k > after)[:limit]
        page = cbor2.dumps([[k, self.kv[k]] for k in keys])
        if len(page) <= cap:
            self._write(dst, page)
        return len(page)

    def _log(self, level: int, ptr: int, n: int) -> None:
        self.logs.append((level, self._read(ptr, n).decode()))

    def turn_raw(self, envelope: bytes) -> bytes:
        self.store.set_epoch_deadline(DEADLINE_TICKS)
        ptr = self.alloc(self.store, len(envelope))
        assert ptr != 0
        self._write(ptr, envelope)
        packed = self.turn_fn(self.store, ptr, len(envelope)) & 0xFFFF_FFFF_FFFF_FFFF
        return self._read(packed >> 32, packed & 0xFFFF_FFFF)

    def turn(self, kind: str, **fields: Any) -> dict[str, Any]:
        result = cbor2.loads(self.turn_raw(cbor2.dumps({"kind": kind, "actor": ACTOR,
                                                         "now_ms": NOW, **fields})))  # fmt: skip
        assert isinstance(result, dict)
        return result

    def action(self, name: str, *args: Any, conn: int | None = None) -> dict[str, Any]:
        return self.turn("action", action=name, args=list(args), conn=conn)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuildResult]:
    out = tmp_path_factory.mktemp("guests")
    dirs = {
        "counter": REPO / "examples" / "counter",
        "chat_room": REPO / "examples" / "chat_room",
        "echo_c": REPO / "guest-sdk" / "c" / "conformance" / "echo",
        "echo_zig": REPO / "guest-sdk" / "zig" / "conformance" / "echo",
    }
    return {name: build_actor(d, out / name) for name, d in dirs.items()}


ENVELOPE_STEMS = sorted(p.stem for p in VECTORS.glob("envelope_*.cbor"))
ALL_STEMS = sorted(p.stem for p in VECTORS.glob("*.cbor"))


def test_vectors_exist_in_pairs() -> None:
    assert len(ENVELOPE_STEMS) >= 10
    assert len(ALL_STEMS) > len(ENVELOPE_STEMS)
    for stem in ALL_STEMS:
        assert (VECTORS / f"{stem}.json").is_file(), stem


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_vector_cbor_matches_its_json(stem: str) -> None:
    raw, expected = load_vector(stem)
    assert cbor2.loads(raw) == expected


@pytest.mark.parametrize("guest", ["echo_c", "echo_zig"])
@pytest.mark.parametrize("stem", ENVELOPE_STEMS)
def test_sdk_decodes_envelope_vector(built: dict[str, BuildResult], guest: str, stem: str) -> None:
    harness = GuestHarness(built[guest].wasm_path.read_bytes())
    raw, expected = load_vector(stem)
    assert cbor2.loads(harness.turn_raw(raw)) == {"ok": expected}


@pytest.mark.parametrize("guest", ["echo_c", "echo_zig"])
@pytest.mark.parametrize(
    "envelope",
    [b"", b"\xff", cbor2.dumps([1, 2]), cbor2.dumps({"kind": "explode", "actor": ACTOR}),
     cbor2.dumps({"kind": "action", "actor": ACTOR, "args": 5}), cbor2.dumps({"kind": 1}),
     cbor2.dumps({"kind": "wake", "actor": ACTOR, "now_ms": NOW}) + b"\x00",
     cbor2.dumps({"kind": "action", "actor": ACTOR, "args": [], "conn": -1})],
)  # fmt: skip
def test_sdk_answers_bad_envelope(
    built: dict[str, BuildResult], guest: str, envelope: bytes
) -> None:
    harness = GuestHarness(built[guest].wasm_path.read_bytes())
    assert cbor2.loads(harness.turn_raw(envelope))["error"]["code"] == "bad_envelope"


@pytest.mark.parametrize("guest", ["echo_c", "echo_zig"])
def test_sdk_copies_deep_and_large_values(built: dict[str, BuildResult], guest: str) -> None:
    harness = GuestHarness(built[guest].wasm_path.read_bytes())
    nested: Any = "leaf"
    for _ in range(30):
        nested = [nested]
    big = "x" * 200_000
    for args in ([nested], [big, b"\x00" * 70_000]):
        assert harness.action("echo", *args)["ok"]["args"] == args
    too_deep: Any = 1
    for _ in range(40):
        too_deep = [too_deep]
    assert harness.action("echo", too_deep)["error"]["code"] == "copy_failed"


# --- counter (C) -------------------------------------------------------------------------------


@pytest.fixture
def counter(built: dict[str, BuildResult]) -> GuestHarness:
    return GuestHarness(built["counter"].wasm_path.read_bytes())


def test_counter_create_then_increment_and_get(counter: GuestHarness) -> None:
    assert counter.turn("create", input=None) == {}
    assert counter.action("get") == {"ok": 0}
    assert counter.action("increment", 5) == {"ok": 5, "broadcast": [["newCount", [5]]]}
    assert counter.action("increment", -7)["ok"] == -2
    assert counter.action("get") == {"ok": -2}
    assert cbor2.loads(counter.kv[b"count"]) == -2


def test_counter_result_bytes_are_plain_cbor(counter: GuestHarness) -> None:
    envelope = cbor2.dumps({"kind": "action", "actor": ACTOR, "now_ms": NOW,
                            "action": "increment", "args": [3], "conn": None})  # fmt: skip
    assert counter.turn_raw(envelope) == cbor2.dumps({"ok": 3, "broadcast": [["newCount", [3]]]})


def test_counter_state_survives_a_new_instance(built: dict[str, BuildResult]) -> None:
    first = GuestHarness(built["counter"].wasm_path.read_bytes())
    first.action("increment", 40)
    second = GuestHarness(built["counter"].wasm_path.read_bytes(), kv=dict(first.kv))
    assert second.action("increment", 2)["ok"] == 42


def test_counter_increment_later_sets_an_alarm_that_increments(counter: GuestHarness) -> None:
    result = counter.action("increment_later", 1500, 4)
    (alarm,) = result["set_alarms"]
    assert alarm == {"name": result["ok"], "at_ms": NOW + 1500, "payload": 4}
    assert alarm["name"].startswith("increment_later/")
    assert counter.action("increment_later", 10, 1)["ok"] != alarm["name"]
    fired = counter.turn("alarm", alarm=alarm["name"], payload=4)
    assert fired == {"broadcast": [["newCount", [4]]]}
    assert counter.action("get")["ok"] == 4


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [("explode", [], "unknown_action"), ("increment", [], "bad_args"),
     ("increment", ["1"], "bad_args"), ("increment", [1, 2], "bad_args"),
     ("increment", [1.5], "bad_args"), ("get", [1], "bad_args"),
     ("increment_later", [10], "bad_args"), ("increment_later", [-1, 1], "bad_args"),
     ("increment_later", [None, 1], "bad_args")],
)  # fmt: skip
def test_counter_refuses_bad_calls(
    counter: GuestHarness, name: str, args: list[Any], code: str
) -> None:
    result = counter.action(name, *args)
    assert result["error"]["code"] == code
    assert "ok" not in result
    assert counter.kv == {}


# --- chat_room (Zig) ---------------------------------------------------------------------------


@pytest.fixture
def chat(built: dict[str, BuildResult]) -> GuestHarness:
    return GuestHarness(built["chat_room"].wasm_path.read_bytes())


@pytest.mark.parametrize("params", [None, {}, {"user": ""}, {"user": 5}, ["ada"], {"name": "ada"}])
def test_chat_refuses_connect_without_user(chat: GuestHarness, params: Any) -> None:
    result = chat.turn("connect", conn=1, params=params)
    assert "user" in result["refuse"]
    assert chat.kv == {}


def test_chat_send_broadcasts_and_stores(chat: GuestHarness) -> None:
    assert chat.turn("connect", conn=1, params={"user": "ada", "extra": [1]}) == {}
    result = chat.action("send", "hello", conn=1)
    assert result == {"ok": 1, "broadcast": [["message", [{"user": "ada", "text": "hello"}]]]}
    assert cbor2.loads(chat.kv[b"msg/000000000001"]) == {"user": "ada", "text": "hello"}


def test_chat_send_needs_a_connection_with_a_user(chat: GuestHarness) -> None:
    assert chat.action("send", "hi")["error"]["code"] == "not_connected"
    assert chat.action("send", "hi", conn=9)["error"]["code"] == "not_connected"
    chat.turn("connect", conn=2, params={"user": "bob"})
    assert chat.turn("disconnect", conn=2) == {}
    assert chat.action("send", "hi", conn=2)["error"]["code"] == "not_connected"
    assert chat.kv == {}


def test_chat_history_pages_through_kv(chat: GuestHarness) -> None:
    chat.turn("connect", conn=1, params={"user": "ada"})
    chat.turn("connect", conn=2, params={"user": "bob"})
    for i in range(250):
        chat.action("send", f"m{i}", conn=1 + i % 2)
    calls = chat.list_calls
    history = chat.action("history", 230)["ok"]
    assert [m["text"] for m in history] == [f"m{i}" for i in range(20, 250)]
    assert history[0]["user"] == "ada"
    assert history[1]["user"] == "bob"
    assert chat.list_calls - calls == 3  # pages of 100
    assert chat.action("history", 0)["ok"] == []
    assert len(chat.action("history", 1000)["ok"]) == 250


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [("shout", ["x"], "unknown_action"), ("send", [], "bad_args"), ("send", [5], "bad_args"),
     ("history", [], "bad_args"), ("history", ["3"], "bad_args"), ("history", [-1], "bad_args"),
     ("history", [1001], "bad_args")],
)  # fmt: skip
def test_chat_refuses_bad_calls(chat: GuestHarness, name: str, args: list[Any], code: str) -> None:
    chat.turn("connect", conn=1, params={"user": "ada"})
    assert chat.action(name, *args, conn=1)["error"]["code"] == code


def test_sdk_arena_is_reused_across_turns(chat: GuestHarness) -> None:
    chat.turn("connect", conn=1, params={"user": "ada"})
    chat.action("send", "y" * 100_000, conn=1)
    pages = chat.memory.size(chat.store)
    for _ in range(20):
        chat.action("history", 1, conn=1)
    assert chat.memory.size(chat.store) == pages


@pytest.mark.parametrize("guest", ["echo_c", "echo_zig"])
def test_sdk_survives_mutated_envelopes(built: dict[str, BuildResult], guest: str) -> None:
    harness = GuestHarness(built[guest].wasm_path.read_bytes())
    rng = random.Random(1234)
    seeds = [load_vector(stem)[0] for stem in ENVELOPE_STEMS]
    outcomes = set()
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 2)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.25:
            del data[rng.randrange(len(data)) :]
        result = cbor2.loads(harness.turn_raw(bytes(data)))
        assert isinstance(result, dict)
        assert set(result) <= {"ok", "error"}
        outcomes.add(next(iter(result)))
    assert outcomes == {"ok", "error"}
