"""Two regions on one NATS super-cluster: an actor is created where the request arrived, found
from the other region through the directory, and reached there by forwarding (HTTP and
WebSocket) with its location in the answer; racing creates of one key end with one actor."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import MakeNode
from edgewise.host.build import build_actor
from edgewise.regions.nats_cluster import SuperCluster
from regions_harness import two_regions

pytestmark = pytest.mark.timeout(60)


async def put_actor(http: aiohttp.ClientSession, url: str, key: str) -> tuple[int, Any]:
    body = {"name": "counter", "key": [key]}
    async with http.put(f"{url}/v1/actors", json=body) as response:
        return response.status, await response.json()


async def test_create_in_a_call_through_b(make_node: MakeNode, nats_cluster: SuperCluster) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        a, b = regions["a"], regions["b"]
        status, created = await put_actor(http, a.url, key)
        assert status == 200 and created["created"] is True
        actor_id = created["actor_id"]
        assert a.node.has_actor(actor_id) and not b.node.has_actor(actor_id)

        gateway = f"{b.url}/v1/gateway/counter/actions/increment"
        async with http.post(gateway, params={"key": key}, json={"args": [2]}) as response:
            assert response.status == 200
            assert await response.json() == {"output": 2}
            assert response.headers["edgewise-actor-region"] == "a"
            direct = response.headers["edgewise-actor-url"]
        assert direct == a.url
        path = f"/v1/actors/{actor_id}/actions/increment"
        async with http.post(b.url + path, json={"args": [1]}) as response:
            assert await response.json() == {"output": 3}
            assert response.headers["edgewise-actor-region"] == "a"
        async with http.post(direct + path, json={"args": [1]}) as response:
            assert await response.json() == {"output": 4}
            assert "edgewise-actor-region" not in response.headers
        async with http.get(f"{b.url}/v1/actors/{actor_id}") as response:
            assert (await response.json())["key"] == [key]
        status, again = await put_actor(http, b.url, key)
        assert (status, again["actor_id"], again["created"]) == (200, actor_id, False)
        assert not b.node.has_actor(actor_id)


async def test_a_socket_through_b_is_forwarded_with_its_location(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        a, b = regions["a"], regions["b"]
        _, created = await put_actor(http, a.url, key)
        url = f"{b.url}/v1/actors/{created['actor_id']}/connect"
        async with http.ws_connect(url) as ws:
            location = json.loads(await ws.receive_str(timeout=5))
            assert location == {"t": "location", "region": "a", "url": a.url}
            await ws.send_json({"t": "connect", "params": None})
            assert json.loads(await ws.receive_str(timeout=5))["t"] == "init"
            await ws.send_json({"t": "subscribe", "event": "newCount"})
            await ws.send_json({"t": "action", "id": 1, "name": "increment", "args": [5]})
            frames = [json.loads(await ws.receive_str(timeout=5)) for _ in range(2)]
            assert {"t": "result", "id": 1, "output": 5} in frames
            assert {"t": "event", "name": "newCount", "args": [5]} in frames


async def test_racing_creates_in_two_regions_end_with_one_actor(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        a, b = regions["a"], regions["b"]
        for _ in range(5):
            key = uuid.uuid4().hex
            answers = await asyncio.gather(put_actor(http, a.url, key), put_actor(http, b.url, key))
            ids = {body["actor_id"] for status, body in answers if status == 200}
            assert len(ids) == 1, answers
            assert sorted(body["created"] for _, body in answers) == [False, True]
            actor_id = ids.pop()
            assert a.node.has_actor(actor_id) != b.node.has_actor(actor_id)


async def test_unknown_actors_and_forged_peers_are_refused(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        b = regions["b"]
        async with http.get(f"{b.url}/v1/actors/{uuid.uuid4().hex}") as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "actor.not_found"
        gateway = f"{b.url}/v1/gateway/counter/actions/get"
        async with http.post(gateway, params={"key": "nobody", "create": "false"}) as response:
            assert (await response.json())["error"]["code"] == "actor.not_found"


async def test_destroying_an_actor_frees_its_key_in_every_region(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        a, b = regions["a"], regions["b"]
        _, created = await put_actor(http, a.url, key)
        async with http.delete(f"{b.url}/v1/actors/{created['actor_id']}") as response:
            assert response.status == 200  # forwarded to a, which owns it
        assert not a.node.has_actor(created["actor_id"])
        status, again = await put_actor(http, b.url, key)
        assert status == 200 and again["created"] is True
        assert again["actor_id"] != created["actor_id"] and b.node.has_actor(again["actor_id"])


async def test_an_actor_made_before_its_node_joined_is_claimed_on_first_use(
    make_node: MakeNode, nats_cluster: SuperCluster
) -> None:
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        a, b = regions["a"], regions["b"]
        info, _ = await a.node.get_or_create("counter", (key,))  # behind the router's back
        status, found = await put_actor(http, a.url, key)
        assert (status, found["actor_id"], found["created"]) == (200, info.actor_id, False)
        status, again = await put_actor(http, b.url, key)
        assert (status, again["actor_id"]) == (200, info.actor_id)
        assert not b.node.has_actor(info.actor_id)


MAYFLY = r"""
#include "edgewise.h"

void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc) {
    ew_destroy(t);
    ew_reply_ok_null(t);
}
"""


async def test_an_actor_that_destroys_itself_frees_its_key_in_every_region(
    make_node: MakeNode, nats_cluster: SuperCluster, tmp_path: Path
) -> None:
    folder = tmp_path / "mayfly"
    folder.mkdir()
    (folder / "mayfly.c").write_text(MAYFLY)
    (folder / "actor.toml").write_text(
        '[actor]\nname = "mayfly"\nlanguage = "c"\nsources = ["mayfly.c"]\n'
    )
    wasm = build_actor(folder).wasm_path.read_bytes()
    key = uuid.uuid4().hex
    async with two_regions(make_node, nats_cluster) as regions, aiohttp.ClientSession() as http:
        a, b = regions["a"], regions["b"]
        for region in (a, b):
            await region.node.deploy(wasm, "mayfly")
        async with http.put(f"{a.url}/v1/actors", json={"name": "mayfly", "key": [key]}) as r:
            first = (await r.json())["actor_id"]
        path = f"/v1/actors/{first}/actions/die"
        async with http.post(b.url + path, json={"args": []}) as response:
            assert response.status == 200  # through b, to a, where it destroyed itself
        assert not a.node.has_actor(first)
        async with http.put(f"{b.url}/v1/actors", json={"name": "mayfly", "key": [key]}) as r:
            second = await r.json()
        assert r.status == 200 and second["created"] is True and second["actor_id"] != first
