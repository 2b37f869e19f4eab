"""A counter: the count lives in ctx.state["count"]; every change is broadcast as newCount.

The Python twin of examples/counter/counter.c: the same replies, errors, events and alarms. The
count is an int64 that wraps around like the C counter's, and so does the alarm time.
"""

from typing import Any

from edgewise_actor import Actor, ActorError, Context

actor = Actor(unknown_action_message="counter has increment, get and increment_later")
LATER_USAGE = "increment_later(delay_ms: int >= 0, n: int)"


def int64(n: int) -> int:
    """`n` wrapped to a signed 64-bit integer, as C's int64_t arithmetic does."""
    return (n + 2**63) % 2**64 - 2**63


def add_to_count(ctx: Context, n: int) -> int:
    count = int64(ctx.state.get("count", 0) + n)
    ctx.state["count"] = count
    ctx.broadcast("newCount", count)
    return count


@actor.action
def increment(ctx: Context, n: int) -> int:
    return add_to_count(ctx, n)


@actor.action(bad_args="get() takes no arguments")
def get(ctx: Context) -> int:
    count: int = ctx.state.get("count", 0)
    return count


@actor.action(bad_args=LATER_USAGE)
def increment_later(ctx: Context, delay_ms: int, n: int) -> str:
    if delay_ms < 0:
        raise ActorError("bad_args", LATER_USAGE)
    # a unique name, so that several pending increments do not replace each other
    name = "increment_later/" + ctx.random(8).hex()
    ctx.set_alarm(name, at_ms=int64(ctx.now_ms + delay_ms), payload=n)
    return name


@actor.on_alarm
def on_alarm(ctx: Context, name: str, payload: Any) -> None:
    if type(payload) is int:
        add_to_count(ctx, payload)
    else:
        ctx.log.warn(name)
