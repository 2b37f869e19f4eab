"""A Python guest that misbehaves on request, for the hostile-guest tests (the twin of
tests/guests/hostile/hostile.c). Every misbehaviour first writes -1 to the state: that write must
never become visible, because a faulted turn's writes are dropped."""

from edgewise_actor import Actor, Context

actor = Actor()
HUGE_REPLY_BYTES = 6 * 1024 * 1024


@actor.action
def set(ctx: Context, n: int) -> int:
    ctx.state["n"] = n
    return n


@actor.action
def get(ctx: Context) -> int:
    n: int = ctx.state.get("n", 0)
    return n


@actor.action
def loop(ctx: Context) -> None:
    ctx.state["n"] = -1
    while True:
        pass


@actor.action
def hog(ctx: Context) -> None:
    ctx.state["n"] = -1
    kept = []
    while True:
        kept.append(bytearray(1024 * 1024))


def _down(depth: int) -> int:
    return _down(depth + 1) + 1


@actor.action
def recurse(ctx: Context) -> int:
    ctx.state["n"] = -1
    return _down(0)


@actor.action("raise")
def raise_(ctx: Context) -> None:
    ctx.state["n"] = -1
    raise KeyError("a bug in the actor")


@actor.action
def huge_reply(ctx: Context) -> bytes:
    ctx.state["n"] = -1
    return bytes(HUGE_REPLY_BYTES)
