"""Validation of HTTP request bodies and query parameters into frozen request dataclasses.

Each ``parse_*`` function takes an already decoded body (or query values) and either returns a
request or raises a client fault whose message names the offending field. Actor keys are checked
by the node's own rule (``actors.keys.validate_key``: 1 to ``max_actor_key_parts`` non-empty
strings within ``max_actor_key_bytes``, else ``actor.key_invalid``); names and action arguments
by the same helpers as WebSocket frames (``messages.parse_name``, ``messages.parse_args``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edgewise.host.actors.keys import ACTOR_ID, MAX_LIST_LIMIT, validate_key
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import ActorKeyInvalid, ActorNotFound, RequestInvalid
from edgewise.host.protocol.messages import parse_args, parse_name

DEFAULT_LIST_LIMIT = 100


@dataclass(frozen=True)
class PutActorRequest:
    name: str
    key: tuple[str, ...]
    input: Any = None


@dataclass(frozen=True)
class ActionRequest:
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ListActorsRequest:
    name: str | None
    after: str | None
    limit: int


@dataclass(frozen=True)
class GatewayRequest:
    name: str
    key: tuple[str, ...]
    create: bool


def parse_actor_id(value: str) -> str:
    """Actor ids are 32 lowercase hex characters; anything else names no actor."""
    if ACTOR_ID.fullmatch(value) is None:
        raise ActorNotFound(f"no actor with id {value[:64]!r}")
    return value


def _require_map(body: object, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise RequestInvalid("body must be a map")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise RequestInvalid(f"body has unknown field {str(unknown[0])[:64]!r}")
    return body


_PUT_FIELDS = frozenset({"name", "key", "input"})
_ACTION_FIELDS = frozenset({"args"})


def parse_put_actor(body: object, limits: LimitsConfig) -> PutActorRequest:
    fields = _require_map(body, _PUT_FIELDS)
    if "key" not in fields:
        raise ActorKeyInvalid("key is required")
    return PutActorRequest(
        name=parse_name(fields.get("name")),
        key=validate_key(fields["key"], limits),
        input=fields.get("input"),
    )


def parse_action(body: object) -> ActionRequest:
    """``{"args": [...]}``; a missing body or missing ``args`` means no arguments."""
    if body is None:
        return ActionRequest()
    fields = _require_map(body, _ACTION_FIELDS)
    return ActionRequest(args=parse_args(fields.get("args", [])))


def _single(query: Mapping[str, Sequence[str]], field: str) -> str | None:
    values = query.get(field, ())
    if len(values) > 1:
        raise RequestInvalid(f"query parameter {field} given more than once")
    return values[0] if values else None


def _parse_bool(value: str | None, field: str, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise RequestInvalid(f"{field} must be true or false, got {value[:16]!r}")


def _parse_after(value: str | None) -> str | None:
    if not value:
        return None
    if ACTOR_ID.fullmatch(value) is None:
        raise RequestInvalid("after must be an actor id (32 lowercase hex characters)")
    return value


def parse_list_actors(query: Mapping[str, Sequence[str]]) -> ListActorsRequest:
    name = _single(query, "name")
    after = _single(query, "after")
    raw_limit = _single(query, "limit")
    limit = DEFAULT_LIST_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
            raise RequestInvalid(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
        limit = int(raw_limit)
    return ListActorsRequest(
        name=None if name is None else parse_name(name),
        after=_parse_after(after),
        limit=limit,
    )


def parse_gateway(
    name: str, query: Mapping[str, Sequence[str]], limits: LimitsConfig
) -> GatewayRequest:
    return GatewayRequest(
        name=parse_name(name),
        key=validate_key(list(query.get("key", ())), limits),
        create=_parse_bool(_single(query, "create"), "create", True),
    )


@dataclass(frozen=True)
class DeployRequest:
    """``POST /v1/modules?name=N[&language=L][&action=A...]``: what the builder knew of it."""

    name: str
    language: str = "unknown"
    actions: tuple[str, ...] | None = None


MAX_REGION_CHARS = 32
LANGUAGE = re.compile(r"[a-z][a-z0-9_+-]{0,31}")
ACTION = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
MAX_ACTIONS = 256


def parse_deploy(query: Mapping[str, Sequence[str]]) -> DeployRequest:
    name = parse_name(_single(query, "name"))
    language = _single(query, "language") or "unknown"
    if not LANGUAGE.fullmatch(language):
        raise RequestInvalid(f"language {language!r} must match {LANGUAGE.pattern}")
    listed = query.get("action")
    if listed is None:
        return DeployRequest(name, language)
    if len(listed) > MAX_ACTIONS:
        raise RequestInvalid(f"at most {MAX_ACTIONS} actions may be listed")
    for action in listed:
        if not ACTION.fullmatch(action):
            raise RequestInvalid(f"action name {action!r} must match {ACTION.pattern}")
    return DeployRequest(name, language, tuple(listed))


def parse_migrate(body: object) -> str:
    """``{"to": REGION}``: the region to move an actor to."""
    if not isinstance(body, dict) or set(body) != {"to"}:
        raise RequestInvalid('the body must be {"to": REGION}')
    region = body["to"]
    if not isinstance(region, str) or not region or len(region) > MAX_REGION_CHARS:
        raise RequestInvalid(f"to must be a region name of 1 to {MAX_REGION_CHARS} characters")
    return region
