"""Hostile guests on real wasmtime: every fault has its code, closes the instance, and a fresh
instance of the same module works afterwards. Modules that are not wasm or not ABI v1 are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import (
    EdgewiseError,
    GuestBadPointer,
    GuestBadResult,
    GuestFault,
    GuestOutOfMemory,
    GuestTimeout,
    GuestTooLarge,
    GuestTrapped,
    HostFault,
    ModuleInvalid,
    StorageFailed,
)
from edgewise.host.sandbox import Module, Sandbox
from edgewise.host.sandbox.abi import TurnResult
from test_sandbox_guests import BOOM, CALM, KV, KV_DATA, DictHost, Logs, guest, packed, run

SMALL = {"max_memory_bytes": 4 * 1024 * 1024, "turn_timeout_ms": 50, "max_message_bytes": 1024}

MEMORY_HOG = """
  (block $full (loop $grow
    (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
    (br $grow)))
  (unreachable)"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(LimitsConfig(**SMALL), tmp_path / "cache") as box:
        yield box


def assert_fault_then_recovery(module: Module, fault: type[GuestFault], words: str) -> None:
    instance = module.instantiate()
    with pytest.raises(fault, match=words) as caught:
        instance.run_turn(BOOM, DictHost({b"k": b"stored value"}), Logs())
    assert instance.closed
    assert caught.value.code == fault.code
    assert "/" not in caught.value.message  # no host paths in what clients may see
    with pytest.raises(ValueError, match="closed"):
        instance.run_turn(CALM, DictHost(), Logs())
    assert run(module) == TurnResult(ok=42)


@pytest.mark.parametrize(
    ("hostile", "fault", "words"),
    [
        ("(loop $spin (br $spin))", GuestTimeout, "CPU deadline of 50 ms"),
        (MEMORY_HOG, GuestOutOfMemory, "unreachable"),
        ("(drop (call $rec (i32.const 0)))", GuestTrapped, "stack overflow"),
        ("(unreachable)", GuestTrapped, "unreachable"),
        ("(drop (i32.div_u (i32.const 1) (i32.const 0)))", GuestTrapped, "division by zero"),
        ("(drop (i32.load (i32.const -8)))", GuestTrapped, "memory out of bounds"),
        (f"(return {packed(0xFFFF0000, 16)})", GuestBadPointer, "turn result names bytes"),
        (f"(return {packed(65530, 16)})", GuestBadPointer, "outside guest memory of 65536"),
        (f"(return {packed(20000, 2)})", GuestBadResult, "not valid CBOR"),
        (f"(return {packed(16, 1025)})", GuestTooLarge, "1025 bytes, limit is 1024"),
        (
            "(drop (call $kv_put (i32.const -256) (i32.const 4) (i32.const 0) (i32.const 1)))",
            GuestBadPointer,
            "kv_put key",
        ),
        (
            "(drop (call $kv_get (i32.const 100) (i32.const 1) (i32.const 65535) (i32.const 64)))",
            GuestBadPointer,
            "kv_get buffer",
        ),
        ("(call $log (i32.const 1) (i32.const 65000) (i32.const 600))", GuestBadPointer, "log"),
        ("(call $random (i32.const 0) (i32.const 65537))", GuestTrapped, "65537 bytes"),
        ("(call $random (i32.const 65535) (i32.const 2))", GuestBadPointer, "random buffer"),
    ],
)
def test_hostile_guest_faults_and_a_fresh_instance_works(
    sandbox: Sandbox, hostile: str, fault: type[GuestFault], words: str
) -> None:
    data = {**KV_DATA, 20000: b"\xff\xfe"}
    assert_fault_then_recovery(sandbox.load(guest(hostile=hostile, data=data)), fault, words)


def test_memory_hog_that_returns_garbage_is_out_of_memory(sandbox: Sandbox) -> None:
    hostile = MEMORY_HOG.replace("(unreachable)", f"(return {packed(20000, 2)})")
    module = sandbox.load(guest(hostile=hostile, data={20000: b"\xff\xfe"}))
    assert_fault_then_recovery(module, GuestOutOfMemory, "not valid CBOR")


def test_alloc_returning_zero_is_out_of_memory(sandbox: Sandbox) -> None:
    module = sandbox.load(guest(alloc="(i32.const 0)"))
    with module.instantiate() as instance, pytest.raises(GuestOutOfMemory, match="ew_alloc"):
        instance.run_turn(CALM, DictHost(), Logs())


def test_alloc_returning_a_pointer_outside_memory_is_a_bad_pointer(sandbox: Sandbox) -> None:
    module = sandbox.load(guest(alloc="(i32.const 65500)"))
    with module.instantiate() as instance, pytest.raises(GuestBadPointer, match="ew_alloc"):
        instance.run_turn(CALM, DictHost(), Logs())


def test_a_module_needing_more_memory_than_allowed_cannot_start(sandbox: Sandbox) -> None:
    module = sandbox.load(guest(memory="100"))  # 6.25 MiB > 4 MiB
    with pytest.raises(GuestOutOfMemory, match="max_memory_bytes"):
        module.instantiate()


class FailingHost(DictHost):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get(self, key: bytes) -> bytes | None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [(StorageFailed("disk is gone"), StorageFailed), (RuntimeError("bug"), HostFault)],
)
def test_an_exception_in_a_host_import_is_raised_after_the_call(
    sandbox: Sandbox, error: Exception, expected: type[EdgewiseError]
) -> None:
    module = sandbox.load(guest(normal=KV, data=KV_DATA))
    instance = module.instantiate()
    with pytest.raises(expected) as caught:
        instance.run_turn(CALM, FailingHost(error), Logs())
    assert instance.closed
    assert caught.value is error or caught.value.__cause__ is error
    assert run(module, host=DictHost()).ok == [0, 5]


@pytest.mark.parametrize(
    ("wasm", "words"),
    [
        (b"", "not a WebAssembly module"),
        (b"hello world, not wasm", "not a WebAssembly module"),
        (b"\x00asm\x02\x00\x00\x00", "not a WebAssembly module"),
        (b"\x00asm\x01\x00\x00\x00\x01\xff", "ABI v1"),
        (wasmtime.wat2wasm('(module (memory (export "memory") 1))'), "missing export 'ew_turn'"),
        (
            wasmtime.wat2wasm('(module (import "env" "f" (func)) (memory (export "memory") 1))'),
            "env.f",
        ),
    ],
)
def test_bad_modules_are_refused(sandbox: Sandbox, wasm: bytes, words: str) -> None:
    with pytest.raises(ModuleInvalid, match=words) as caught:
        sandbox.load(wasm)
    assert caught.value.code == "module.invalid"


def test_a_module_that_does_not_validate_is_refused(sandbox: Sandbox) -> None:
    bad_body = guest().replace(b"\x41\x80\x08\x0b", b"\x42\x80\x08\x0b")  # ew_alloc: i32 -> i64
    assert bad_body != guest()
    with pytest.raises(ModuleInvalid, match="does not compile"):
        sandbox.load(bad_body)


def test_a_module_past_max_module_bytes_is_refused(tmp_path: Path) -> None:
    with (
        Sandbox(LimitsConfig(max_module_bytes=100), tmp_path) as box,
        pytest.raises(ModuleInvalid, match="limit is 100"),
    ):
        box.load(guest())
