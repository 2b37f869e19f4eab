"""The wasmtime sandbox: one Engine per process, compiled modules cached by digest, and turns
run over the fast call path (see ``docs/internals.md`` and ``guest-sdk/abi/v1/spec.md``).

``Sandbox(limits, cache_dir).load(wasm)`` gives a ``Module``; ``Module.instantiate()`` gives an
``Instance`` whose ``run_turn(envelope, host, log)`` runs one turn against a ``TurnHost``.
"""

from edgewise.host.sandbox.cache import Module, Sandbox
from edgewise.host.sandbox.imports import TurnHost
from edgewise.host.sandbox.instance import Instance

__all__ = ["Instance", "Module", "Sandbox", "TurnHost"]
