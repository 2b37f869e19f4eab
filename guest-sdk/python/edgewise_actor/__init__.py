"""Edgewise guest SDK for Python: write an actor as decorated functions.

    from edgewise_actor import Actor, Context

    actor = Actor()

    @actor.action
    def add(ctx: Context, n: int) -> int:
        ctx.state["total"] = ctx.state.get("total", 0) + n
        return ctx.state["total"]

`Actor` (actor.py) registers actions and hooks; `Context` (context.py) is a handler's view of its
turn; `run_turn` (turn.py) runs one turn against a `Host` (host.py); `world.world_for` binds an
actor module to the component's WIT world. `memory_host.MemoryHost` runs actors in tests (not
imported here, to keep it out of the component's memory).
"""

from .actor import Actor, ActorError, Refuse
from .cbor import CborError
from .context import STATE_KEY, Context, Kv, Log
from .host import Host, KvError
from .turn import Fault, OutOfMemoryFault, UncaughtFault, run_turn

__all__ = [
    "STATE_KEY",
    "Actor",
    "ActorError",
    "CborError",
    "Context",
    "Fault",
    "Host",
    "Kv",
    "KvError",
    "Log",
    "OutOfMemoryFault",
    "Refuse",
    "UncaughtFault",
    "run_turn",
]
