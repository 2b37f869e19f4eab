"""The sandbox: validated, compiled and pre-linked modules, cached by digest.

``Sandbox.load(wasm)`` checks the bytes (wasm magic, size, guest ABI v1 via
``edgewise.host.manifest.abi_problems``), then finds the compiled module: in memory, else
``cache_dir/<sha256>.cwasm`` (``Module.deserialize_file``, an mmap), else it compiles and writes
that file atomically. A cache file wasmtime refuses (corrupt, other wasmtime version) is replaced
by a fresh compile. The compiled module is pre-linked against the ``ew`` host imports (defined once
per Sandbox on the fast path) into an ``InstancePre``, so ``Module.instantiate`` only makes a Store.
Every failure of the bytes is ``ModuleInvalid`` (``module.invalid``).

Components (Python guests, ``component.py``) take the same road with their own magic: compiling one
takes seconds (an 18 MB Python component about 6-10 s), so a compiled component is also kept for
the process (``_COMPONENTS``, the ``SHARED_COMPONENTS`` most recently loaded): a second node in
the same process, or a redeploy, reuses it without a compile.
Loading one checks its world and instantiates it once, so a component that cannot run is refused
at deploy, not at its first call.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import GuestFault, ModuleInvalid
from edgewise.host.manifest import abi_problems
from edgewise.host.sandbox.component import (
    COMPONENT_MAGIC,
    ComponentInstance,
    ComponentModule,
    check_world,
)
from edgewise.host.sandbox.engine import shared_engine
from edgewise.host.sandbox.fastcall import define_imports
from edgewise.host.sandbox.imports import HOST_IMPORTS
from edgewise.host.sandbox.instance import Instance
from wasmtime.component import Component

WASM_MAGIC = b"\x00asm\x01\x00\x00\x00"
_log = logging.getLogger(__name__)
SHARED_COMPONENTS = 8
_COMPONENTS: OrderedDict[str, Component] = OrderedDict()
_components_lock = threading.Lock()


class Module:
    """A compiled, pre-linked module; ``instantiate`` is cheap."""

    def __init__(self, digest: str, pre: wasmtime.InstancePre, limits: LimitsConfig) -> None:
        self.digest = digest
        self._pre = pre
        self._limits = limits

    def instantiate(self) -> Instance:
        """A fresh instance in its own Store; raises a GuestFault if the module cannot start."""
        return Instance(self._pre, self._limits)


class Sandbox:
    """Loads modules for one node; context manager, ``close()`` idempotent."""

    def __init__(self, limits: LimitsConfig, cache_dir: Path) -> None:
        self._limits = limits
        self._cache_dir = cache_dir
        self._engine = shared_engine()
        self._linker: wasmtime.Linker | None = wasmtime.Linker(self._engine)
        define_imports(self._linker, HOST_IMPORTS)
        self._modules: dict[str, Module | ComponentModule] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            linker, self._linker = self._linker, None
            self._modules.clear()
        if linker is not None:
            linker.close()

    def load(self, wasm: bytes) -> Module | ComponentModule:
        """Validate, compile (or fetch from the cache) and pre-link ``wasm``."""
        self._check_bytes(wasm)
        digest = hashlib.sha256(wasm).hexdigest()
        with self._lock:
            if self._linker is None:
                raise ValueError("sandbox is closed")
            module = self._modules.get(digest)
            if module is None and bytes(wasm[:8]) == COMPONENT_MAGIC:
                module = self._modules[digest] = self._load_component(wasm, digest)
            elif module is None:
                problems = abi_problems(wasm)
                if problems:
                    raise ModuleInvalid(
                        "module does not satisfy guest ABI v1: " + "; ".join(problems)
                    )
                compiled = self._compiled(wasm, digest)
                try:
                    pre = self._linker.instantiate_pre(compiled)
                except wasmtime.WasmtimeError as exc:
                    raise ModuleInvalid(f"module cannot be linked: {_first_line(exc)}") from None
                module = self._modules[digest] = Module(digest, pre, self._limits)
            return module

    def _check_bytes(self, wasm: bytes) -> None:
        if not isinstance(wasm, bytes | bytearray | memoryview):
            raise ModuleInvalid("module must be bytes")
        if len(wasm) > self._limits.max_module_bytes:
            raise ModuleInvalid(
                f"module is {len(wasm)} bytes, limit is {self._limits.max_module_bytes}"
            )
        if bytes(wasm[:8]) not in (WASM_MAGIC, COMPONENT_MAGIC):
            raise ModuleInvalid("not a WebAssembly module or component (bad magic or version)")

    def _load_component(self, wasm: bytes, digest: str) -> ComponentModule:
        with _components_lock:
            component = _COMPONENTS.get(digest)
            if component is not None:
                _COMPONENTS.move_to_end(digest)
            else:
                component = self._compiled_component(wasm, digest)
                check_world(component)
                _COMPONENTS[digest] = component
                if len(_COMPONENTS) > SHARED_COMPONENTS:
                    _COMPONENTS.popitem(last=False)
        try:
            ComponentInstance(component, self._limits).close()
        except GuestFault as exc:
            raise ModuleInvalid(f"component cannot start: {exc.message}") from None
        return ComponentModule(digest, component, self._limits)

    def _compiled_component(self, wasm: bytes, digest: str) -> Component:
        path = self._cache_dir / f"{digest}.cwasm"
        if path.exists():
            try:
                return Component.deserialize_file(self._engine, str(path))
            except wasmtime.WasmtimeError:
                _log.warning("component cache file %s is unusable; recompiling", path.name)
        _log.info(
            "compiling a %.1f MB component (%s): this takes seconds, once per module",
            len(wasm) / 1e6,
            digest[:12],
        )
        try:
            compiled = Component(self._engine, bytes(wasm))
        except wasmtime.WasmtimeError as exc:
            raise ModuleInvalid(f"component does not compile: {_first_line(exc)}") from None
        self._store_cache(path, compiled)
        return compiled

    def _compiled(self, wasm: bytes, digest: str) -> wasmtime.Module:
        path = self._cache_dir / f"{digest}.cwasm"
        if path.exists():
            try:
                return wasmtime.Module.deserialize_file(self._engine, str(path))
            except wasmtime.WasmtimeError:
                _log.warning("module cache file %s is unusable; recompiling", path.name)
        try:
            compiled = wasmtime.Module(self._engine, bytes(wasm))
        except wasmtime.WasmtimeError as exc:
            raise ModuleInvalid(f"module does not compile: {_first_line(exc)}") from None
        self._store_cache(path, compiled)
        return compiled

    def _store_cache(self, path: Path, compiled: wasmtime.Module | Component) -> None:
        try:
            write_atomically(path, compiled.serialize(), durable=False)
        except OSError as exc:
            _log.warning("cannot write module cache file %s: %s", path.name, exc.strerror)


def write_atomically(path: Path, data: bytes | bytearray, *, durable: bool) -> None:
    """Write ``path`` through a temporary file renamed over it: a reader sees the old file or
    all of the new one. ``durable`` also fsyncs the data before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
