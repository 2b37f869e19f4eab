"""One live actor instance: its own wasmtime Store, and the turn it runs.

A turn is one export call: ``ew_alloc(len)``, the envelope copied in, the epoch deadline set,
``ew_turn(ptr, len)``, the packed i64 ``(ptr << 32) | len`` unpacked, bounds-checked and copied
out, then ``TurnResult.decode``. Everything that can go wrong is mapped to a ``GuestFault``:
an epoch interrupt is ``guest.timeout``; a trap, bad pointer or bad result while linear memory is
within one growth step (``oom_margin``) of ``max_memory_bytes`` (or ``ew_alloc`` returning 0) is
``guest.out_of_memory``; other traps are ``guest.trapped``. Messages name the trap code, never a
host path. After any failure inside the guest the instance is closed and must be replaced.

``run_turn`` may be called from any thread (wasm runs with the GIL released), but one instance
must never run two turns at once: that is the caller's promise.
"""

from __future__ import annotations

from collections.abc import Callable

import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import (
    EdgewiseError,
    GuestBadPointer,
    GuestBadResult,
    GuestFault,
    GuestOutOfMemory,
    GuestTimeout,
    GuestTrapped,
    HostFault,
)
from edgewise.host.sandbox.abi import TurnEnvelope, TurnResult
from edgewise.host.sandbox.fastcall import U32, CallTrapped, GuestCall
from edgewise.host.sandbox.guest_store import GuestStore
from edgewise.host.sandbox.imports import TurnContext, TurnHost

WASM_PAGE_BYTES = 65536


def oom_margin(max_memory_bytes: int) -> int:
    """How close to the limit memory must be for a failure to count as out of memory."""
    return max(WASM_PAGE_BYTES, max_memory_bytes // 16)


class Instance(GuestStore):
    """A module instantiated in a fresh Store under ``limits``; context manager."""

    def __init__(self, pre: wasmtime.InstancePre, limits: LimitsConfig) -> None:
        super().__init__(limits)
        assert self._store is not None
        try:
            self._call = GuestCall(pre, self._store)
        except CallTrapped as exc:
            self.close()
            raise self._instantiation_fault(exc) from None

    def run_turn(
        self, envelope: TurnEnvelope, host: TurnHost, log: Callable[[int, str], None]
    ) -> TurnResult:
        """Run one turn; raises a GuestFault (and closes this instance) if the guest fails."""
        if self._store is None:
            raise ValueError("instance is closed")
        data = envelope.encode()
        try:
            return TurnResult.decode(self._exchange(data, TurnContext(host, log, self._limits)))
        except CallTrapped as exc:
            fault: EdgewiseError = self._trap_fault(exc)
        except (GuestBadPointer, GuestBadResult) as exc:
            fault = self._out_of_memory("guest failed", exc.message) or exc
        except EdgewiseError as exc:
            fault = exc
        except Exception as exc:
            self.close()
            raise HostFault(f"a host import failed: {type(exc).__name__}") from exc
        self.close()
        raise fault

    def _exchange(self, data: bytes, turn: TurnContext) -> bytes:
        call = self._call
        call.turn = turn
        try:
            call.set_deadline(self._deadline)
            ptr = call.call_alloc(len(data))
            if ptr == 0:
                raise GuestOutOfMemory(f"ew_alloc returned 0 for a {len(data)}-byte envelope")
            call.write(ptr, data, "ew_alloc result")
            packed = call.call_turn(ptr, len(data))
        finally:
            call.turn = None
        result_ptr, result_len = packed >> 32, packed & U32
        self._check_result_size(result_len)
        return call.read(result_ptr, result_len, "turn result")

    def _out_of_memory(self, what: str, detail: str) -> GuestOutOfMemory | None:
        limit = self._limits.max_memory_bytes
        size = self._call.memory_size
        if size + oom_margin(limit) <= limit:
            return None
        return GuestOutOfMemory(
            f"{what} ({detail}) with linear memory at {size} of {limit} bytes (max_memory_bytes)"
        )

    def _trap_fault(self, exc: CallTrapped) -> GuestFault:
        if exc.code is wasmtime.TrapCode.INTERRUPT:
            return self._turn_timeout()
        detail = _describe(exc)
        return self._out_of_memory("guest trapped", detail) or GuestTrapped(
            f"guest trapped: {detail}"
        )

    def _instantiation_fault(self, exc: CallTrapped) -> GuestFault:
        if exc.code is wasmtime.TrapCode.INTERRUPT:
            return GuestTimeout("module start ran past its CPU deadline (trap code interrupt)")
        if exc.code is None and "memory" in str(exc):
            return self._memory_too_small("module")
        return GuestTrapped(f"module could not be instantiated: {_describe(exc)}")


def _describe(exc: CallTrapped) -> str:
    if exc.code is None:
        return str(exc).splitlines()[0][:200] if str(exc) else "unknown failure"
    name = exc.code.name.lower()
    return f"{name.replace('_', ' ')} (trap code {name})"
