"""The Python guest SDK (`guest-sdk/python/edgewise_actor`) in plain CPython.

The CBOR codec runs against every golden vector of guest ABI v1 and against bad input; the turn
logic runs actors through `MemoryHost`, the SDK's in-memory host, as the node would: envelope
in, result map out, a fault dropping the turn's writes. The two Python examples run the same way.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from vectors import VECTORS, load_vector

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "guest-sdk" / "python"))

from edgewise_actor import (  # noqa: E402
    STATE_KEY,
    Actor,
    ActorError,
    Context,
    KvError,
    OutOfMemoryFault,
    Refuse,
    UncaughtFault,
    cbor,
)
from edgewise_actor.actor import find_actor  # noqa: E402
from edgewise_actor.memory_host import MemoryHost  # noqa: E402
from edgewise_actor.turn import run_turn  # noqa: E402

SHORTEST_FLOATS = {"envelope_action_short_floats"}  # encoded with half and single precision


def load_example(folder: str, source: str) -> Any:
    """The module of an example actor, imported from its file under a name of its own."""
    path = ROOT / "examples" / folder / source
    spec = importlib.util.spec_from_file_location(f"example_{folder}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


counter = load_example("counter_py", "counter.py")
agent_memory = load_example("agent_memory", "agent_memory.py")


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (so True is not 1 and 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


# --- the codec ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in VECTORS.glob("*.cbor")))
def test_codec_round_trips_every_vector(name: str) -> None:
    data, expected = load_vector(name)
    value = cbor.decode(data)
    assert same(value, expected)
    assert same(cbor.decode(cbor.encode(value)), value)
    if name not in SHORTEST_FLOATS:
        assert cbor.encode(value) == data


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "truncated"), (b"\x19\x01", "truncated"), (b"\x62a", "truncated"),
        (b"\x82\x01", "truncated"), (b"\x9b" + b"\xff" * 8, "truncated"),
        (b"\x01\x02", "trailing"), (b"\xa0\x00", "trailing"),
        (b"\xc1\x1a\x00\x00\x00\x01", "tags"), (b"\xc2\x41\x01", "tags"),
        (b"\x9f\xff", "indefinite"), (b"\x5f\xff", "indefinite"), (b"\x7f\xff", "indefinite"),
        (b"\xbf\xff", "indefinite"), (b"\xff", "indefinite"), (b"\x1c", "reserved"),
        (b"\x1b\x80" + bytes(7), "i64"), (b"\x3b\x80" + bytes(7), "i64"),
        (b"\x1b" + b"\xff" * 8, "i64"), (b"\xf7", "simple"), (b"\xf0", "simple"),
        (b"\xf8\x20", "simple"), (b"\xa1\x01\x02", "keys"),
        (b"\xa2\x61a\x01\x61a\x02", "duplicate"), (b"\x61\xff", "UTF-8"),
        (b"\x63\xed\xa0\x80", "UTF-8"), (b"\x81" * 300 + b"\x01", "nesting"),
    ],
)  # fmt: skip
def test_decode_refuses_bad_input(data: bytes, needle: str) -> None:
    with pytest.raises(cbor.CborError, match=needle) as caught:
        cbor.decode(data)
    assert isinstance(caught.value, ValueError)


def test_integer_and_float_edges() -> None:
    for n in (0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, -1, -(2**63)):
        assert same(cbor.decode(cbor.encode(n)), n)
    assert cbor.encode(-(2**63)) == b"\x3b\x7f" + b"\xff" * 7
    assert cbor.decode(b"\xf9\x7c\x00") == float("inf")
    assert cbor.decode(b"\xfa\x3f\xc0\x00\x00") == 1.5
    assert cbor.encode(1.5) == b"\xfb\x3f\xf8" + bytes(6)
    assert same(cbor.decode(cbor.encode((1, (2,)))), [1, [2]])


@pytest.mark.parametrize(
    "value", [2**63, -(2**63) - 1, {1, 2}, {1: "x"}, object(), "\ud800", [[2**64]]]
)
def test_encode_refuses_values_outside_the_subset(value: Any) -> None:
    with pytest.raises(cbor.CborError):
        cbor.encode(value)


# --- the turn ----------------------------------------------------------------------------------


def demo_actor() -> Actor:
    actor = Actor()

    @actor.action
    def add(ctx: Context, n: int) -> int:
        ctx.state["total"] = ctx.state.get("total", 0) + n
        return int(ctx.state["total"])

    @actor.action
    def total(ctx: Context) -> Any:
        return ctx.state.get("total")

    @actor.action("fail")
    def fail_with_write(ctx: Context, code: str) -> None:
        ctx.state["failed"] = True
        raise ActorError(code, "it failed")

    @actor.action
    def mixed(ctx: Context, x: float, tags: list[str] | None = None, *rest: bytes) -> list[Any]:
        return [x, tags, list(rest)]

    @actor.action
    def crash(ctx: Context) -> None:
        ctx.kv.put("junk", b"x")
        raise ZeroDivisionError("division by zero")

    @actor.action
    def effects(ctx: Context) -> None:
        ctx.broadcast("tick", 1, "two")
        ctx.send(7, "hello", {"to": 7})
        ctx.set_alarm("soon", delay_ms=50, payload=[1])
        ctx.set_alarm("later", at_ms=5)
        ctx.set_alarm("gone", at_ms=-3)
        ctx.cancel_alarm("gone")
        ctx.cancel_alarm("old")
        ctx.sleep()
        ctx.destroy()

    @actor.on_connect
    def connect(ctx: Context, params: Any) -> None:
        if not isinstance(params, dict) or "user" not in params:
            raise Refuse("connect with params {user}")
        ctx.state["last_conn"] = ctx.conn

    @actor.on_alarm
    def alarm(ctx: Context, name: str, payload: Any) -> None:
        ctx.broadcast("alarm", name, payload, ctx.now_ms)

    return actor


@pytest.fixture
def actor() -> Actor:
    return demo_actor()


@pytest.fixture
def host() -> MemoryHost:
    return MemoryHost()


def test_an_action_replies_its_return_value(actor: Actor, host: MemoryHost) -> None:
    assert host.call(actor, "add", 5) == {"ok": 5}
    assert host.call(actor, "add", -2) == {"ok": 3}
    assert cbor.decode(host.data[STATE_KEY]) == {"total": 3}


def test_state_is_written_only_when_it_changed(actor: Actor, host: MemoryHost) -> None:
    host.call(actor, "add", 1)
    assert host.writes == [STATE_KEY]
    assert host.call(actor, "total") == {"ok": 1}
    assert host.call(actor, "add", 0) == {"ok": 1}
    assert host.writes == [STATE_KEY]
    host.call(actor, "add", -1)
    assert host.writes == [STATE_KEY] * 2 and STATE_KEY in host.data


def test_an_emptied_state_is_deleted() -> None:
    actor, host = Actor(), MemoryHost()

    @actor.action
    def reset(ctx: Context, keep: bool) -> None:
        ctx.state.clear()
        if keep:
            ctx.state["x"] = 1

    host.call(actor, "reset", True)
    host.call(actor, "reset", False)
    assert STATE_KEY not in host.data and host.writes == [STATE_KEY, STATE_KEY]
    host.call(actor, "reset", False)
    assert len(host.writes) == 2


def test_actor_error_replies_and_still_commits(actor: Actor, host: MemoryHost) -> None:
    result = host.call(actor, "fail", "no.such_thing")
    assert result == {"error": {"code": "no.such_thing", "message": "it failed"}}
    assert cbor.decode(host.data[STATE_KEY]) == {"failed": True}


@pytest.mark.parametrize("code", ["", "Bad", "9lives", "a-b", "x" * 65, 5])
def test_actor_error_checks_its_code(code: Any) -> None:
    with pytest.raises(ValueError, match="must match"):
        ActorError(code, "message")


def test_a_bad_error_code_in_an_action_is_a_fault(actor: Actor, host: MemoryHost) -> None:
    with pytest.raises(UncaughtFault, match="ValueError: ActorError code 'Bad'"):
        host.call(actor, "fail", "Bad")


def test_unknown_action(actor: Actor, host: MemoryHost) -> None:
    error = host.call(actor, "nope")["error"]
    assert error["code"] == "unknown_action"
    assert error["message"] == (
        "no action 'nope'; this actor's actions: add, total, fail, mixed, crash, effects"
    )
    assert host.call(Actor(unknown_action_message="only x"), "y")["error"]["message"] == "only x"


@pytest.mark.parametrize(
    ("name", "args", "ok"),
    [
        ("add", [True], False), ("add", [1.0], False), ("add", [], False), ("add", [1, 2], False),
        ("mixed", [1], True), ("mixed", [1.5, None], True), ("mixed", [1, ["a"], b"x"], True),
        ("mixed", ["1"], False), ("mixed", [1, [2]], False), ("mixed", [1, None, "x"], False),
        ("total", [1], False),
    ],
)  # fmt: skip
def test_arguments_are_checked_against_the_signature(
    actor: Actor, host: MemoryHost, name: str, args: list[Any], ok: bool
) -> None:
    result = host.call(actor, name, *args)
    if ok:
        assert "ok" in result
    else:
        usage = actor.actions[name].usage
        assert result == {"error": {"code": "bad_args", "message": usage}}


def test_usage_is_the_signature_without_the_context(actor: Actor) -> None:
    assert actor.actions["add"].usage == "add(n: int)"
    assert actor.actions["mixed"].usage == (
        "mixed(x: float, tags: list[str] | None = None, *rest: bytes)"
    )


def test_effects_become_result_keys(actor: Actor, host: MemoryHost) -> None:
    assert host.call(actor, "effects") == {
        "ok": None,
        "broadcast": [["tick", [1, "two"]]],
        "send": [[7, "hello", [{"to": 7}]]],
        "set_alarms": [
            {"name": "soon", "at_ms": host.now_ms + 50, "payload": [1]},
            {"name": "later", "at_ms": 5},
        ],
        "cancel_alarms": ["gone", "old"],
        "sleep": True,
        "destroy": True,
    }


def test_hooks_get_their_envelope_fields(actor: Actor, host: MemoryHost) -> None:
    assert host.turn(actor, "connect", conn=4, params=None) == {
        "refuse": "connect with params {user}"
    }
    assert host.turn(actor, "connect", conn=4, params={"user": "ada"}) == {}
    assert cbor.decode(host.data[STATE_KEY]) == {"last_conn": 4}
    assert host.turn(actor, "alarm", alarm="a", payload=b"\x01") == {
        "broadcast": [["alarm", ["a", b"\x01", host.now_ms]]]
    }
    for kind in ("create", "wake", "disconnect"):
        assert host.turn(actor, kind, conn=4) == {}


def test_an_uncaught_exception_is_a_fault_that_drops_writes(actor: Actor, host: MemoryHost) -> None:
    with pytest.raises(UncaughtFault, match=r"^ZeroDivisionError: division by zero$"):
        host.call(actor, "crash")
    assert host.data == {} and host.writes == [b"junk"]
    [(level, text)] = host.logs
    assert level == 3 and "uncaught exception in action 'crash'" in text
    assert "Traceback" in text and "in crash" in text


def test_refuse_outside_on_connect_is_a_fault() -> None:
    actor = Actor()

    @actor.action
    def shy(ctx: Context) -> None:
        raise Refuse("only on connect")

    with pytest.raises(UncaughtFault, match="Refuse: only on connect"):
        MemoryHost().call(actor, "shy")


def test_memory_error_is_an_out_of_memory_fault() -> None:
    actor = Actor()

    @actor.action
    def hog(ctx: Context) -> None:
        raise MemoryError

    with pytest.raises(OutOfMemoryFault, match="MemoryError"):
        MemoryHost().call(actor, "hog")


def test_a_bad_envelope_answers_bad_envelope(actor: Actor, host: MemoryHost) -> None:
    for data in (b"\xff", cbor.encode([1]), cbor.encode({"kind": "nap"})):
        result = cbor.decode(run_turn(actor, data, host))
        assert result["error"]["code"] == "bad_envelope"


@pytest.mark.parametrize("name", sorted(p.stem for p in VECTORS.glob("envelope_*.cbor")))
def test_every_envelope_vector_runs(name: str) -> None:
    actor = Actor()

    @actor.action("store")
    @actor.action("floats")
    @actor.action("increment")
    @actor.action("get")
    def echo(ctx: Context, *args: Any) -> list[Any]:
        return [ctx.actor_id, ctx.name, list(ctx.key), ctx.conn, list(args)]

    data = (VECTORS / f"{name}.cbor").read_bytes()
    envelope = cbor.decode(data)
    result = cbor.decode(run_turn(actor, data, MemoryHost()))
    if envelope["kind"] == "action":
        who = envelope["actor"]
        expected = [who["id"], who["name"], who["key"], envelope["conn"], envelope["args"]]
        assert same(result, {"ok": expected})
    else:
        assert result == {}


# --- the key-value store -------------------------------------------------------------------------


def kv_actor() -> Actor:
    actor = Actor()

    @actor.action
    def fill(ctx: Context, count: int) -> None:
        for i in range(count):
            ctx.kv.put(f"item/{i:04d}", str(i).encode())
        ctx.state["filled"] = count

    @actor.action
    def keys(ctx: Context, prefix: str, after: str, limit: int) -> list[str]:
        return [key.decode() for key, _ in ctx.kv.list(prefix, after, limit)]

    @actor.action
    def raw(ctx: Context, op: str, key: Any, value: Any = b"") -> Any:
        if op == "put":
            ctx.kv.put(key, value)
        elif op == "delete":
            ctx.kv.delete(key)
        return ctx.kv.get(key)

    return actor


class CountingHost(MemoryHost):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.list_calls = 0

    def kv_list(self, prefix: bytes, start_after: bytes, limit: int) -> bytes:
        self.list_calls += 1
        return super().kv_list(prefix, start_after, limit)


def test_kv_list_pages_through_everything_in_key_order() -> None:
    actor, host = kv_actor(), CountingHost()
    host.call(actor, "fill", 250)
    host.data[b"other"] = b"not listed"
    assert host.call(actor, "keys", "item/", "", 100)["ok"] == [f"item/{i:04d}" for i in range(250)]
    assert host.list_calls == 3
    assert host.call(actor, "keys", "item/", "item/0247", 1000)["ok"] == ["item/0248", "item/0249"]
    assert host.call(actor, "keys", "", "", 7)["ok"][-1] == "other"  # the state is not listed


def test_kv_get_put_delete_with_str_and_bytes_keys() -> None:
    actor, host = kv_actor(), MemoryHost()
    assert host.call(actor, "raw", "put", "clé", b"v") == {"ok": b"v"}
    assert host.data["clé".encode()] == b"v"
    assert host.call(actor, "raw", "get", "clé".encode()) == {"ok": b"v"}
    assert host.call(actor, "raw", "delete", "clé") == {"ok": None}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["put", "", b"v"], "KvError: kv keys must not be empty"),
        (["put", "k" * 513, b"v"], "KvError: key of 513 bytes is past the limit of 512"),
        (["put", b"\x00state", b"v"], "KvError: keys starting with byte 0x00 are reserved"),
        (["get", b"\x00x"], "KvError: keys starting with byte 0x00 are reserved"),
        (["put", "k", b"x" * 11], "KvError: value of 11 bytes is past the node's max_value_bytes"),
        (["put", "k", "text"], "TypeError: kv values are bytes, not str"),
        (["get", 5], "TypeError: kv keys are str or bytes, not int"),
    ],
)
def test_kv_size_and_type_errors_are_clear(args: list[Any], error: str) -> None:
    with pytest.raises(UncaughtFault, match=f"^{error}"):
        MemoryHost(max_value_bytes=10).call(kv_actor(), "raw", *args)


def test_kv_errors_carry_the_spec_codes() -> None:
    actor = Actor()

    @actor.action
    def put(ctx: Context, key: str) -> int:
        try:
            ctx.kv.put(key, b"v")
        except KvError as error:
            return error.code
        return 0

    host = MemoryHost()
    assert [host.call(actor, "put", k)["ok"] for k in ("", "k" * 600, "ok")] == [-5, -3, 0]


def test_context_checks_alarm_and_event_arguments() -> None:
    ctx = Context(MemoryHost(), actor_id="a", name="n", key=(), now_ms=10, conn=None)
    with pytest.raises(ValueError, match="exactly one"):
        ctx.set_alarm("x")
    with pytest.raises(ValueError, match="exactly one"):
        ctx.set_alarm("x", at_ms=1, delay_ms=1)
    with pytest.raises(ValueError, match="delay_ms"):
        ctx.set_alarm("x", delay_ms=-1)
    with pytest.raises(ValueError, match="conn_id"):
        ctx.send(-1, "e")
    with pytest.raises(ValueError, match="size"):
        ctx.random(65537)
    with pytest.raises(cbor.CborError):
        ctx.broadcast("e", {1, 2})
    with pytest.raises(ValueError, match="limit"):
        ctx.kv.list("item/", limit=0)
    assert len(ctx.random(8)) == 8


# --- finding the actor -------------------------------------------------------------------------


def test_find_actor_wants_exactly_one() -> None:
    assert find_actor(counter) is counter.actor
    module = type(sys)("two")
    module.a = module.b = Actor()
    assert find_actor(module) is module.a
    module.c = Actor()
    with pytest.raises(TypeError, match=r"exactly one Actor.*found 2"):
        find_actor(module)
    with pytest.raises(TypeError, match="found 0"):
        find_actor(type(sys)("none"))


def test_decorators_refuse_mistakes() -> None:
    actor = Actor()
    actor.action(lambda ctx: None)
    with pytest.raises(ValueError, match="defined twice"):
        actor.action("<lambda>")(lambda ctx: None)
    with pytest.raises(TypeError, match="Context as its first"):
        actor.action("x")(lambda: None)
    actor.on_wake(lambda ctx: None)
    with pytest.raises(ValueError, match="on_wake is defined twice"):
        actor.on_wake(lambda ctx: None)


# --- the examples ------------------------------------------------------------------------------


def test_counter_py_answers_like_the_c_counter() -> None:
    actor, host = counter.actor, MemoryHost()
    assert host.call(actor, "get") == {"ok": 0}
    assert host.call(actor, "increment", 5) == {"ok": 5, "broadcast": [["newCount", [5]]]}
    later = "increment_later(delay_ms: int >= 0, n: int)"
    bad = [
        ("increment", (), "increment(n: int)"),
        ("increment", (True,), "increment(n: int)"),
        ("increment", (1.0,), "increment(n: int)"),
        ("get", (1,), "get() takes no arguments"),
        ("increment_later", (-1, 2), later),
        ("increment_later", (1, "2"), later),
        ("increment_later", (1,), later),
    ]
    for name, args, message in bad:
        assert host.call(actor, name, *args) == {"error": {"code": "bad_args", "message": message}}
    assert host.call(actor, "reset") == {
        "error": {
            "code": "unknown_action",
            "message": "counter has increment, get and increment_later",
        }
    }
    assert host.call(actor, "increment", 2**63 - 1)["ok"] == -(2**63) + 4  # int64 wraps


def test_counter_py_increment_later_sets_an_alarm() -> None:
    actor, host = counter.actor, MemoryHost()
    result = host.call(actor, "increment_later", 1000, 3)
    name = result["ok"]
    assert name.startswith("increment_later/") and len(name) == 32
    assert int(name[16:], 16) >= 0 and name == name.lower()
    assert result["set_alarms"] == [{"name": name, "at_ms": host.now_ms + 1000, "payload": 3}]
    assert host.turn(actor, "alarm", alarm=name, payload=3) == {"broadcast": [["newCount", [3]]]}
    assert host.turn(actor, "alarm", alarm="increment_later/x", payload="3") == {}
    assert host.logs == [(2, "increment_later/x")]
    assert host.call(actor, "get") == {"ok": 3}


def test_agent_memory_remembers_recalls_and_forgets() -> None:
    actor, host = agent_memory.actor, MemoryHost()
    notes = [
        ("The staging database listens on port 5433", ["infra", "db"]),
        ("Ada prefers short answers, no emoji", ["user"]),
        ("Deploys to staging happen every Tuesday", ["infra"]),
    ]
    for i, (text, tags) in enumerate(notes, start=1):
        assert host.call(actor, "remember", text, tags) == {
            "ok": i,
            "broadcast": [["remembered", [i]]],
        }
    assert host.call(actor, "count") == {"ok": 3}
    ranked = host.call(actor, "recall", "Which port does the STAGING database use?")["ok"]
    assert [note["id"] for note in ranked] == [1, 3]
    assert ranked[0]["tags"] == ["infra", "db"] and ranked[0]["score"] > ranked[1]["score"]
    assert host.call(actor, "recall", "emoji", 1)["ok"][0]["text"] == notes[1][0]
    assert [n["id"] for n in host.call(actor, "recall", "when do we deploy?")["ok"]] == [3]
    assert host.call(actor, "forget", 1) == {"ok": True}
    assert host.call(actor, "forget", 1) == {"ok": False}
    assert host.call(actor, "count") == {"ok": 2}
    assert [n["id"] for n in host.call(actor, "recall", "staging")["ok"]] == [3]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("remember", ["   "]), ("remember", [5]), ("remember", ["x", ["a", 1]]),
        ("remember", ["x", [""]]), ("recall", ["?!"]), ("recall", ["x", 0]), ("forget", ["1"]),
    ],
)  # fmt: skip
def test_agent_memory_refuses_bad_args(name: str, args: list[Any]) -> None:
    result = MemoryHost().call(agent_memory.actor, name, *args)
    assert result["error"]["code"] == "bad_args"
