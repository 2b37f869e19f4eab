"""Components (Python guests): the same ``instantiate`` / ``run_turn`` as core modules.

A component speaks the WIT world ``edgewise:actor/actor@1.0.0`` (``guest-sdk/python/wit``,
spec section 7): one ``turn`` export taking the CBOR envelope and returning the CBOR result, and
the host interface of spec section 3. It also imports WASI 0.2, which the Linker provides with
nothing granted: no preopened directories, environment, arguments or network; standard output and
error are discarded (a guest logs through the host's ``log``).

``check_world`` refuses, at deploy, a component that lacks ``turn`` or imports anything beyond the
host interface and WASI. A turn's failures map to the same GuestFaults as for core modules: an
epoch interrupt is ``guest.timeout``; any other trap ``guest.trapped``; the guest's own
``out-of-memory`` fault ``guest.out_of_memory`` and its ``uncaught`` fault ``guest.trapped``
(the exception's text goes to the node's log, not to the caller); wasmtime's bound on the data
one call copies across the boundary (a few MiB) is ``guest.too_large``. Bytes cross the boundary
at about 50 ns per byte (wasmtime's C API holds each byte as one 32-byte value), inside the turn's
CPU deadline. After any failure inside the guest the instance is closed and must be replaced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import (
    EdgewiseError,
    GuestFault,
    GuestOutOfMemory,
    GuestTooLarge,
    GuestTrapped,
    HostFault,
    ModuleInvalid,
)
from edgewise.host.sandbox.abi import TurnEnvelope, TurnResult
from edgewise.host.sandbox.component_call import (
    HOST_INTERFACE,
    TURN_EXPORT,
    ComponentCall,
    ComponentFailed,
    GuestFaulted,
    define_component_imports,
)
from edgewise.host.sandbox.engine import shared_engine
from edgewise.host.sandbox.guest_store import GuestStore
from edgewise.host.sandbox.imports import COMPONENT_IMPORTS, TurnContext, TurnHost
from wasmtime.component import (
    U8,
    Component,
    FuncType,
    Linker,
    ListType,
    ResultType,
    VariantType,
)

COMPONENT_MAGIC = b"\x00asm\x0d\x00\x01\x00"
WASI_PREFIX = "wasi:"
FAULT_CASES = frozenset({"out-of-memory", "uncaught"})
# wasmtime bounds the values copied across the component boundary in one call ("hostcall fuel")
COPY_LIMIT_TEXT = "too much data is being copied between the host and the guest"
_log = logging.getLogger(__name__)
_lock = threading.Lock()
_linker: Linker | None = None


def shared_linker() -> Linker:
    """The process-wide component Linker: WASI 0.2 plus the host interface, defined once."""
    global _linker
    with _lock:
        if _linker is None:
            linker = Linker(shared_engine())
            linker.add_wasip2()
            define_component_imports(linker, COMPONENT_IMPORTS)
            _linker = linker
        return _linker


def check_world(component: Component) -> None:
    """Raise ModuleInvalid unless ``component`` exports ``turn`` with the world's type and imports
    nothing beyond the host interface and WASI."""
    engine = shared_engine()
    kind = component.type
    for name in kind.imports(engine):
        if name != HOST_INTERFACE and not name.startswith(WASI_PREFIX):
            raise ModuleInvalid(f"component imports {name!r}, which the host does not provide")
    turn = kind.exports(engine).get(TURN_EXPORT)
    if turn is None or not _is_turn(turn.ty):
        raise ModuleInvalid(
            f"component does not export {TURN_EXPORT!r} as the world edgewise:actor/actor@1.0.0 "
            "does: func(envelope: list<u8>) -> result<list<u8>, fault>"
        )


def _is_turn(ty: object) -> bool:
    if not isinstance(ty, FuncType) or len(ty.params) != 1:
        return False
    result = ty.result
    return (
        _is_bytes(ty.params[0][1])
        and isinstance(result, ResultType)
        and _is_bytes(result.ok)
        and isinstance(result.err, VariantType)
        and {name for name, _ in result.err.cases} == FAULT_CASES
    )


def _is_bytes(ty: object) -> bool:
    return isinstance(ty, ListType) and isinstance(ty.element, U8)


class ComponentModule:
    """A compiled component; ``instantiate`` gives a ComponentInstance."""

    def __init__(self, digest: str, component: Component, limits: LimitsConfig) -> None:
        self.digest = digest
        self._component = component
        self._limits = limits

    def instantiate(self) -> ComponentInstance:
        """A fresh instance in its own Store; raises a GuestFault if it cannot start."""
        return ComponentInstance(self._component, self._limits)


class ComponentInstance(GuestStore):
    """One component instance in its own Store; context manager, ``close()`` idempotent."""

    def __init__(self, component: Component, limits: LimitsConfig) -> None:
        super().__init__(limits)
        store = self._store
        assert store is not None
        store.set_wasi(wasmtime.WasiConfig())
        try:
            instance = shared_linker().instantiate(store, component)
            func = instance.get_func(store, TURN_EXPORT)
        except wasmtime.WasmtimeError as exc:
            self.close()
            raise self._instantiation_fault(str(exc)) from None
        if func is None:
            self.close()
            raise GuestTrapped(f"component has no export {TURN_EXPORT!r}")
        self._call = ComponentCall(store, func)

    def run_turn(
        self, envelope: TurnEnvelope, host: TurnHost, log: Callable[[int, str], None]
    ) -> TurnResult:
        """Run one turn; raises a GuestFault (and closes this instance) if the guest fails."""
        store = self._store
        if store is None:
            raise ValueError("instance is closed")
        data = envelope.encode()
        call = self._call
        call.turn = TurnContext(host, log, self._limits)
        try:
            store.set_epoch_deadline(self._deadline)
            answer = call.call_turn(data)
            return TurnResult.decode(self._result_bytes(answer, log))
        except ComponentFailed as exc:
            fault: EdgewiseError = self._trap_fault(str(exc))
        except EdgewiseError as exc:
            fault = exc
        except Exception as exc:
            self.close()
            raise HostFault(f"a host import failed: {type(exc).__name__}") from exc
        finally:
            call.turn = None
        self.close()
        raise fault

    def _result_bytes(self, answer: bytes | GuestFaulted, log: Callable[[int, str], None]) -> bytes:
        if isinstance(answer, GuestFaulted):
            raise _guest_fault(answer, self._limits, log)
        self._check_result_size(len(answer))
        return answer

    def _instantiation_fault(self, message: str) -> GuestFault:
        if "exceeds memory limits" in message:
            return self._memory_too_small("component")
        return self._trap_fault(message, during="component could not be instantiated")

    def _trap_fault(self, message: str, during: str = "guest trapped") -> GuestFault:
        """Map wasmtime's error text (its last line names the trap) to a GuestFault."""
        cause = _trap_cause(message)
        if COPY_LIMIT_TEXT in cause:
            return GuestTooLarge(
                f"the guest moved more data across the host boundary than wasmtime allows ({cause})"
            )
        if cause == "interrupt":
            return self._turn_timeout()
        return GuestTrapped(f"{during}: {cause}")


def _guest_fault(
    answer: GuestFaulted, limits: LimitsConfig, log: Callable[[int, str], None]
) -> GuestFault:
    if answer.kind == "out-of-memory":
        return GuestOutOfMemory(
            f"guest ran out of memory (max_memory_bytes is {limits.max_memory_bytes})"
        )
    log(3, f"uncaught exception: {answer.detail[:4096]}")
    name = answer.detail.split(":", 1)[0].strip()[:80]
    return GuestTrapped(f"guest raised an uncaught exception ({name or 'unknown'})")


def _trap_cause(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "unknown failure"
    return last.removeprefix("wasm trap:").strip()[:200]
