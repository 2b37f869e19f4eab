"""The call path for components (Python guests): wasmtime's component C API through ctypes.

wasmtime-py's public component API converts a ``list<u8>`` one element at a time in Python, about
1.4 µs per byte (a 1 MiB value would take over a second). The C API holds such a list as one
32-byte ``wasmtime_component_val_t`` per byte: this module builds that array with two strided
slice assignments and one memmove, and reads it back with one strided slice, so bytes cross at C
speed. It knows the few value shapes of the WIT world ``edgewise:actor/actor@1.0.0``
(``guest-sdk/python/wit/edgewise.wit``) and nothing more.

``define_component_imports`` registers the host interface once per component Linker; the C
callback finds the ``ComponentCall`` running on its thread (a thread-local set around each export
call), like ``fastcall`` does for core modules. A Python exception in a handler never unwinds
through wasm: it is recorded and re-raised when the export call returns. Pinned to wasmtime 50.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Func, Linker

HOST_INTERFACE = "edgewise:actor/host@1.0.0"
TURN_EXPORT = "turn"

ComponentValue = _Val = ffi.wasmtime_component_val_t  # one value of the component C API
_VAL_BYTES = ctypes.sizeof(_Val)
_PAYLOAD = _Val.of.offset  # where a u8 element's byte sits inside its 32-byte value
_LIST, _U8 = ffi.WASMTIME_COMPONENT_LIST.value, ffi.WASMTIME_COMPONENT_U8.value
_S32, _S64 = ffi.WASMTIME_COMPONENT_S32.value, ffi.WASMTIME_COMPONENT_S64.value
_OPTION, _RESULT = ffi.WASMTIME_COMPONENT_OPTION.value, ffi.WASMTIME_COMPONENT_RESULT.value
_VARIANT, _STRING = ffi.WASMTIME_COMPONENT_VARIANT.value, ffi.WASMTIME_COMPONENT_STRING.value

_P, _N = ctypes.c_void_p, ctypes.c_size_t
_Callback = ctypes.CFUNCTYPE(_N, _P, _P, _P, _P, _N, _P, _N)  # -> wasmtime_error_t*
_add_func = ctypes.CFUNCTYPE(_P, _P, _P, _N, _P, _P, _P)(
    ("wasmtime_component_linker_instance_add_func", ffi.dll)
)
_current = threading.local()
_KEEP_ALIVE: list[Any] = []  # C callbacks referenced by Linkers: they must never be collected

Writer = Callable[[Any, Any], None]  # (result value to fill, handler's answer)


# --- values --------------------------------------------------------------------------------------


def lower_bytes(val: Any, data: bytes) -> None:
    """Make ``val`` (a ``wasmtime_component_val_t``) a ``list<u8>`` holding ``data``."""
    count = len(data)
    ffi.wasmtime_component_vallist_new_uninit(ctypes.byref(val.of.list), count)
    if count:
        packed = bytearray(count * _VAL_BYTES)
        packed[0::_VAL_BYTES] = bytes((_U8,)) * count
        packed[_PAYLOAD::_VAL_BYTES] = data
        source = (ctypes.c_char * len(packed)).from_buffer(packed)
        ctypes.memmove(val.of.list.data, source, len(packed))
    val.kind = _LIST


def release(val: Any) -> None:
    """Free what ``val`` owns (its list, string or boxed values); ``val`` itself stays."""
    ffi.wasmtime_component_val_delete(ctypes.byref(val))


def lift_bytes(val: Any) -> bytes:
    """The bytes of a ``list<u8>`` value (the value keeps owning its list)."""
    if val.kind != _LIST:
        raise TypeError(f"expected a list<u8> value, got kind {val.kind}")
    count = val.of.list.size
    if not count:
        return b""
    return ctypes.string_at(val.of.list.data, count * _VAL_BYTES)[_PAYLOAD::_VAL_BYTES]


def lift_text(val: Any) -> bytes:
    """The UTF-8 bytes of a ``string`` value."""
    name = val.of.string
    return ctypes.string_at(name.data, name.size) if name.size else b""


def _boxed(fill: Callable[[Any], None]) -> Any:
    inner = _Val()
    fill(inner)
    return ffi.wasmtime_component_val_new(ctypes.byref(inner))


def _set_s32(val: Any, number: int) -> None:
    val.kind = _S32
    val.of.s32 = number


def write_status(val: Any, answer: int) -> None:
    """``result<_, s32>``: 0 is ok, a negative code the error."""
    val.kind = _RESULT
    val.of.result.is_ok = answer == 0
    val.of.result.val = None if answer == 0 else _boxed(lambda v: _set_s32(v, answer))


def write_bytes_or_code(val: Any, answer: bytes | int) -> None:
    """``result<list<u8>, s32>``."""
    val.kind = _RESULT
    if isinstance(answer, int):
        val.of.result.is_ok = False
        val.of.result.val = _boxed(lambda v: _set_s32(v, answer))
    else:
        val.of.result.is_ok = True
        val.of.result.val = _boxed(lambda v: lower_bytes(v, answer))


def write_optional_bytes_or_code(val: Any, answer: bytes | int | None) -> None:
    """``result<option<list<u8>>, s32>``: None (absent) is ``ok(none)``."""
    val.kind = _RESULT
    if isinstance(answer, int):
        val.of.result.is_ok = False
        val.of.result.val = _boxed(lambda v: _set_s32(v, answer))
        return

    def option(inner: Any) -> None:
        inner.kind = _OPTION
        inner.of.option = None if answer is None else _boxed(lambda v: lower_bytes(v, answer))

    val.of.result.is_ok = True
    val.of.result.val = _boxed(option)


def write_s64(val: Any, answer: int) -> None:
    val.kind = _S64
    val.of.s64 = answer


# --- host imports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentImport:
    """One function of the host interface: how to read its arguments, the handler, the writer."""

    name: str
    readers: tuple[Callable[[Any], Any], ...]
    handler: Callable[..., Any]
    writer: Writer | None


def read_u32(val: Any) -> int:
    return int(val.of.u32)


def read_u8(val: Any) -> int:
    return int(val.of.u8)


def define_component_imports(linker: Linker, imports: Sequence[ComponentImport]) -> None:
    """Define the host interface on ``linker`` (whose root must not be in use)."""
    with linker.root() as root, root.add_instance(HOST_INTERFACE) as interface:
        address = ctypes.cast(interface.ptr(), _P).value
        for spec in imports:
            callback = _Callback(_trampoline(spec))
            _KEEP_ALIVE.append(callback)
            name = spec.name.encode()
            error = _add_func(address, name, len(name), ctypes.cast(callback, _P), None, None)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(
                    ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t))
                )


def _trampoline(spec: ComponentImport) -> Callable[..., int]:
    readers, handler, writer = spec.readers, spec.handler, spec.writer

    def callback(_env: Any, _ctx: Any, _ty: Any, args: int, count: int, out: int, _n: int) -> int:
        call: ComponentCall | None = getattr(_current, "call", None)
        if call is None:  # imports only serve export calls
            return _new_error(f"host import {spec.name} called outside a turn")
        try:
            values = (_Val * count).from_address(args) if count else ()
            answer = handler(call.turn, *(read(v) for read, v in zip(readers, values, strict=True)))
            if writer is not None:
                writer(_Val.from_address(out), answer)
            return 0
        except BaseException as exc:  # must not unwind through wasm frames
            call.fault = exc
            return _new_error(f"host import {spec.name} failed")

    return callback


def _new_error(message: str) -> int:
    return ctypes.cast(ffi.wasmtime_error_new(message.encode()), _P).value or 0


# --- export call ---------------------------------------------------------------------------------


class ComponentFailed(Exception):
    """The export call failed in wasm (a trap); the message is wasmtime's."""


@dataclass(frozen=True)
class GuestFaulted:
    """The guest's runtime caught a failure itself: ``kind`` is the WIT fault case."""

    kind: str
    detail: str


class ComponentCall:
    """The ``turn`` export of one component instance, called through the C API."""

    def __init__(self, store: wasmtime.Store, func: Func) -> None:
        self.fault: BaseException | None = None
        self.turn: Any = None  # what the host imports act on during an export call
        self._store = store
        self._func = func

    def call_turn(self, envelope: bytes) -> bytes | GuestFaulted:
        """Call ``turn(envelope)``; raises ComponentFailed, or what a host import raised."""
        params = (_Val * 1)()
        lower_bytes(params[0], envelope)
        result = _Val()
        func = ctypes.byref(self._func._func)
        context = self._store._context()
        self.fault = None
        previous = getattr(_current, "call", None)
        _current.call = self
        try:
            error = ffi.wasmtime_component_func_call(
                func, context, params, 1, ctypes.byref(result), 1
            )
        finally:
            _current.call = previous
            release(params[0])
        if error:
            message = str(wasmtime.WasmtimeError._from_ptr(error))
            if self.fault is not None:
                fault, self.fault = self.fault, None
                raise fault
            raise ComponentFailed(message)
        try:
            return _turn_answer(result)
        finally:
            release(result)
            _check(ffi.wasmtime_component_func_post_return(func, context))


def _turn_answer(result: Any) -> bytes | GuestFaulted:
    """Read ``result<list<u8>, fault>``."""
    inner = result.of.result.val.contents
    if result.of.result.is_ok:
        return lift_bytes(inner)
    variant = inner.of.variant
    case = ctypes.string_at(variant.discriminant.data, variant.discriminant.size).decode()
    detail = lift_text(variant.val.contents) if variant.val else b""
    return GuestFaulted(case, detail.decode("utf-8", errors="replace"))


def _check(error: Any) -> None:
    if error:
        raise ComponentFailed(str(wasmtime.WasmtimeError._from_ptr(error)))
