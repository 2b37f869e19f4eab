"""Sandbox turns on real wasmtime with inline WAT guests: normal turns and the host imports.

This module also holds the guest builder and the dict-backed ``TurnHost`` that the other
``test_sandbox_*`` files import. Every guest answers ``{"ok": 42}`` unless the envelope contains
the text ``BOOM`` (the action name), in which case it runs its ``hostile`` code: so one module
shows both the fault and that a fresh instance of it works afterwards.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cbor2
import pytest
import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.sandbox import Instance, Module, Sandbox
from edgewise.host.sandbox.abi import ActorIdentity, TurnEnvelope, TurnResult

OK_42 = cbor2.dumps({"ok": 42})
ACTOR = ActorIdentity("f" * 32, "guest", ("k",))
CALM = TurnEnvelope("action", ACTOR, 1_700_000_000_000, action="calm", args=(1,))
BOOM = TurnEnvelope("action", ACTOR, 1_700_000_000_000, action="BOOM")

IMPORTS = """
 (import "ew" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))
 (import "ew" "kv_put" (func $kv_put (param i32 i32 i32 i32) (result i32)))
 (import "ew" "kv_delete" (func $kv_delete (param i32 i32) (result i32)))
 (import "ew" "kv_list" (func $kv_list (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
 (import "ew" "log" (func $log (param i32 i32 i32)))
 (import "ew" "now_ms" (func $now_ms (result i64)))
 (import "ew" "random" (func $random (param i32 i32)))
"""

HELPERS = """
 (func $tiny (param $x i32) (result i32)  ;; CBOR head of a small int in -24..23
   (select (local.get $x) (i32.sub (i32.const 0x1f) (local.get $x))
           (i32.ge_s (local.get $x) (i32.const 0))))
 (func $has_boom (param $p i32) (param $n i32) (result i32)
   (local $i i32)
   (block $no (loop $scan
     (br_if $no (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
     (if (i32.eq (i32.load (i32.add (local.get $p) (local.get $i))) (i32.const 0x4d4f4f42))
       (then (return (i32.const 1))))
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br $scan)))
   (i32.const 0))
 (func $rec (param $x i32) (result i32)
   (i32.add (call $rec (i32.add (local.get $x) (i32.const 1))) (i32.const 1)))
"""


def packed(ptr: int, length: int) -> str:
    """A WAT i64 constant for the result (ptr << 32) | len."""
    return f"(i64.const {(ptr << 32) | length})"


def data_text(raw: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in raw)


def guest_wat(
    hostile: str = "(unreachable)",
    normal: str = f"(return {packed(16, len(OK_42))})",
    data: dict[int, bytes] | None = None,
    alloc: str = "(i32.const 1024)",
    memory: str = "1",
    exports: str = "",
) -> str:
    segments = {16: OK_42, **(data or {})}
    datas = "\n".join(
        f' (data (i32.const {at}) "{data_text(raw)}")' for at, raw in segments.items()
    )
    return f"""(module {IMPORTS}
 (memory (export "memory") {memory})
{datas}
 (func (export "ew_abi_v1"))
 (func (export "ew_alloc") (param $size i32) (result i32) {alloc})
 (func (export "ew_turn") (param $p i32) (param $n i32) (result i64)
   (local $a i32) (local $b i32)
   (if (call $has_boom (local.get $p) (local.get $n)) (then {hostile}))
   {normal}
   (unreachable))
 {HELPERS} {exports})"""


def guest(**parts: Any) -> bytes:
    return bytes(wasmtime.wat2wasm(guest_wat(**parts)))


class DictHost:
    """A TurnHost over a dict: the in-memory double of a storage WriteSet."""

    def __init__(self, items: dict[bytes, bytes] | None = None) -> None:
        self.items = dict(items or {})

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.items[key] = value

    def delete(self, key: bytes) -> None:
        self.items.pop(key, None)

    def list(self, prefix: bytes, start_after: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        keys = sorted(k for k in self.items if k.startswith(prefix) and k > start_after)
        return [(k, self.items[k]) for k in keys[:limit]]


class Logs(list[tuple[int, str]]):
    def __call__(self, level: int, text: str) -> None:
        self.append((level, text))


def run(module: Module, envelope: TurnEnvelope = CALM, host: DictHost | None = None) -> TurnResult:
    with module.instantiate() as instance:
        return instance.run_turn(envelope, host or DictHost(), Logs())


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    with Sandbox(LimitsConfig(), tmp_path / "cache") as box:
        yield box


def small_sandbox(tmp_path: Path, **limits: int) -> Sandbox:
    return Sandbox(LimitsConfig(**limits), tmp_path / "cache")


# --- normal turns ----------------------------------------------------------------------------


def test_a_fixed_result_comes_back_decoded(sandbox: Sandbox) -> None:
    module = sandbox.load(guest())
    assert len(module.digest) == 64
    assert run(module) == TurnResult(ok=42)


def test_one_instance_runs_many_turns(sandbox: Sandbox) -> None:
    with sandbox.load(guest()).instantiate() as instance:
        results = [instance.run_turn(CALM, DictHost(), Logs()) for _ in range(50)]
    assert results == [TurnResult(ok=42)] * 50
    assert instance.closed


ECHO = """
  (local.set $a (i32.sub (local.get $p) (i32.const 4)))
  (i32.store (local.get $a) (i32.const 0x6b6f62a1))  ;; a1 62 6f 6b: {"ok": ...
  (return (i64.or (i64.shl (i64.extend_i32_u (local.get $a)) (i64.const 32))
                  (i64.extend_i32_u (i32.add (local.get $n) (i32.const 4)))))"""


def test_the_envelope_reaches_the_guest_byte_for_byte(sandbox: Sandbox) -> None:
    envelope = TurnEnvelope("connect", ACTOR, 7, conn=3, params={"token": [1, b"\x00"]})
    assert run(sandbox.load(guest(normal=ECHO)), envelope).ok == cbor2.loads(envelope.encode())


KV = """
  (local.set $a (call $kv_put (i32.const 100) (i32.const 1) (i32.const 200) (i32.const 5)))
  (local.set $b (call $kv_get (i32.const 100) (i32.const 1) (i32.const 2048) (i32.const 64)))
  (i32.store8 (i32.const 9005) (call $tiny (local.get $a)))
  (i32.store8 (i32.const 9006) (call $tiny (local.get $b)))
  (drop (call $kv_delete (i32.const 101) (i32.const 1)))
  (return (i64.or (i64.const 38654705664000) (i64.const 7)))"""  # ptr 9000, len 7
KV_DATA = {100: b"kx", 200: b"hello", 9000: bytes.fromhex("a1626f6b820000")}


def test_kv_put_and_get_go_through_the_turn_host(sandbox: Sandbox) -> None:
    host = DictHost({b"x": b"gone"})
    result = run(sandbox.load(guest(normal=KV, data=KV_DATA)), host=host)
    assert result.ok == [0, 5]
    assert host.items == {b"k": b"hello"}


def test_kv_put_past_max_value_bytes_returns_minus_2(tmp_path: Path) -> None:
    with small_sandbox(tmp_path, max_value_bytes=4) as box:
        host = DictHost()
        assert run(box.load(guest(normal=KV, data=KV_DATA)), host=host).ok == [-2, -1]
        assert host.items == {}


def test_kv_key_past_max_key_bytes_returns_minus_3(tmp_path: Path) -> None:
    with small_sandbox(tmp_path, max_key_bytes=0) as box:
        assert run(box.load(guest(normal=KV, data=KV_DATA))).ok == [-3, -3]


def test_kv_get_with_a_small_buffer_returns_the_length_and_copies_nothing(
    sandbox: Sandbox,
) -> None:
    small = KV.replace("(i32.const 2048) (i32.const 64)", "(i32.const 2048) (i32.const 4)")
    small = small.replace("(i32.const 200) (i32.const 5)", "(i32.const 200) (i32.const 0)")
    host = DictHost({b"k": b"long value"})
    assert run(sandbox.load(guest(normal=small, data=KV_DATA)), host=host).ok == [0, 0]
    assert host.items == {b"k": b""}


def lister(limit: int, prefix: bytes = b"a") -> str:
    return f"""
  (call $log (i32.const 1) (i32.const 300) (i32.const 7))
  (local.set $a (call $kv_list (i32.const 400) (i32.const {len(prefix)}) (i32.const 500)
                               (i32.const 2) (i32.const {limit}) (i32.const 4100)
                               (i32.const 8192)))
  (if (i32.lt_s (local.get $a) (i32.const 0)) (then
     (i32.store8 (i32.const 4100) (call $tiny (local.get $a)))
     (local.set $a (i32.const 1))))
  (return (i64.or (i64.const {4096 << 32}) (i64.extend_i32_u
                                             (i32.add (local.get $a) (i32.const 4)))))"""


def lister_data(prefix: bytes = b"a") -> dict[int, bytes]:
    return {300: b"listing", 400: prefix, 500: b"a1", 4096: bytes.fromhex("a1626f6b")}


def test_kv_list_pages_after_a_key_and_log_reaches_the_logger(sandbox: Sandbox) -> None:
    host = DictHost({b"a0": b"0", b"a1": b"1", b"a2": b"2", b"a3": b"3", b"b1": b"x"})
    logs = Logs()
    module = sandbox.load(guest(normal=lister(2), data=lister_data()))
    with module.instantiate() as instance:
        result = instance.run_turn(CALM, host, logs)
    assert result.ok == [[b"a2", b"2"], [b"a3", b"3"]]
    assert logs == [(1, "listing")]


@pytest.mark.parametrize("limit", [0, 1001, -1])
def test_kv_list_limit_outside_1_to_1000_returns_minus_5(sandbox: Sandbox, limit: int) -> None:
    assert run(sandbox.load(guest(normal=lister(limit), data=lister_data()))).ok == -5


def test_now_ms_and_random_answer(sandbox: Sandbox) -> None:
    body = f"""
  (i64.store (i32.const 5000) (call $now_ms))
  (call $random (i32.const 5008) (i32.const 32))
  (return {packed(4994, 46)})"""
    before = time.time_ns() // 1_000_000
    ok = run(sandbox.load(guest(normal=body, data={4994: bytes.fromhex("a1626f6b5828")}))).ok
    assert before <= int.from_bytes(ok[:8], "little") <= time.time_ns() // 1_000_000
    assert len(ok) == 40 and ok[8:] != bytes(32)


def test_turns_run_in_parallel_worker_threads(sandbox: Sandbox) -> None:
    module = sandbox.load(guest(normal=KV, data=KV_DATA))
    barrier = threading.Barrier(4, timeout=10)

    def worker(index: int) -> list[Any]:
        barrier.wait()
        with module.instantiate() as instance:
            return [instance.run_turn(CALM, DictHost(), Logs()).ok for _ in range(200)]

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(worker, range(4), timeout=60))
    assert outcomes == [[[0, 5]] * 200] * 4


def test_a_thousand_instances_live_at_once(sandbox: Sandbox) -> None:
    module = sandbox.load(guest())
    instances: list[Instance] = [module.instantiate() for _ in range(1000)]
    try:
        assert {instances[i].run_turn(CALM, DictHost(), Logs()).ok for i in (0, 499, 999)} == {42}
    finally:
        for instance in instances:
            instance.close()
