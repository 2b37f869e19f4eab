"""The component's side of the WIT world `actor` (guest-sdk/python/wit/edgewise.wit).

The only module that imports the bindings componentize-py generates (`wit_world`,
`componentize_py_types`), so everything else runs in plain CPython. `WitHost` puts the `host`
interface behind `Host`, turning its err codes into KvError. `world_for(module)` returns the
class the build's entry module exports as `WitWorld`: its `turn` runs `run_turn` and turns a
Fault into the world's `fault` variant (`uncaught` or `out-of-memory`).
"""

from __future__ import annotations

import types

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import host as wit_host  # type: ignore[import-not-found]

from .actor import find_actor
from .host import kv_error
from .turn import OutOfMemoryFault, UncaughtFault, run_turn


class WitHost:
    """`Host` over the component's imports."""

    def kv_get(self, key: bytes) -> bytes | None:
        try:
            value: bytes | None = wit_host.kv_get(key)
        except Err as err:
            raise kv_error(err.value, key) from None
        return value

    def kv_put(self, key: bytes, value: bytes) -> None:
        try:
            wit_host.kv_put(key, value)
        except Err as err:
            raise kv_error(err.value, key, value) from None

    def kv_delete(self, key: bytes) -> None:
        try:
            wit_host.kv_delete(key)
        except Err as err:
            raise kv_error(err.value, key) from None

    def kv_list(self, prefix: bytes, start_after: bytes, limit: int) -> bytes:
        try:
            page: bytes = wit_host.kv_list(prefix, start_after, limit)
        except Err as err:
            raise kv_error(err.value, start_after or prefix) from None
        return page

    def log(self, level: int, text: str) -> None:
        wit_host.log(level, text)

    def random(self, size: int) -> bytes:
        data: bytes = wit_host.random(size)
        return data


def world_for(module: types.ModuleType) -> type:
    """The `WitWorld` class for the actor module `module` (which defines exactly one Actor)."""
    actor = find_actor(module)
    host = WitHost()

    class ActorWorld:
        def turn(self, envelope: bytes) -> bytes:
            try:
                return run_turn(actor, envelope, host)
            except OutOfMemoryFault as fault:
                raise Err(wit_world.Fault_OutOfMemory(str(fault))) from None
            except UncaughtFault as fault:
                raise Err(wit_world.Fault_Uncaught(str(fault))) from None

    return ActorWorld
