"""Request validation: actor keys, names, action args, query parameters."""

from __future__ import annotations

import pytest
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import ActorKeyInvalid, ActorNotFound, RequestInvalid
from edgewise.host.protocol import requests as rq

LIMITS = LimitsConfig(max_actor_key_parts=3, max_actor_key_bytes=10)


def test_put_actor() -> None:
    request = rq.parse_put_actor({"name": "counter", "key": ["a", "b"], "input": {"x": 1}}, LIMITS)
    assert request == rq.PutActorRequest("counter", ("a", "b"), {"x": 1})
    with pytest.raises(ActorKeyInvalid, match="1 to 3 parts, got 0"):
        rq.parse_put_actor({"name": "c", "key": []}, LIMITS)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("abc", "must be a list"),
        (None, "must be a list"),
        (["a", 1], "part 1 must be a string"),
        (["a", ""], "part 1 must not be empty"),
        (["a", "b", "c", "d"], "1 to 3 parts, got 4"),
        (["abcdef", "ghijk"], "11 bytes"),
        (["üüüüüü"], "12 bytes"),
    ],
)
def test_bad_keys(key: object, words: str) -> None:
    with pytest.raises(ActorKeyInvalid) as info:
        rq.parse_put_actor({"name": "counter", "key": key}, LIMITS)
    assert info.value.code == "actor.key_invalid"
    assert words in info.value.message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([1, 2], "body must be a map"),
        (None, "body must be a map"),
        ({"name": "c", "key": [], "extra": 1}, "unknown field 'extra'"),
        ({"name": 5, "key": []}, "name must be a non-empty string"),
        ({"name": "", "key": []}, "name must be a non-empty string"),
        ({"name": "x" * 200, "key": []}, "at most 128"),
    ],
)
def test_bad_put_bodies(body: object, words: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        rq.parse_put_actor(body, LIMITS)
    assert words in info.value.message


def test_missing_key_is_a_key_error() -> None:
    with pytest.raises(ActorKeyInvalid, match="key is required"):
        rq.parse_put_actor({"name": "c"}, LIMITS)


def test_action_bodies() -> None:
    assert rq.parse_action(None) == rq.ActionRequest(())
    assert rq.parse_action({}) == rq.ActionRequest(())
    assert rq.parse_action({"args": [1, "a"]}).args == (1, "a")
    bad_bodies: list[object] = [{"args": 5}, {"args": {"a": 1}}, "args", {"argz": []}]
    for bad in bad_bodies:
        with pytest.raises(RequestInvalid):
            rq.parse_action(bad)


def test_actor_ids() -> None:
    good = "0123456789abcdef" * 2
    assert rq.parse_actor_id(good) == good
    for bad in ("", "xyz", good.upper(), good + "0", "../" + good[3:]):
        with pytest.raises(ActorNotFound):
            rq.parse_actor_id(bad)


def test_list_query() -> None:
    assert rq.parse_list_actors({}) == rq.ListActorsRequest(None, None, rq.DEFAULT_LIST_LIMIT)
    after = "a" * 32
    query = {"name": ["counter"], "after": [after], "limit": ["5"]}
    assert rq.parse_list_actors(query) == rq.ListActorsRequest("counter", after, 5)
    for bad in ({"limit": ["0"]}, {"limit": ["x"]}, {"limit": ["5000"]}, {"after": ["zz"]},
                {"name": ["a", "b"]}):  # fmt: skip
        with pytest.raises(RequestInvalid):
            rq.parse_list_actors(bad)


def test_gateway_query() -> None:
    request = rq.parse_gateway("counter", {"key": ["a", "b"], "create": ["false"]}, LIMITS)
    assert request == rq.GatewayRequest("counter", ("a", "b"), create=False)
    assert rq.parse_gateway("counter", {"key": ["a"]}, LIMITS).create is True
    with pytest.raises(RequestInvalid, match="create must be true or false"):
        rq.parse_gateway("counter", {"key": ["a"], "create": ["maybe"]}, LIMITS)
    with pytest.raises(ActorKeyInvalid):
        rq.parse_gateway("counter", {"key": [""]}, LIMITS)
    with pytest.raises(ActorKeyInvalid, match="got 0"):
        rq.parse_gateway("counter", {}, LIMITS)


def test_deploy_query_carries_what_the_build_knew() -> None:
    query = {"name": ["counter"], "language": ["c"], "action": ["increment", "get"]}
    assert rq.parse_deploy(query) == rq.DeployRequest("counter", "c", ("increment", "get"))
    assert rq.parse_deploy({"name": ["counter"]}) == rq.DeployRequest("counter")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({}, "name must be a non-empty string"),
        ({"name": ["c"], "language": ["C++!"]}, "language 'C++!' must match"),
        ({"name": ["c"], "action": ["no spaces"]}, "action name 'no spaces' must match"),
        ({"name": ["c"], "action": ["a"] * 257}, "at most 256 actions"),
        ({"name": ["c", "d"]}, "given more than once"),
    ],
)
def test_bad_deploy_queries(query: dict[str, list[str]], words: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        rq.parse_deploy(query)
    assert words in info.value.message
