"""The wasmtime sandbox: one Engine per process, compiled modules cached by digest, and turns
run over the fast call path (see ``docs/internals.md`` and ``guest-sdk/abi/v1/spec.md``).

``Sandbox(limits, cache_dir).load(wasm)`` gives a ``GuestModule``: a core module (C, Zig) or a
component (Python); ``instantiate()`` gives a ``GuestInstance`` whose
``run_turn(envelope, host, log)`` runs one turn against a ``TurnHost``. Nothing above the sandbox
needs to know which kind it runs.
"""

from edgewise.host.sandbox.cache import Module, Sandbox
from edgewise.host.sandbox.component import ComponentInstance, ComponentModule
from edgewise.host.sandbox.imports import TurnHost
from edgewise.host.sandbox.instance import Instance

GuestModule = Module | ComponentModule
GuestInstance = Instance | ComponentInstance

__all__ = ["GuestInstance", "GuestModule", "Instance", "Module", "Sandbox", "TurnHost"]
