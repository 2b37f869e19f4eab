"""Sandbox figures: a turn on the fast path vs wasmtime-py's public API, instantiation, memory.

Run: ``.venv/bin/python bench/sandbox_turns.py [--instances 10000]``. Prints medians of several
rounds. The guest is inline WAT: ``ew_turn`` calls ``kv_get`` IMPORTS times, then returns the
fixed result ``{"ok": 42}``. The public-API variant does the same turn with ``Func.__call__``,
``Linker.define_func`` and ``Memory.read/write``, for comparison only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cbor2
import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.sandbox import Instance, Sandbox
from edgewise.host.sandbox.abi import ActorIdentity, TurnEnvelope, TurnResult
from edgewise.host.sandbox.engine import shared_engine

OK_42 = cbor2.dumps({"ok": 42})
ENVELOPE = TurnEnvelope(
    "action", ActorIdentity("f" * 32, "bench", ("k",)), 1_700_000_000_000, action="go", args=(1,)
)


def guest(imports: int) -> bytes:
    data = "".join(f"\\{b:02x}" for b in OK_42)
    calls = "(drop (call $kv_get (i32.const 100) (i32.const 1) (i32.const 2048) (i32.const 64)))"
    return bytes(
        wasmtime.wat2wasm(f"""(module
 (import "ew" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))
 (memory (export "memory") 1)
 (data (i32.const 16) "{data}") (data (i32.const 100) "k")
 (func (export "ew_abi_v1"))
 (func (export "ew_alloc") (param i32) (result i32) (i32.const 1024))
 (func (export "ew_turn") (param i32 i32) (result i64)
   {calls * imports}
   (i64.const {(16 << 32) | len(OK_42)})))""")
    )


class DictHost(dict[bytes, bytes]):
    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        return super().get(key, default)

    def put(self, key: bytes, value: bytes) -> None:
        self[key] = value

    def delete(self, key: bytes) -> None:
        self.pop(key, None)

    def list(self, prefix: bytes, start_after: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        return []


def median_us(action: Callable[[], object], count: int, rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            action()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def public_api_turn(wasm: bytes, host: DictHost) -> Callable[[], TurnResult]:
    engine = shared_engine()
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1_000_000)
    linker = wasmtime.Linker(engine)
    i32 = wasmtime.ValType.i32()
    memory: list[wasmtime.Memory] = []

    def kv_get(caller: wasmtime.Caller, kptr: int, klen: int, dst: int, cap: int) -> int:
        value = host.get(bytes(memory[0].read(caller, kptr, kptr + klen)))
        if value is None:
            return -1
        if len(value) <= cap:
            memory[0].write(caller, value, dst)
        return len(value)

    linker.define_func("ew", "kv_get", wasmtime.FuncType([i32] * 4, [i32]), kv_get, True)
    exports = linker.instantiate(store, wasmtime.Module(engine, wasm)).exports(store)
    mem, alloc, turn = exports["memory"], exports["ew_alloc"], exports["ew_turn"]
    assert isinstance(mem, wasmtime.Memory)
    assert isinstance(alloc, wasmtime.Func) and isinstance(turn, wasmtime.Func)
    memory.append(mem)

    def run() -> TurnResult:
        data = ENVELOPE.encode()
        ptr = alloc(store, len(data))
        mem.write(store, data, ptr)
        packed = turn(store, ptr, len(data)) & 0xFFFFFFFFFFFFFFFF
        start, length = packed >> 32, packed & 0xFFFFFFFF
        return TurnResult.decode(bytes(mem.read(store, start, start + length)))

    return run


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def map_count() -> int:
    with open("/proc/self/maps") as maps:
        return sum(1 for _ in maps)


def bench_turns(box: Sandbox) -> None:
    host = DictHost({b"k": b"value"})
    print("per turn (envelope encode + ew_alloc + ew_turn + copy out + decode), median µs:")
    for imports in (0, 1, 10):
        wasm = guest(imports)
        instance = box.load(wasm).instantiate()
        fast = median_us(partial(instance.run_turn, ENVELOPE, host, print), 2000)
        public = median_us(public_api_turn(wasm, host), 300)
        print(f"  {imports:2d} kv_get imports: fast path {fast:7.1f}   public API {public:7.1f}")
        instance.close()
    encode = median_us(ENVELOPE.encode, 5000)
    decode = median_us(lambda: TurnResult.decode(OK_42), 5000)
    print(f"  of which envelope encode {encode:.1f} and result decode {decode:.1f}")


def bench_instances(box: Sandbox, count: int) -> None:
    module = box.load(guest(1))
    host = DictHost({b"k": b"value"})
    create = median_us(lambda: module.instantiate().close(), 1000)
    print(f"instantiate + close: {create:.1f} µs")
    rss, maps = rss_bytes(), map_count()
    start = time.perf_counter()
    live: list[Instance] = []
    for _ in range(count):
        instance = module.instantiate()
        instance.run_turn(ENVELOPE, host, print)
        live.append(instance)
    elapsed = time.perf_counter() - start
    grown = rss_bytes() - rss
    print(
        f"{count} live instances, one turn each: {elapsed:.2f} s, "
        f"RSS +{grown / 2**20:.1f} MiB = {grown / count / 1024:.1f} KiB per instance, "
        f"{(map_count() - maps) / count:.2f} memory maps per instance"
    )
    for instance in live:
        instance.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache, Sandbox(LimitsConfig(), Path(cache)) as box:
        bench_turns(box)
        bench_instances(box, args.instances)


if __name__ == "__main__":
    main()
