"""The `Actor` registry: which function handles which action and hook, and the errors they raise.

An actor module makes one `Actor` and decorates its functions. An action is called as
`fn(ctx, *args)` with the turn's arguments; before the call, the arguments are bound to the
function's signature and checked against simple annotations (`int`, `float`, `str`, `bytes`,
`bool`, `list[...]`, `dict[str, ...]`, `X | None`; other annotations are not checked). A mismatch
answers the error `bad_args` with the function's signature as message, e.g. `increment(n: int)`,
or with the message given as `bad_args=`. An `int` parameter refuses `bool`; `float` accepts `int`.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

ERROR_CODE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_UNIONS = (typing.Union, types.UnionType)
_EXACT = (int, bool, str, bytes, list, dict)
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class ActorError(Exception):
    """Raised in an action: the reply is the error {code, message}; the turn's writes commit."""

    def __init__(self, code: str, message: str) -> None:
        if not isinstance(code, str) or not ERROR_CODE.fullmatch(code):
            raise ValueError(f"ActorError code {code!r} must match {ERROR_CODE.pattern}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = str(message)


class Refuse(Exception):
    """Raised in on_connect: the connection is refused with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = str(reason)


def matches(value: Any, hint: Any) -> bool:
    """Whether `value` (decoded CBOR) fits the annotation `hint`; unknown annotations fit all."""
    if hint is None or hint is types.NoneType:
        return value is None
    origin = typing.get_origin(hint)
    if origin in _UNIONS:
        return any(matches(value, option) for option in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return type(value) is list and all(matches(v, item) for v in value)
    if origin is dict:
        item = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        return type(value) is dict and all(matches(v, item) for v in value.values())
    if hint is float:
        return type(value) in (int, float)
    if hint in _EXACT:
        return type(value) is hint
    return True


class Action:
    """One action: its function, and the argument check made before each call."""

    def __init__(self, name: str, fn: Callable[..., Any], bad_args: str | None) -> None:
        try:
            self.signature = inspect.signature(fn, eval_str=True)
        except (NameError, TypeError, ValueError) as error:
            raise TypeError(f"cannot read the signature of action {name!r}: {error}") from error
        params = list(self.signature.parameters.values())
        if not params or params[0].kind not in _POSITIONAL:
            raise TypeError(f"action {name!r} must take the Context as its first argument")
        self.name = name
        self.fn = fn
        self.usage = bad_args or f"{name}({', '.join(str(p) for p in params[1:])})"

    def __call__(self, ctx: object, args: list[Any]) -> Any:
        """The action's reply; raises ActorError("bad_args", ...) for arguments that do not fit."""
        try:
            bound = self.signature.bind(ctx, *args)
        except TypeError:
            raise ActorError("bad_args", self.usage) from None
        given = list(bound.arguments.items())[1:]  # the first is the Context
        if not all(self._fits(name, value) for name, value in given):
            raise ActorError("bad_args", self.usage)
        return self.fn(ctx, *args)

    def _fits(self, name: str, value: Any) -> bool:
        param = self.signature.parameters[name]
        if param.kind is param.VAR_POSITIONAL:
            return all(matches(item, param.annotation) for item in value)
        return matches(value, param.annotation)


class Actor:
    """The actions and hooks of one actor; a module defines exactly one, at top level."""

    def __init__(self, *, unknown_action_message: str | None = None) -> None:
        self.actions: dict[str, Action] = {}
        self.hooks: dict[str, Callable[..., Any]] = {}
        self._unknown_action_message = unknown_action_message

    def unknown_action_message(self, name: str) -> str:
        """The message of the `unknown_action` error answered to an action named `name`."""
        if self._unknown_action_message is not None:
            return self._unknown_action_message
        known = ", ".join(self.actions) or "none"
        return f"no action {name!r}; this actor's actions: {known}"

    @overload
    def action(self, fn: F, /) -> F: ...

    @overload
    def action(
        self, name: str | None = None, /, *, bad_args: str | None = None
    ) -> Callable[[F], F]: ...

    def action(
        self, fn_or_name: F | str | None = None, /, *, bad_args: str | None = None
    ) -> F | Callable[[F], F]:
        """Register an action: `@actor.action`, `@actor.action("name")`, `bad_args="usage"`."""
        if callable(fn_or_name):
            return self._add_action(fn_or_name.__name__, fn_or_name, None)
        name = fn_or_name

        def decorate(fn: F) -> F:
            return self._add_action(name or fn.__name__, fn, bad_args)

        return decorate

    def _add_action(self, name: str, fn: F, bad_args: str | None) -> F:
        if not isinstance(name, str) or not name:
            raise ValueError(f"an action name must be a non-empty str, not {name!r}")
        if name in self.actions:
            raise ValueError(f"action {name!r} is defined twice")
        self.actions[name] = Action(name, fn, bad_args)
        return fn

    def on_create(self, fn: F) -> F:
        """`fn(ctx, input)`: once in the actor's life, before any other turn."""
        return self._add_hook("create", fn)

    def on_wake(self, fn: F) -> F:
        """`fn(ctx)`: when a sleeping actor is activated again."""
        return self._add_hook("wake", fn)

    def on_connect(self, fn: F) -> F:
        """`fn(ctx, params)`: a client connects as `ctx.conn`; raise Refuse(reason) to refuse."""
        return self._add_hook("connect", fn)

    def on_disconnect(self, fn: F) -> F:
        """`fn(ctx)`: the connection `ctx.conn` closed."""
        return self._add_hook("disconnect", fn)

    def on_alarm(self, fn: F) -> F:
        """`fn(ctx, name, payload)`: an alarm set with ctx.set_alarm is due."""
        return self._add_hook("alarm", fn)

    def _add_hook(self, kind: str, fn: F) -> F:
        if kind in self.hooks:
            raise ValueError(f"on_{kind} is defined twice")
        self.hooks[kind] = fn
        return fn


def find_actor(module: types.ModuleType) -> Actor:
    """The one Actor among the globals of `module`; TypeError when there is none or several."""
    found = {id(value): value for value in vars(module).values() if isinstance(value, Actor)}
    if len(found) != 1:
        raise TypeError(
            f"module {module.__name__} must define exactly one Actor at top level "
            f"(like `actor = Actor()`), found {len(found)}"
        )
    return next(iter(found.values()))
