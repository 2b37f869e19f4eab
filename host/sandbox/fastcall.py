"""The fast call path: wasmtime's raw C API through ctypes, kept inside this one module.

wasmtime-py's public ``Func.__call__`` costs 40-85 µs and a public host import 13-21 µs;
``wasmtime_func_call_unchecked`` and ``wasmtime_linker_define_func_unchecked`` cost about 2 µs and
0.6 µs. ``GuestCall`` is one live instance seen through that API: it instantiates an
``InstancePre`` in a Store, finds ``memory`` / ``ew_alloc`` / ``ew_turn``, calls exports and copies
bytes in and out of linear memory with ``ctypes.memmove`` / ``string_at``, re-reading the memory
base every time (memory may grow and move). Every guest pointer range is checked against the
current memory size (``GuestBadPointer``).

Host imports are plain functions ``handler(call, ctx, *args) -> int | None`` registered once per
Linker by ``define_imports``; a C callback finds the ``GuestCall`` running on its thread (a
thread-local set around each export call), so one Linker serves every Store and thread. A Python
exception in a handler never unwinds through wasm: it is recorded on the ``GuestCall`` and the
import traps; ``call_export`` then re-raises the recorded exception. Pinned to wasmtime 50.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import wasmtime
from edgewise.host.errors import GuestBadPointer
from wasmtime import _ffi as ffi

RawKind = Literal["i32", "i64"]
Handler = Callable[..., int | None]

_current = threading.local()
_KEEP_ALIVE: list[Any] = []  # C callbacks referenced by Linkers: they must never be collected
_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_U32 = 0xFFFFFFFF


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
    for spec in imports:
        valtypes = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}
        ty = wasmtime.FuncType(
            [valtypes[p] for p in spec.params],
            [] if spec.result is None else [valtypes[spec.result]],
        )
        callback = ffi.wasmtime_func_unchecked_callback_t(_trampoline(spec))
        _KEEP_ALIVE.append((callback, ty))
        module, name = b"ew", spec.name.encode()
        error = ffi.wasmtime_linker_define_func_unchecked(
            linker.ptr(), module, len(module), name, len(name), ty.ptr(), callback, None,
            _NO_FINALIZER,
        )  # fmt: skip
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)


def _trampoline(spec: HostImport) -> Callable[[Any, Any, Any, int], int]:
    nparams = len(spec.params)
    result, handler = spec.result, spec.handler

    def callback(_env: Any, caller: Any, values: Any, _count: int) -> int:
        call: GuestCall | None = getattr(_current, "call", None)
        if call is None:  # e.g. a start function: imports only serve export calls
            return _new_trap(f"host import {spec.name} called outside a turn")
        try:
            ctx = ffi.wasmtime_caller_context(caller)
            args = [
                values[i].i32 if kind == "i32" else values[i].i64
                for i, kind in zip(range(nparams), spec.params, strict=True)
            ]
            out = handler(call, ctx, *args)
            if result == "i32":
                values[0].i32 = out
            elif result == "i64":
                values[0].i64 = out
            return 0
        except BaseException as exc:  # must not unwind through wasm frames
            call.fault = exc
            return _new_trap(f"host import {spec.name} failed")

    return callback


def _new_trap(message: str) -> int:
    text = message.encode()
    return ctypes.cast(ffi.wasmtime_trap_new(text, len(text)), ctypes.c_void_p).value or 0


class GuestCall:
    """One instance of a pre-linked module in ``store``, driven through the raw C API."""

    def __init__(self, pre: wasmtime.InstancePre, store: wasmtime.Store) -> None:
        self.ctx = ffi.wasmtime_store_context(store.ptr())
        self.fault: BaseException | None = None
        self.turn: Any = None  # what the host imports act on during an export call
        self._values = (ffi.wasmtime_val_raw_t * 2)()
        instance = ffi.wasmtime_instance_t()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        error = ffi.wasmtime_instance_pre_instantiate(
            pre.ptr(), self.ctx, ctypes.byref(instance), ctypes.byref(trap)
        )
        _raise_failure(error, trap)
        self._memory = self._export(instance, "memory").of.memory
        self._alloc = self._export(instance, "ew_alloc").of.func
        self._turn = self._export(instance, "ew_turn").of.func

    def _export(self, instance: Any, name: str) -> Any:
        item = ffi.wasmtime_extern_t()
        raw = name.encode()
        if not ffi.wasmtime_instance_export_get(
            self.ctx, ctypes.byref(instance), raw, len(raw), ctypes.byref(item)
        ):
            raise CallTrapped(None, f"module has no export {name!r}")
        return item

    # --- calls -------------------------------------------------------------------------------

    def call_alloc(self, size: int) -> int:
        """Call ``ew_alloc(size)``; the pointer as an unsigned 32-bit value."""
        self._values[0].i32 = size
        self._call_export(self._alloc, 2)
        return int(self._values[0].i32) & _U32

    def call_turn(self, ptr: int, length: int) -> int:
        """Call ``ew_turn(ptr, len)``; the i64 result as an unsigned 64-bit value."""
        self._values[0].i32 = ptr
        self._values[1].i32 = length
        self._call_export(self._turn, 2)
        return int(self._values[0].i64) & 0xFFFFFFFFFFFFFFFF

    def _call_export(self, func: Any, count: int) -> None:
        self.fault = None
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        previous = getattr(_current, "call", None)
        _current.call = self
        try:
            error = ffi.wasmtime_func_call_unchecked(
                self.ctx, ctypes.byref(func), self._values, count, ctypes.byref(trap)
            )
        finally:
            _current.call = previous
        if self.fault is not None:
            fault, self.fault = self.fault, None
            _discard(error, trap)
            raise fault
        _raise_failure(error, trap)

    # --- linear memory -----------------------------------------------------------------------

    def memory_size(self, ctx: Any = None) -> int:
        return int(ffi.wasmtime_memory_data_size(ctx or self.ctx, ctypes.byref(self._memory)))

    def check(self, ptr: int, length: int, what: str, ctx: Any = None) -> None:
        """Raise GuestBadPointer unless ``ptr..ptr+length`` lies inside guest memory."""
        size = self.memory_size(ctx)
        if ptr < 0 or length < 0 or ptr + length > size:
            raise GuestBadPointer(
                f"{what} names bytes {ptr}..{ptr + length} outside guest memory of {size} bytes"
            )

    def _base(self, ctx: Any, ptr: int, length: int, what: str) -> int:
        self.check(ptr, length, what, ctx)
        data = ffi.wasmtime_memory_data(ctx or self.ctx, ctypes.byref(self._memory))
        return ctypes.addressof(data.contents)

    def read(self, ptr: int, length: int, what: str, ctx: Any = None) -> bytes:
        """Copy ``length`` bytes at ``ptr`` out of guest memory (bounds-checked)."""
        base = self._base(ctx, ptr, length, what)
        return ctypes.string_at(base + ptr, length) if length else b""

    def write(self, ptr: int, data: bytes, what: str, ctx: Any = None) -> None:
        """Copy ``data`` into guest memory at ``ptr`` (bounds-checked)."""
        base = self._base(ctx, ptr, len(data), what)
        if data:
            ctypes.memmove(base + ptr, data, len(data))


def _raise_failure(error: Any, trap: Any) -> None:
    if trap:
        trapped = wasmtime.Trap._from_ptr(trap)
        raise CallTrapped(trapped.trap_code, trapped.message)
    if error:
        failure = wasmtime.WasmtimeError._from_ptr(error)
        raise CallTrapped(None, str(failure))


def _discard(error: Any, trap: Any) -> None:
    if trap:
        wasmtime.Trap._from_ptr(trap).close()
    if error:
        wasmtime.WasmtimeError._from_ptr(error).close()
