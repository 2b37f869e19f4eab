"""One turn: envelope bytes in (spec section 2), result bytes out (section 4), or a Fault.

`run_turn` decodes the envelope, calls the actor's handler for its kind with a fresh Context,
saves `ctx.state` and encodes the result: for an action `ok` (the return value) or `error` (an
ActorError, or `unknown_action` for a name the actor lacks); for a connect `refuse` when
on_connect raised Refuse; then the effects the handler asked for. An envelope the SDK cannot
decode answers the error `bad_envelope`, like the C SDK. Any other exception is logged with its
traceback (level error) and becomes UncaughtFault("Type: message"); a MemoryError becomes
OutOfMemoryFault once the turn's objects are freed. The host drops a faulted turn's writes.
"""

from __future__ import annotations

import contextlib
import traceback
from dataclasses import dataclass
from typing import Any

from . import cbor
from .actor import Actor, ActorError, Refuse
from .context import Context
from .host import LOG_ERROR, Host

KINDS = frozenset({"create", "wake", "action", "connect", "disconnect", "alarm"})
BAD_ENVELOPE = {
    "error": {"code": "bad_envelope", "message": "the SDK could not decode the turn envelope"}
}
_MISSING: Any = object()


class Fault(Exception):
    """The turn ends as a fault: the caller gets an error and the turn's writes are dropped."""


class UncaughtFault(Fault):
    """An exception no handler caught (the host answers guest.trapped)."""


class OutOfMemoryFault(Fault):
    """The guest ran out of memory (the host answers guest.out_of_memory)."""


@dataclass(frozen=True)
class Envelope:
    kind: str
    actor_id: str
    name: str
    key: tuple[str, ...]
    now_ms: int
    conn: int | None
    action: str
    args: list[Any]
    alarm: str
    input: Any
    params: Any
    payload: Any


def _field(fields: dict[str, Any], name: str, kind: type, default: Any = _MISSING) -> Any:
    """fields[name], which must be of type `kind`; `default` when absent, if one is given."""
    if name not in fields and default is not _MISSING:
        return default
    value = fields.get(name)
    if type(value) is not kind:
        raise cbor.CborError(f"envelope field {name!r} is missing or not a {kind.__name__}")
    return value


def _uint(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise cbor.CborError(f"envelope field {name!r} is not an unsigned integer")
    return value


def parse_envelope(data: bytes) -> Envelope:
    """The envelope of spec section 2; CborError when `data` is not one."""
    fields = cbor.decode(data)
    if not isinstance(fields, dict):
        raise cbor.CborError("the envelope is not a map")
    kind = _field(fields, "kind", str)
    if kind not in KINDS:
        raise cbor.CborError(f"unknown turn kind {kind!r}")
    actor = _field(fields, "actor", dict)
    key = _field(actor, "key", list)
    if not all(type(part) is str for part in key):
        raise cbor.CborError("the actor's key is not a list of text")
    conn = fields.get("conn")
    return Envelope(
        kind=kind,
        actor_id=_field(actor, "id", str),
        name=_field(actor, "name", str),
        key=tuple(key),
        now_ms=_uint(fields.get("now_ms"), "now_ms"),
        conn=None if conn is None else _uint(conn, "conn"),
        action=_field(fields, "action", str) if kind == "action" else "",
        args=_field(fields, "args", list, []),
        alarm=_field(fields, "alarm", str) if kind == "alarm" else "",
        input=fields.get("input"),
        params=fields.get("params"),
        payload=fields.get("payload"),
    )


def run_turn(actor: Actor, data: bytes, host: Host) -> bytes:
    """The CBOR turn result for the envelope `data`; raises UncaughtFault or OutOfMemoryFault."""
    with contextlib.suppress(MemoryError):  # leaving the block frees the frames the error held
        return _turn(actor, data, host)
    raise OutOfMemoryFault("MemoryError: the actor ran out of memory")


def _turn(actor: Actor, data: bytes, host: Host) -> bytes:
    try:
        env = parse_envelope(data)
    except cbor.CborError:
        return cbor.encode(BAD_ENVELOPE)
    ctx = Context(
        host, actor_id=env.actor_id, name=env.name, key=env.key, now_ms=env.now_ms, conn=env.conn
    )
    try:
        reply = _dispatch(actor, env, ctx)
        ctx.flush_state()
        return cbor.encode(reply | ctx.result_fields())
    except MemoryError:
        raise
    except Exception as error:
        _log_uncaught(host, env, error)
        raise UncaughtFault(describe(error)) from None


def _dispatch(actor: Actor, env: Envelope, ctx: Context) -> dict[str, Any]:
    """The reply part of the result: `ok` or `error` for an action, `refuse` for a connect."""
    if env.kind == "action":
        return _action(actor, env, ctx)
    hook = actor.hooks.get(env.kind)
    if hook is None:
        return {}
    if env.kind == "connect":
        try:
            hook(ctx, env.params)
        except Refuse as refusal:
            return {"refuse": refusal.reason}
    elif env.kind == "create":
        hook(ctx, env.input)
    elif env.kind == "alarm":
        hook(ctx, env.alarm, env.payload)
    else:
        hook(ctx)
    return {}


def _action(actor: Actor, env: Envelope, ctx: Context) -> dict[str, Any]:
    action = actor.actions.get(env.action)
    try:
        if action is None:
            raise ActorError("unknown_action", actor.unknown_action_message(env.action))
        return {"ok": action(ctx, env.args)}
    except ActorError as error:
        return {"error": {"code": error.code, "message": error.message}}


def describe(error: BaseException) -> str:
    """`Type: message`, or `Type` alone for an exception without a message."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _log_uncaught(host: Host, env: Envelope, error: Exception) -> None:
    where = f"action {env.action!r}" if env.kind == "action" else f"on_{env.kind}"
    trace = "".join(traceback.format_exception(error)).rstrip()
    host.log(LOG_ERROR, f"uncaught exception in {where}:\n{trace}")
