"""The HTTP API of a real node on 127.0.0.1, in JSON and CBOR, over HTTP/1.1 and HTTP/3, with good
and hostile requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import cbor2
import pytest
from edgewise.host.actors import Node
from edgewise.host.protocol.codec import CBOR, JSON, Codec
from edgewise.host.transports.http import RunningServer, start_server
from edgewise.host.transports.tls import TlsFiles
from wire import Wire, open_wire

MakeNode = Callable[..., Awaitable[Node]]  # the make_node fixture of conftest.py


class Api:
    """A tiny raw HTTP helper speaking one encoding; answers are (status, decoded body)."""

    def __init__(self, wire: Wire, codec: Codec) -> None:
        self.wire = wire
        self.codec = codec

    async def send(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
        content_type: str | None = None, **kwargs: Any,
    ) -> tuple[int, Any]:  # fmt: skip
        headers = {"Accept": self.codec.content_type, **kwargs.pop("headers", {})}
        data = raw
        if body is not None:
            data = self.codec.encode(body)
        if data is not None:
            headers["Content-Type"] = content_type or self.codec.content_type
        status, found, payload = await self.wire.request(
            method, path, data=data, headers=headers, **kwargs
        )
        kind = found.get("content-type", "")
        decoded = cbor2.loads(payload) if "cbor" in kind else JSON.decode(payload, 1 << 24)
        return status, decoded

    async def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, answer = await self.send(method, path, body, **kwargs)
        assert status < 300, answer
        return answer

    async def error(self, status: int, code: str, method: str, path: str, body: Any = None,
                    **kwargs: Any) -> str:  # fmt: skip
        got_status, answer = await self.send(method, path, body, **kwargs)
        assert (got_status, answer["error"]["code"]) == (status, code), answer
        message: str = answer["error"]["message"]
        assert message
        return message

    async def counter(self, key: str = "demo") -> str:
        answer = await self.ok("PUT", "/v1/actors", {"name": "counter", "key": [key]})
        return str(answer["actor_id"])


@pytest.fixture(params=["json", "cbor"])
async def api(
    request: pytest.FixtureRequest, server: RunningServer, transport: str, tls: TlsFiles
) -> AsyncIterator[Api]:
    codec = JSON if request.param == "json" else CBOR
    async with open_wire(transport, server, tls) as wire:
        yield Api(wire, codec)


async def test_health(api: Api) -> None:
    assert await api.ok("GET", "/v1/health") == {"status": "ok", "node": "local", "region": "local"}


async def test_actor_lifecycle_over_http(api: Api) -> None:
    created = await api.ok("PUT", "/v1/actors", {"name": "counter", "key": ["a", "b"]})
    assert created["created"] is True and created["key"] == ["a", "b"]
    again = await api.ok("PUT", "/v1/actors", {"name": "counter", "key": ["a", "b"]})
    assert again == {**created, "created": False}
    actor_id = created["actor_id"]
    await api.error(409, "actor.already_exists", "POST", "/v1/actors",
                    {"name": "counter", "key": ["a", "b"]})  # fmt: skip
    info = await api.ok("GET", f"/v1/actors/{actor_id}")
    assert (info["name"], info["key"], info["actor_id"]) == ("counter", ["a", "b"], actor_id)
    assert isinstance(info["created_ms"], int) and isinstance(info["state"], str)
    assert await api.ok("DELETE", f"/v1/actors/{actor_id}") == {"destroyed": True}
    await api.error(404, "actor.not_found", "GET", f"/v1/actors/{actor_id}")


async def test_actions_and_gateway(api: Api) -> None:
    actor_id = await api.counter()
    path = f"/v1/actors/{actor_id}/actions"
    assert await api.ok("POST", f"{path}/increment", {"args": [5]}) == {"output": 5}
    assert await api.ok("POST", f"{path}/get") == {"output": 5}
    gateway = "/v1/gateway/counter/actions/increment"
    answer = await api.ok("POST", gateway, {"args": [2]}, params=[("key", "demo")])
    assert answer == {"output": 7}
    await api.error(404, "actor.not_found", "POST", gateway, {"args": [1]},
                    params=[("key", "nobody"), ("create", "false")])  # fmt: skip
    answer = await api.ok("POST", gateway, {"args": [1]}, params=[("key", "x"), ("key", "y")])
    assert answer == {"output": 1}


async def test_an_integer_beyond_i64_is_refused_before_the_turn(api: Api) -> None:
    actor_id = await api.counter()
    path = f"/v1/actors/{actor_id}/actions/increment"
    message = await api.error(400, "request.invalid", "POST", path, {"args": [2**64 - 1]})
    assert "64-bit" in message
    assert await api.ok("POST", path, {"args": [2**63 - 1]}) == {"output": 2**63 - 1}


async def test_listing_pages(api: Api) -> None:
    ids = sorted([await api.counter(f"k{i}") for i in range(5)])
    first = await api.ok("GET", "/v1/actors", params={"name": "counter", "limit": "3"})
    assert [a["actor_id"] for a in first["actors"]] == ids[:3]
    assert first["next"] == ids[2]
    rest = await api.ok("GET", "/v1/actors", params={"name": "counter", "after": first["next"]})
    assert [a["actor_id"] for a in rest["actors"]] == ids[3:]
    assert rest["next"] is None


async def test_modules(api: Api, built_examples: dict[str, Any]) -> None:
    names = {m["name"] for m in await api.ok("GET", "/v1/modules")}
    assert names == {"counter", "chat_room"}
    wasm = built_examples["counter"].wasm_path.read_bytes()
    manifest = await api.ok("POST", "/v1/modules", raw=wasm, content_type="application/wasm",
                            params={"name": "counter2"})  # fmt: skip
    assert manifest["name"] == "counter2" and manifest["size_bytes"] == len(wasm)
    await api.error(422, "module.invalid", "POST", "/v1/modules", raw=b"\0asm junk",
                    content_type="application/wasm", params={"name": "junk"})  # fmt: skip


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "counter", "key": "demo"}, "actor.key_invalid"),
        ({"name": "counter", "key": [""]}, "actor.key_invalid"),
        ({"name": "counter", "key": ["x" * 2000]}, "actor.key_invalid"),
        ({"name": "counter", "key": [1]}, "actor.key_invalid"),
        ({"name": "counter", "key": ["p"] * 17}, "actor.key_invalid"),
        ({"name": 7, "key": []}, "request.invalid"),
        ({"name": "counter", "key": [], "color": "red"}, "request.invalid"),
        (["counter"], "request.invalid"),
    ],
)
async def test_bad_actor_requests(api: Api, body: Any, code: str) -> None:
    await api.error(400, code, "PUT", "/v1/actors", body)
    assert (await api.ok("GET", "/v1/health"))["status"] == "ok"


async def test_hostile_requests_leave_the_node_serving(api: Api) -> None:
    actor_id = await api.counter()
    action = f"/v1/actors/{actor_id}/actions/increment"
    await api.error(400, "request.malformed", "POST", action, raw=b"\xff{[")
    await api.error(400, "request.malformed", "POST", action, raw=b'{"args": [1',
                    content_type="application/json")  # fmt: skip
    await api.error(400, "request.malformed", "POST", action, raw=b"\xbf\x61",
                    content_type="application/cbor")  # fmt: skip
    await api.error(415, "request.unsupported_media_type", "POST", action, raw=b"args=1",
                    content_type="text/plain")  # fmt: skip
    await api.error(400, "request.invalid", "POST", action, {"args": 3})
    await api.error(404, "action.unknown", "POST", f"/v1/actors/{actor_id}/actions/explode")
    await api.error(404, "actor.not_found", "POST", f"/v1/actors/{'0' * 32}/actions/get")
    await api.error(404, "actor.not_found", "GET", "/v1/actors/not-an-id")
    await api.error(404, "route.not_found", "GET", "/v2/anything")
    await api.error(405, "route.method_not_allowed", "PATCH", "/v1/actors")
    await api.error(415, "request.unsupported_media_type", "GET",
                    f"/v1/actors/{actor_id}/connect", params={"encoding": "xml"})  # fmt: skip
    await api.error(400, "request.invalid", "GET", "/v1/actors", params={"limit": "0"})
    await api.error(400, "request.invalid", "GET", f"/v1/actors/{actor_id}/connect")
    assert await api.ok("POST", action, {"args": [1]}) == {"output": 1}


async def test_size_limits(make_node: MakeNode, transport: str, tls: TlsFiles) -> None:
    node = await make_node(limits={"max_message_bytes": 2048, "max_module_bytes": 20_000})
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    async with server, open_wire(transport, server, tls) as wire:
        api = Api(wire, JSON)
        actor_id = await api.counter()
        big = {"args": ["x" * 4000]}
        await api.error(413, "request.too_large", "POST", f"/v1/actors/{actor_id}/actions/get", big)
        await api.error(413, "request.too_large", "POST", "/v1/modules", raw=b"\0" * 30_000,
                        content_type="application/wasm", params={"name": "big"})  # fmt: skip
        path = f"/v1/actors/{actor_id}/actions/increment"
        assert await api.ok("POST", path, {"args": [3]}) == {"output": 3}


async def test_admin_token(make_node: MakeNode, transport: str, tls: TlsFiles) -> None:
    node = await make_node(node={"admin_token": "s3cret"})
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    async with server, open_wire(transport, server, tls) as wire:
        api = Api(wire, JSON)
        actor_id = await api.counter()
        await api.error(401, "auth.unauthorized", "DELETE", f"/v1/actors/{actor_id}")
        await api.error(401, "auth.unauthorized", "DELETE", f"/v1/actors/{actor_id}",
                        headers={"Authorization": "Bearer wrong"})  # fmt: skip
        await api.error(401, "auth.unauthorized", "POST", "/v1/modules", raw=b"\0asm",
                        content_type="application/wasm", params={"name": "x"})  # fmt: skip
        good = {"Authorization": "Bearer s3cret"}
        answer = await api.ok("DELETE", f"/v1/actors/{actor_id}", headers=good)
        assert answer == {"destroyed": True}


async def test_server_close_is_idempotent_and_frees_the_ports(node: Any, tls: TlsFiles) -> None:
    server = await start_server(node, "127.0.0.1", 0, tls=tls)
    port = server.port
    assert server.h3 is not None and server.h3.port == port
    await server.close()
    await server.close()
    again = await start_server(node, "127.0.0.1", port, tls=tls)  # TCP and UDP free again
    assert again.url == f"http://127.0.0.1:{port}"
    await again.close()


async def test_http1_answers_advertise_http3(api: Api, server: RunningServer) -> None:
    status, headers, _ = await api.wire.request("GET", "/v1/health")
    assert status == 200
    if api.wire.kind == "h1":
        assert headers["alt-svc"] == f'h3=":{server.port}"'
    else:
        assert "alt-svc" not in headers
