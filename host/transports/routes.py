"""The routes of the HTTP API of protocol v1, and ``make_api``, which builds an ``Api`` with them.

Each route is ``async (api, request, params) -> ApiResponse | SocketTarget``: it validates its
input into a request dataclass (``protocol/requests.py``), asks where the actor lives when the
node is in a cluster (``api.here``, ``api.actor_for_key``, which raise ``Forward``), calls the
``Node`` and encodes the answer in the request's codec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgewise.host.actors import ActorInfo, Node
from edgewise.host.errors import ActorNotFound, Unauthorized
from edgewise.host.protocol import requests as rq
from edgewise.host.protocol.codec import CBOR, JSON, Codec, codec_for
from edgewise.host.protocol.messages import parse_name
from edgewise.host.transports.api import (
    Answer,
    Api,
    ApiRequest,
    ApiResponse,
    Forward,
    Route,
    SocketTarget,
    reply,
    request_codec_of,
)
from edgewise.regions.errors import RegionUnknown
from edgewise.regions.migration.protocol import CHUNK_BYTES
from edgewise.regions.router import Router

if TYPE_CHECKING:
    from edgewise.regions.forward import Forwarder
    from edgewise.regions.migration.coordinator import Migrations


def make_api(
    node: Node,
    router: Router | None = None,
    forwarder: Forwarder | None = None,
    migrations: Migrations | None = None,
) -> Api:
    return Api(node, ROUTES, router, forwarder, migrations)


def actor_json(info: ActorInfo) -> dict[str, Any]:
    return {
        "actor_id": info.actor_id,
        "name": info.name,
        "key": list(info.key),
        "created_ms": info.created_ms,
        "state": info.state,
    }


# --- routes --------------------------------------------------------------------------------


async def health(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    node = api.node
    body = {"status": "ok", "node": node.node_id, "region": node.region}
    return reply(request_codec_of(request), body)


async def _put_or_post_actor(api: Api, request: ApiRequest, must_create: bool) -> Answer:
    codec = request_codec_of(request)
    put = rq.parse_put_actor(await api.body(request, codec), api.node.config.limits)
    info, created = await api.actor_for_key(
        request, put.name, put.key, put.input, must_create=must_create
    )
    body = {"actor_id": info.actor_id, "name": info.name, "key": list(info.key), "created": created}
    return reply(codec, body, 201 if must_create else 200)


async def put_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    return await _put_or_post_actor(api, request, must_create=False)


async def post_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    return await _put_or_post_actor(api, request, must_create=True)


async def get_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    actor_id = rq.parse_actor_id(params["actor_id"])
    await api.here(request, actor_id)
    return reply(request_codec_of(request), actor_json(api.node.get(actor_id)))


async def list_actors(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    query = rq.parse_list_actors(request.query)
    infos = api.node.list(query.name, query.after, query.limit + 1)
    page = infos[: query.limit]
    next_id = page[-1].actor_id if len(infos) > query.limit else None
    body = {"actors": [actor_json(i) for i in page], "next": next_id}
    return reply(request_codec_of(request), body)


async def destroy_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    api.check_admin(request)
    actor_id = rq.parse_actor_id(params["actor_id"])
    await api.here(request, actor_id)
    info = api.node.get(actor_id)
    await api.node.destroy(actor_id)
    if api.router is not None:
        await api.router.destroyed(info.actor_id, info.name, info.key)
    return reply(request_codec_of(request), {"destroyed": True})


async def call_action(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    codec = request_codec_of(request)
    actor_id = rq.parse_actor_id(params["actor_id"])
    action = parse_name(params["action"], "action")
    await api.here(request, actor_id)
    output = await api.node.call(actor_id, action, await api.action_args(request, codec))
    api.observe(request, actor_id)
    return reply(codec, {"output": output})


async def gateway_action(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    codec = request_codec_of(request)
    gateway = api.gateway(request, params)
    action = parse_name(params["action"], "action")
    args = await api.action_args(request, codec)
    info, _ = await api.actor_for_key(request, gateway.name, gateway.key, create=gateway.create)
    output = await api.node.call(info.actor_id, action, args)
    api.observe(request, info.actor_id)
    return reply(codec, {"output": output})


async def deploy_module(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    api.check_admin(request)
    node = api.node
    deploy = rq.parse_deploy(request.query)
    wasm = await request.read_body(node.config.limits.max_module_bytes, "module")
    manifest = await node.deploy(
        wasm, deploy.name, language=deploy.language, actions=deploy.actions
    )
    return reply(JSON, manifest.to_dict())


async def list_modules(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    manifests = api.node.manifests()
    return reply(request_codec_of(request), [m.to_dict() for m in manifests])


async def migrate_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    api.check_admin(request)
    codec = request_codec_of(request)
    actor_id = rq.parse_actor_id(params["actor_id"])
    region = rq.parse_migrate(await api.body(request, codec))
    if api.migrations is None:
        raise RegionUnknown(f"this node is not part of a cluster: no region {region!r}")
    await api.here(request, actor_id)
    report = await api.migrations.migrate(actor_id, region)
    body = {
        "actor_id": report.actor_id,
        "from": report.from_region,
        "to": report.to_region,
        "node": report.to_node,
        "size_bytes": report.size_bytes,
        "elapsed_ms": round(report.elapsed_ms, 3),
        "held_ms": round(report.held_ms, 3),
    }
    return reply(codec, body)


async def migration_progress(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    actor_id = rq.parse_actor_id(params["actor_id"])
    progress = None if api.migrations is None else api.migrations.progress(actor_id)
    if progress is None:
        raise ActorNotFound(f"no migration of actor {actor_id} runs on this node")
    body = {"sent_bytes": progress.sent_bytes, "total_bytes": progress.total_bytes,
            "state": progress.state}  # fmt: skip
    return reply(request_codec_of(request), body)


async def migration_message(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    if api.migrations is None or not api.from_peer(request):
        raise Unauthorized("node-to-node route: needs the cluster secret")
    limit = api.node.config.limits.max_message_bytes + CHUNK_BYTES
    answer = await api.migrations.receive(await request.read_body(limit, "migration message"))
    return ApiResponse(200, answer or b"", CBOR.content_type)


def _socket_codec(request: ApiRequest) -> Codec:
    return codec_for(request.query.get("encoding", ["json"])[0])


async def connect_actor(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    actor_id = rq.parse_actor_id(params["actor_id"])
    codec = _socket_codec(request)
    try:
        await api.here(request, actor_id)
    except Forward as forward:
        return SocketTarget(actor_id, codec, forward.target)
    api.node.get(actor_id)
    return SocketTarget(actor_id, codec)


async def connect_gateway(api: Api, request: ApiRequest, params: dict[str, str]) -> Answer:
    gateway = api.gateway(request, params)
    codec = _socket_codec(request)
    try:
        info, _ = await api.actor_for_key(request, gateway.name, gateway.key, create=gateway.create)
    except Forward as forward:
        return SocketTarget(forward.actor_id, codec, forward.target)
    return SocketTarget(info.actor_id, codec)


ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("GET", "/v1/health", health),
    ("PUT", "/v1/actors", put_actor),
    ("POST", "/v1/actors", post_actor),
    ("GET", "/v1/actors", list_actors),
    ("GET", "/v1/actors/{actor_id}", get_actor),
    ("DELETE", "/v1/actors/{actor_id}", destroy_actor),
    ("POST", "/v1/actors/{actor_id}/actions/{action}", call_action),
    ("GET", "/v1/actors/{actor_id}/connect", connect_actor),
    ("POST", "/v1/gateway/{name}/actions/{action}", gateway_action),
    ("GET", "/v1/gateway/{name}/connect", connect_gateway),
    ("POST", "/v1/modules", deploy_module),
    ("GET", "/v1/modules", list_modules),
    ("POST", "/v1/actors/{actor_id}/migrate", migrate_actor),
    ("GET", "/v1/actors/{actor_id}/migration", migration_progress),
    ("POST", "/v1/internal/migrations", migration_message),
)
