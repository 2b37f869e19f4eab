"""Sans-IO parts of the actors layer: key validation, module names, alarm backoff, connections."""

from __future__ import annotations

from typing import Any

import pytest
from edgewise.host.actors.alarms import retry_delay_s
from edgewise.host.actors.connections import Connections
from edgewise.host.actors.keys import validate_key
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import ActorKeyInvalid, ClientFault, ConnectionNotFound
from edgewise.host.modules import validate_module_name
from recording_sink import RecordingSink

LIMITS = LimitsConfig(max_actor_key_parts=3, max_actor_key_bytes=10)
A = "a" * 32
B = "b" * 32


def test_valid_keys_come_back_as_tuples() -> None:
    assert validate_key(["x"], LIMITS) == ("x",)
    assert validate_key(("a", "b", "c"), LIMITS) == ("a", "b", "c")
    assert validate_key(["é" * 5], LIMITS) == ("é" * 5,)  # 10 bytes


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ([], "1 to 3 parts"),
        (["a", "b", "c", "d"], "1 to 3 parts"),
        ("abc", "list of strings"),
        (b"abc", "list of strings"),
        (None, "list of strings"),
        (42, "list of strings"),
        (["a", ""], "part 1 must not be empty"),
        (["a", 3], "part 1 must be a string"),
        (["é" * 6], "12 bytes"),
        (["\ud800"], "not valid UTF-8"),
    ],
)
def test_bad_keys_are_refused(key: Any, words: str) -> None:
    with pytest.raises(ActorKeyInvalid) as caught:
        validate_key(key, LIMITS)
    assert caught.value.code == "actor.key_invalid"
    assert words in caught.value.message


@pytest.mark.parametrize("name", ["counter", "a", "chat_room", "x-1", "a" * 63])
def test_good_module_names(name: str) -> None:
    assert validate_module_name(name) == name


@pytest.mark.parametrize("name", ["", "Counter", "1abc", "a" * 64, "a b", "a/b", None, "ça"])
def test_bad_module_names(name: Any) -> None:
    with pytest.raises(ClientFault) as caught:
        validate_module_name(name)
    assert caught.value.code == "module.name_invalid"


def test_retry_delay_doubles_up_to_the_cap() -> None:
    delays = [retry_delay_s(n, 1.0, 10.0) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert retry_delay_s(0, 0.5, 10.0) == 0.5


class BrokenSink(RecordingSink):
    def deliver(self, name: str, args: tuple[Any, ...]) -> None:
        raise RuntimeError("socket gone")


def test_broadcast_reaches_only_subscribed_connections_of_the_actor() -> None:
    table = Connections()
    sinks = [RecordingSink() for _ in range(3)]
    subscribed = table.open(A, sinks[0])
    table.open(A, sinks[1])
    other_actor = table.open(B, sinks[2])
    subscribed.subscriptions.add("tick")
    other_actor.subscriptions.add("tick")
    table.broadcast(A, [("tick", (1,)), ("tock", (2,))])
    assert sinks[0].events == [("tick", (1,))]
    assert sinks[1].events == []
    assert sinks[2].events == []


def test_send_ignores_subscriptions_but_not_actor_boundaries() -> None:
    table = Connections()
    mine, theirs = RecordingSink(), RecordingSink()
    conn = table.open(A, mine)
    foreign = table.open(B, theirs)
    table.send(A, [(conn.conn_id, "hello", ("x",)), (foreign.conn_id, "hello", ("y",))])
    table.send(A, [(9999, "lost", ())])
    assert mine.events == [("hello", ("x",))]
    assert theirs.events == []


def test_a_broken_sink_does_not_stop_delivery_to_others() -> None:
    table = Connections()
    broken, fine = BrokenSink(), RecordingSink()
    for sink in (broken, fine):
        table.open(A, sink).subscriptions.add("e")
    table.broadcast(A, [("e", ())])
    assert fine.events == [("e", ())]


def test_close_actor_closes_and_forgets_its_connections() -> None:
    table = Connections()
    mine, theirs = RecordingSink(), RecordingSink()
    conn = table.open(A, mine)
    table.open(B, theirs)
    table.close_actor(A, "actor.destroyed", "gone")
    assert mine.closed == [("actor.destroyed", "gone")]
    assert theirs.closed == []
    with pytest.raises(ConnectionNotFound):
        table.get(conn.conn_id)
    assert [c.actor_id for c in table.all()] == [B]


def test_connection_ids_are_unique_and_unknown_ids_are_refused() -> None:
    table = Connections()
    ids = {table.open(A, RecordingSink()).conn_id for _ in range(5)}
    assert len(ids) == 5
    with pytest.raises(ConnectionNotFound) as caught:
        table.get(0)
    assert caught.value.status == 404
    assert table.remove(12345) is None


def test_connections_of_each_actor_stay_apart_through_removal_and_close() -> None:
    table = Connections()
    a1, a2, b1 = RecordingSink(), RecordingSink(), RecordingSink()
    first = table.open("a", a1)
    table.open("a", a2)
    table.open("b", b1)
    for conn in table.all():
        conn.subscriptions.add("ev")
    table.remove(first.conn_id)
    table.broadcast("a", [("ev", (1,))])
    assert (a1.events, a2.events, b1.events) == ([], [("ev", (1,))], [])
    table.close_actor("a", "actor.destroyed", "gone")
    assert table.of_actor("a") == [] and a2.closed == [("actor.destroyed", "gone")]
    assert [c.actor_id for c in table.all()] == ["b"] and b1.closed == []
