"""The fast call path: wasmtime's raw C API through ctypes, kept inside this one module.

wasmtime-py's public ``Func.__call__`` costs 40-85 µs and a public host import 13-21 µs; the
unchecked C entry points cost a few µs. Our own ctypes prototypes of those entry points take plain
addresses (``c_void_p``), so no ctypes wrapper objects are built per call. ``GuestCall`` is one
live instance seen through that API: it instantiates an ``InstancePre`` in a Store, finds
``memory`` / ``ew_alloc`` / ``ew_turn``, calls exports and copies bytes in and out of linear memory
with ``ctypes.memmove`` / ``string_at``. The memory base and size are re-read after every export
call and at the start of every import (only wasm code grows memory, and it may move it); every
guest range is checked against that size (``GuestBadPointer``).

Host imports are plain functions ``handler(call, *args) -> int | None`` registered once per Linker
by ``define_imports``; the C callback finds the ``GuestCall`` running on its thread (a
thread-local set around each export call), so one Linker serves every Store and thread. A Python
exception in a handler never unwinds through wasm: it is recorded on the ``GuestCall`` and the
import traps; the export call then re-raises the recorded exception. Pinned to wasmtime 50.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import wasmtime
from edgewise.host.errors import GuestBadPointer
from wasmtime import _ffi as ffi

RawKind = Literal["i32", "i64"]
Handler = Callable[..., int | None]

_P, _N = ctypes.c_void_p, ctypes.c_size_t
# The export call releases the GIL (CFUNCTYPE): wasm runs without it, so the epoch ticker thread
# can interrupt a guest that loops. The short accessors keep the GIL (PYFUNCTYPE): releasing and
# taking it back around a call of a few nanoseconds would make each one wait for whichever
# thread holds the GIL meanwhile (up to the interpreter's switch interval, 5 ms).
_call_unchecked = ctypes.CFUNCTYPE(_P, _P, _P, _P, _N, _P)(
    ("wasmtime_func_call_unchecked", ffi.dll)
)
_define_unchecked = ctypes.CFUNCTYPE(_P, _P, _P, _N, _P, _N, _P, _P, _P, _P)(
    ("wasmtime_linker_define_func_unchecked", ffi.dll)
)
_caller_context = ctypes.PYFUNCTYPE(_P, _P)(("wasmtime_caller_context", ffi.dll))
_memory_data = ctypes.PYFUNCTYPE(_P, _P, _P)(("wasmtime_memory_data", ffi.dll))
_memory_size = ctypes.PYFUNCTYPE(_N, _P, _P)(("wasmtime_memory_data_size", ffi.dll))
_set_deadline = ctypes.PYFUNCTYPE(None, _P, ctypes.c_uint64)(
    ("wasmtime_context_set_epoch_deadline", ffi.dll)
)
_trap_new = ctypes.PYFUNCTYPE(_P, _P, _N)(("wasmtime_trap_new", ffi.dll))
_Callback = ctypes.CFUNCTYPE(_N, _P, _P, _P, _N)  # (env, caller, values, count) -> trap*

_current = threading.local()
_KEEP_ALIVE: list[Any] = []  # C callbacks referenced by Linkers: they must never be collected
_VAL_BYTES = ctypes.sizeof(ffi.wasmtime_val_raw_t)
_SLOT = {"i32": f"i{_VAL_BYTES - 4}x", "i64": f"q{_VAL_BYTES - 8}x"}
_RESULT = {"i32": ctypes.c_int32, "i64": ctypes.c_int64}
U32 = 0xFFFFFFFF  # guest pointers and lengths are unsigned 32-bit


@dataclass(frozen=True)
class HostImport:
    """One import of module ``ew``: its wasm type and the Python handler behind it."""

    name: str
    params: tuple[RawKind, ...]
    result: RawKind | None
    handler: Handler


class CallTrapped(Exception):
    """An export call trapped; ``code`` is the wasmtime TrapCode (None for other failures)."""

    def __init__(self, code: wasmtime.TrapCode | None, message: str) -> None:
        super().__init__(message)
        self.code = code


def define_imports(linker: wasmtime.Linker, imports: Sequence[HostImport]) -> None:
    """Define each import on ``linker`` through the unchecked (fast) C entry point."""
    valtypes = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}
    linker_addr = ctypes.cast(linker.ptr(), _P).value
    for spec in imports:
        results = [] if spec.result is None else [valtypes[spec.result]]
        ty = wasmtime.FuncType([valtypes[p] for p in spec.params], results)
        callback = _Callback(_trampoline(spec))
        _KEEP_ALIVE.append((callback, ty))
        name = spec.name.encode()
        error = _define_unchecked(
            linker_addr, b"ew", 2, name, len(name), ctypes.cast(ty.ptr(), _P),
            ctypes.cast(callback, _P), None, None,
        )  # fmt: skip
        _raise_failure(error, None)


def _trampoline(spec: HostImport) -> Callable[[Any, Any, Any, int], int]:
    args = struct.Struct("<" + "".join(_SLOT[kind] for kind in spec.params))
    result, handler = _RESULT.get(spec.result or ""), spec.handler

    def callback(_env: Any, caller: int, values: int, _count: int) -> int:
        call: GuestCall | None = getattr(_current, "call", None)
        if call is None:  # e.g. a start function: imports only serve export calls
            return _new_trap(f"host import {spec.name} called outside a turn")
        try:
            call.refresh(_caller_context(caller))
            out = handler(call, *args.unpack(ctypes.string_at(values, args.size)))
            if result is not None:
                result.from_address(values).value = out or 0
            return 0
        except BaseException as exc:  # must not unwind through wasm frames
            call.fault = exc
            return _new_trap(f"host import {spec.name} failed")

    return callback


def _new_trap(message: str) -> int:
    text = message.encode()
    return _trap_new(text, len(text)) or 0


class GuestCall:
    """One instance of a pre-linked module in ``store``, driven through the raw C API."""

    def __init__(self, pre: wasmtime.InstancePre, store: wasmtime.Store) -> None:
        ctx = ffi.wasmtime_store_context(store.ptr())
        self.fault: BaseException | None = None
        self.turn: Any = None  # what the host imports act on during an export call
        self._values = (ffi.wasmtime_val_raw_t * 2)()
        self._trap = _P()
        instance = ffi.wasmtime_instance_t()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        error = ffi.wasmtime_instance_pre_instantiate(
            pre.ptr(), ctx, ctypes.byref(instance), ctypes.byref(trap)
        )
        _raise_failure(ctypes.cast(error, _P).value, ctypes.cast(trap, _P).value)
        self._memory = _export(ctx, instance, "memory").of.memory
        self._alloc = _export(ctx, instance, "ew_alloc").of.func
        self._turn = _export(ctx, instance, "ew_turn").of.func
        self._ctx: int = ctypes.cast(ctx, _P).value or 0
        self._memory_addr = ctypes.addressof(self._memory)
        self._base = 0
        self._size = 0
        self.refresh(self._ctx)

    # --- calls -------------------------------------------------------------------------------

    def set_deadline(self, ticks: int) -> None:
        """Trap with an interrupt once the engine's epoch has advanced ``ticks`` more times."""
        _set_deadline(self._ctx, ticks)

    def call_alloc(self, size: int) -> int:
        """Call ``ew_alloc(size)``; the pointer as an unsigned 32-bit value."""
        self._values[0].i32 = size
        self._call_export(self._alloc)
        return int(self._values[0].i32) & U32

    def call_turn(self, ptr: int, length: int) -> int:
        """Call ``ew_turn(ptr, len)``; the i64 result as an unsigned 64-bit value."""
        self._values[0].i32 = ptr
        self._values[1].i32 = length
        self._call_export(self._turn)
        return int(self._values[0].i64) & 0xFFFFFFFFFFFFFFFF

    def _call_export(self, func: Any) -> None:
        self.fault = None
        previous = getattr(_current, "call", None)
        _current.call = self
        try:
            error = _call_unchecked(
                self._ctx, ctypes.addressof(func), ctypes.addressof(self._values), 2,
                ctypes.addressof(self._trap),
            )  # fmt: skip
        finally:
            _current.call = previous
        trap, self._trap.value = self._trap.value, None
        self.refresh(self._ctx)
        if self.fault is not None:
            fault, self.fault = self.fault, None
            _discard(error, trap)
            raise fault
        _raise_failure(error, trap)

    # --- linear memory -----------------------------------------------------------------------

    def refresh(self, ctx: int | None) -> None:
        """Re-read the memory's base and size (after wasm ran: it may have grown and moved)."""
        self._size = _memory_size(ctx, self._memory_addr)
        self._base = _memory_data(ctx, self._memory_addr) or 0

    @property
    def memory_size(self) -> int:
        return self._size

    def check(self, ptr: int, length: int, what: str) -> None:
        """Raise GuestBadPointer unless ``ptr..ptr+length`` lies inside guest memory."""
        if ptr < 0 or length < 0 or ptr + length > self._size:
            raise GuestBadPointer(
                f"{what} names bytes {ptr}..{ptr + length} "
                f"outside guest memory of {self._size} bytes"
            )

    def read(self, ptr: int, length: int, what: str) -> bytes:
        """Copy ``length`` bytes at ``ptr`` out of guest memory (bounds-checked)."""
        self.check(ptr, length, what)
        return ctypes.string_at(self._base + ptr, length) if length else b""

    def write(self, ptr: int, data: bytes, what: str) -> None:
        """Copy ``data`` into guest memory at ``ptr`` (bounds-checked)."""
        self.check(ptr, len(data), what)
        if data:
            ctypes.memmove(self._base + ptr, data, len(data))


def _export(ctx: Any, instance: Any, name: str) -> Any:
    item = ffi.wasmtime_extern_t()
    raw = name.encode()
    if not ffi.wasmtime_instance_export_get(
        ctx, ctypes.byref(instance), raw, len(raw), ctypes.byref(item)
    ):
        raise CallTrapped(None, f"module has no export {name!r}")
    return item


def _raise_failure(error: int | None, trap: int | None) -> None:
    if trap:
        trapped = wasmtime.Trap._from_ptr(ctypes.cast(trap, ctypes.POINTER(ffi.wasm_trap_t)))
        raise CallTrapped(trapped.trap_code, trapped.message)
    if error:
        failure = wasmtime.WasmtimeError._from_ptr(
            ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t))
        )
        raise CallTrapped(None, str(failure))


def _discard(error: int | None, trap: int | None) -> None:
    try:
        _raise_failure(error, trap)
    except CallTrapped:
        return
