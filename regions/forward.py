"""Forwarding to the node that owns an actor: HTTP requests and WebSockets, node to node.

A forwarded request carries the cluster secret (``edgewise-cluster-secret``) so that the owner
knows it comes from a peer and never forwards it again. Its answer goes back to the client
unchanged, plus where the actor lives (``edgewise-actor-region``, ``edgewise-actor-url``) so that
the client's next call goes there directly. A forwarded WebSocket first gets a ``location`` frame,
then the frames are copied both ways until either side closes. Failures to reach the owner are
``peer.unreachable`` (502).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from edgewise.host.protocol.codec import Codec
from edgewise.host.protocol.messages import LocationFrame, to_wire
from edgewise.host.transports.api import ApiRequest, ApiResponse
from edgewise.host.transports.websocket import FrameSocket
from edgewise.regions.errors import OwnerUnreachable
from edgewise.regions.router import PEER_HEADER
from edgewise.regions.topology import NodeEntry, Topology

log = logging.getLogger("edgewise.regions")

PASSED_HEADERS = ("content-type", "accept", "authorization", "edgewise-client-region")
REGION_HEADER = "edgewise-actor-region"
URL_HEADER = "edgewise-actor-url"
CLIENT_REGION_HEADER = "edgewise-client-region"
FORWARD_TIMEOUT_S = 30.0


class Forwarder:
    def __init__(self, topology: Topology, region: str) -> None:
        self._topology = topology
        self._secret = topology.secret
        self._region = region
        self._session: aiohttp.ClientSession | None = None

    def public_url(self, target: NodeEntry) -> str:
        """What clients use for the target's region (its public endpoint)."""
        known = self._topology.regions.get(target.region)
        return known.http_url if known is not None else target.url

    def _location(self, target: NodeEntry) -> tuple[tuple[str, str], ...]:
        return ((REGION_HEADER, target.region), (URL_HEADER, self.public_url(target)))

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def _headers(self, request: ApiRequest) -> dict[str, str]:
        headers = {k: v for k, v in request.headers.items() if k in PASSED_HEADERS}
        headers.setdefault(CLIENT_REGION_HEADER, self._region)
        headers[PEER_HEADER] = self._secret
        return headers

    async def request(self, request: ApiRequest, target: NodeEntry, max_body: int) -> ApiResponse:
        body = await request.read_body(max_body, "body") if request.has_body else None
        try:
            async with self._http().request(
                request.method,
                target.url + request.path,
                params=_query(request),
                data=body,
                headers=self._headers(request),
            ) as answer:
                payload = await answer.read()
                content_type = answer.headers.get("Content-Type", "application/json")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OwnerUnreachable(
                f"the owner node {target.node_id} did not answer: {exc}"
            ) from None
        return ApiResponse(answer.status, payload, content_type, self._location(target))

    async def socket(
        self,
        request: ApiRequest,
        target: NodeEntry,
        codec: Codec,
        client: FrameSocket,
        max_message_bytes: int,
    ) -> None:
        """Copy frames between ``client`` and the owner's socket for the same path."""
        try:
            owner = await self._http().ws_connect(
                target.url + request.path,
                params=_query(request),
                headers=self._headers(request),
                max_msg_size=2 * max_message_bytes + 1024,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("forwarding a socket to %s failed: %s", target.node_id, exc)
            await client.close(1011, b"peer.unreachable")
            return
        where = to_wire(LocationFrame(target.region, self.public_url(target)))
        await client.send(codec.encode(where), codec.text_frames)
        up = asyncio.create_task(_client_to_owner(client, owner, codec.text_frames))
        try:
            await _owner_to_client(owner, client)
        finally:
            up.cancel()
            await asyncio.gather(up, return_exceptions=True)
            await owner.close()
            if not client.closed:
                await client.close(1000, b"closed")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _query(request: ApiRequest) -> list[tuple[str, str]]:
    """The query as pairs, a repeated name (``key``) once per value, in order."""
    return [(name, value) for name, values in request.query.items() for value in values]


async def _client_to_owner(client: FrameSocket, owner: Any, text: bool) -> None:
    while (data := await client.receive(None)) is not None:
        if text:
            await owner.send_str(data.decode("utf-8", "replace"))
        else:
            await owner.send_bytes(data)
    await owner.close()


async def _owner_to_client(owner: aiohttp.ClientWebSocketResponse, client: FrameSocket) -> None:
    async for message in owner:
        if message.type is aiohttp.WSMsgType.TEXT:
            await client.send(message.data.encode("utf-8"), True)
        elif message.type is aiohttp.WSMsgType.BINARY:
            await client.send(message.data, False)
        else:
            break
