"""``Client``: one Edgewise node over HTTP/1.1 or HTTP/3, and handles to its actors.

``transport="h1"`` uses aiohttp (HTTP/1.1 + WebSocket); ``"h3"`` uses QUIC (``client/h3.py``) on
the same host and port number; ``"auto"`` (the default) starts on HTTP/1.1 and, when an answer
advertises HTTP/3 (``Alt-Svc: h3=":PORT"``), tries it within ``h3_timeout_s``: on success every
later call and connection goes over HTTP/3, otherwise (UDP blocked, certificate refused) the
client stays on HTTP/1.1. A GET that fails over HTTP/3 is retried once over HTTP/1.1.

Regions: given several endpoints (``Client([url_a, url_b])``), the client measures their round
trip time on first use and talks to the nearest (``rtts_ms``, ``url``). A node that forwarded a
call says where the actor lives (``edgewise-actor-url``); the actor's handle then calls that node
directly (HTTP/1.1), and a connection follows its actor when it moves.

Every HTTP body goes in the client's encoding (JSON or CBOR) and comes back in it. Error answers
(``{"error": {"code", "message"}}``) are raised as ``EdgewiseClientError`` with the server's code
and the HTTP status. A handle made by ``get_or_create`` resolves its actor id lazily with
``PUT /v1/actors`` on first use and keeps it; if the actor was destroyed meanwhile, the next call
resolves it again once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from aioquic.tls import SessionTicket
from edgewise.client.connection import ActorConnection, ReconnectPolicy
from edgewise.client.errors import (
    ClientClosed,
    EdgewiseClientError,
    ProtocolViolation,
    ServerUnreachable,
)
from edgewise.client.h3 import H3Transport
from edgewise.client.nearest import measure_rtts
from edgewise.client.transport import (
    ClientSocket,
    H1Transport,
    Params,
    Reply,
    Transport,
    refusal,
)
from edgewise.host.protocol.codec import Codec, codec_for

TransportChoice = Literal["auto", "h1", "h3"]
ALT_SVC_H3 = re.compile(r'h3="[^":]*:(\d+)"')
ACTOR_URL_HEADER = "edgewise-actor-url"
ACTOR_REGION_HEADER = "edgewise-actor-region"
CLIENT_REGION_HEADER = "edgewise-client-region"

_NO_BODY = object()


class Client:
    """``async with Client("http://127.0.0.1:6420") as c: ...``"""

    def __init__(
        self,
        url: str | Sequence[str],
        encoding: Literal["json", "cbor"] = "json",
        admin_token: str | None = None,
        *,
        transport: TransportChoice = "auto",
        ca_file: str | None = None,
        verify: bool = True,
        reconnect: ReconnectPolicy | None = None,
        timeout_s: float = 30.0,
        h3_timeout_s: float = 1.0,
        region: str | None = None,
    ) -> None:
        if transport not in ("auto", "h1", "h3"):
            raise ValueError(f"transport must be 'auto', 'h1' or 'h3', got {transport!r}")
        self.endpoints = [u.rstrip("/") for u in ([url] if isinstance(url, str) else url)]
        if not self.endpoints:
            raise ValueError("a client needs at least one endpoint")
        self.url = self.endpoints[0]
        self.rtts_ms: dict[str, float] = {}
        """Round trip times measured to each endpoint (with several), in milliseconds."""
        self.region = region
        """The client's region (given, or its nearest endpoint's): sent with every request."""
        self.region_urls: dict[str, str] = {}
        """The endpoint of each region among ``endpoints`` (learned when measuring them)."""
        self._nearest_known = len(self.endpoints) == 1
        self._elsewhere: dict[str, H1Transport] = {}
        self.codec: Codec = codec_for(encoding)
        self.reconnect = reconnect or ReconnectPolicy()
        self.transport = transport
        self._admin_token = admin_token
        self.timeout_s = timeout_s
        self.h3_timeout_s = h3_timeout_s
        self._ca_file = ca_file
        self._verify = verify
        self._tickets: dict[tuple[str, int], SessionTicket] = {}
        self._h1: H1Transport | None = None
        self._h3: H3Transport | None = None
        self._h3_tried = transport != "auto"
        self.last_transport: str | None = None
        """The transport of the last answer: ``"h1"`` or ``"h3"``."""
        self._closed = False

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        for transport in (self._h1, self._h3, *self._elsewhere.values()):
            if transport is not None:
                await transport.close()
        self._h1 = self._h3 = None
        self._elsewhere.clear()

    @property
    def h3(self) -> H3Transport | None:
        """The HTTP/3 transport once in use (its handshake, ``rebind``), else None."""
        return self._h3

    # --- actors -------------------------------------------------------------------------------

    def get_or_create(self, name: str, key: list[str], input: Any = None) -> ActorHandle:
        return ActorHandle(self, name=name, key=list(key), input=input)

    def get(self, actor_id: str) -> ActorHandle:
        return ActorHandle(self, actor_id=actor_id)

    async def create(self, name: str, key: list[str], input: Any = None) -> ActorHandle:
        """Create the actor, failing with ``actor.already_exists`` if it exists."""
        body = {"name": name, "key": list(key), "input": input}
        created = await self.request("POST", "/v1/actors", body)
        return ActorHandle(self, actor_id=created["actor_id"])

    # --- admin and inspection -----------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/v1/health")
        return result

    async def deploy(
        self,
        name: str,
        wasm: bytes,
        *,
        language: str | None = None,
        actions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Deploy a module; ``language`` and ``actions`` (from its build manifest) are optional."""
        params = [("name", name)]
        if language is not None:
            params.append(("language", language))
        params.extend(("action", action) for action in actions or ())
        headers = {"Content-Type": "application/wasm"}
        reply = await self._round_trip("POST", "/v1/modules", wasm, headers, params, admin=True)
        result: dict[str, Any] = _value(reply)
        return result

    async def modules(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request("GET", "/v1/modules")
        return result

    async def list_actors(
        self, name: str | None = None, after: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """One page: ``{"actors": [...], "next": actor_id or None}``."""
        params = {"limit": str(limit)}
        if name is not None:
            params["name"] = name
        if after is not None:
            params["after"] = after
        result: dict[str, Any] = await self.request("GET", "/v1/actors", params=params)
        return result

    async def actor_info(self, actor_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", f"/v1/actors/{actor_id}")
        return result

    async def destroy(self, actor_id: str) -> None:
        await self.request("DELETE", f"/v1/actors/{actor_id}", admin=True)

    # --- transport ----------------------------------------------------------------------------

    def _admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._admin_token}"} if self._admin_token else {}

    async def request(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        params: Any = None,
        admin: bool = False,
    ) -> Any:
        """One HTTP round trip in the client's encoding; raises on an error answer."""
        value, _ = await self.send(method, path, body, params=params, admin=admin)
        return value

    async def send(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        params: Any = None,
        admin: bool = False,
        url: str | None = None,
    ) -> tuple[Any, str | None]:
        """Like ``request``, to ``url`` if given; also returns the endpoint to call the actor
        at, when the node that answered forwarded the call (else None)."""
        codec = self.codec
        headers = {"Accept": codec.content_type}
        if self.region is not None:
            headers[CLIENT_REGION_HEADER] = self.region
        data = None
        if body is not _NO_BODY:
            headers["Content-Type"] = codec.content_type
            data = codec.encode(body)
        reply = await self._round_trip(method, path, data, headers, params, admin=admin, url=url)
        where = reply.headers.get(ACTOR_URL_HEADER)
        if where is not None:
            where = self.endpoint_for(reply.headers.get(ACTOR_REGION_HEADER, ""), where)
        return _value(reply), where

    def endpoint_for(self, region: str, url: str) -> str:
        """Our own endpoint for ``region`` when we have one, else ``url``."""
        return self.region_urls.get(region, url)

    async def _round_trip(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: dict[str, str],
        params: Any,
        *,
        admin: bool,
        url: str | None = None,
    ) -> Reply:
        if admin:
            headers.update(self._admin_headers())
        pairs = _pairs(params)
        transport = await self._transport_for(url)
        try:
            reply = await transport.request(method, path, pairs, headers, data)
        except ServerUnreachable:
            if transport.name != "h3" or self.transport != "auto":
                raise
            self._h3_tried = True  # HTTP/3 stopped working: stay on HTTP/1.1
            await self._drop_h3()
            if method != "GET":
                raise
            transport = self._current()
            reply = await transport.request(method, path, pairs, headers, data)
        self.last_transport = transport.name
        if not self._h3_tried and transport.name == "h1" and transport is self._h1:
            await self._try_h3(reply.headers.get("alt-svc", ""))
        return reply

    async def _transport_for(self, url: str | None) -> Transport:
        if not self._nearest_known:
            probes = await measure_rtts(self.endpoints, self.timeout_s)
            self.rtts_ms = {url: probe.rtt_ms for url, probe in probes.items()}
            self.region_urls = {p.region: url for url, p in probes.items() if p.region}
            self.url = min(self.endpoints, key=lambda u: self.rtts_ms.get(u, float("inf")))
            self.region = self.region or probes[self.url].region
            self._nearest_known = True
        if url is None or url.rstrip("/") == self.url:
            return self._current()
        if self._closed:
            raise ClientClosed("the client is closed")
        url = url.rstrip("/")
        if url not in self._elsewhere:
            self._elsewhere[url] = H1Transport(url, self.timeout_s)
        return self._elsewhere[url]

    async def open_socket(self, path: str, params: Params, url: str | None = None) -> ClientSocket:
        """A WebSocket to ``path`` over the current transport (or to the node at ``url``)."""
        transport = await self._transport_for(url)
        self.last_transport = transport.name
        return await transport.open_socket(path, params)

    def _current(self) -> Transport:
        if self._closed:
            raise ClientClosed("the client is closed")
        if self.transport == "h3" or (self.transport == "auto" and self._h3 is not None):
            if self._h3 is None:
                self._h3 = self._new_h3(self.url)
            return self._h3
        if self._h1 is None:
            self._h1 = H1Transport(self.url, self.timeout_s)
        return self._h1

    def _new_h3(self, url: str) -> H3Transport:
        return H3Transport(
            url, self.timeout_s, ca_file=self._ca_file, verify=self._verify, tickets=self._tickets
        )

    async def _try_h3(self, alt_svc: str) -> None:
        """Switch to HTTP/3 if advertised and reachable within ``h3_timeout_s``."""
        found = ALT_SVC_H3.search(alt_svc)
        if found is None:
            return
        self._h3_tried = True
        split = urlsplit(self.url)
        netloc = f"{split.hostname}:{found.group(1)}"
        if split.hostname and ":" in split.hostname:
            netloc = f"[{split.hostname}]:{found.group(1)}"
        h3 = self._new_h3(urlunsplit((split.scheme, netloc, "", "", "")))
        try:
            await asyncio.wait_for(h3.connect(), self.h3_timeout_s)
        except (ServerUnreachable, TimeoutError):
            await h3.close()
            return
        self._h3 = h3

    async def _drop_h3(self) -> None:
        if self._h3 is not None:
            h3, self._h3 = self._h3, None
            await h3.close()


def _value(reply: Reply) -> Any:
    if reply.status >= 400:
        raise refusal(reply)
    value = reply.value()
    if value is None and reply.body:
        raise ProtocolViolation(f"answer with status {reply.status} is not decodable")
    return value


def _pairs(params: Any) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, dict):
        return [(str(k), str(v)) for k, v in params.items()]
    return [(str(k), str(v)) for k, v in params]


class ActorHandle:
    """One actor, by id or by (name, key); cheap to make, resolved on first use."""

    def __init__(
        self,
        client: Client,
        *,
        actor_id: str | None = None,
        name: str | None = None,
        key: list[str] | None = None,
        input: Any = None,
    ) -> None:
        self.client = client
        self.name = name
        self.key = key
        self._input = input
        self._actor_id = actor_id
        self.url: str | None = None
        """The node the actor lives on, once a forwarding node said so; calls go there."""

    @property
    def actor_id(self) -> str | None:
        """The id if known yet (see ``resolve``)."""
        return self._actor_id

    async def resolve(self) -> str:
        """The actor id; a keyed handle gets or creates its actor the first time."""
        if self._actor_id is None:
            body = {"name": self.name, "key": self.key, "input": self._input}
            answer = await self.client.request("PUT", "/v1/actors", body)
            self._actor_id = str(answer["actor_id"])
        return self._actor_id

    async def call(self, action: str, *args: Any) -> Any:
        """Run one action over HTTP and return its output."""
        actor_id = await self.resolve()
        try:
            return await self._call(actor_id, action, args)
        except EdgewiseClientError as exc:
            if exc.code != "actor.not_found" or self.name is None:
                raise
        self._actor_id = None
        return await self._call(await self.resolve(), action, args)

    async def _call(self, actor_id: str, action: str, args: tuple[Any, ...]) -> Any:
        path = f"/v1/actors/{actor_id}/actions/{action}"
        body = {"args": list(args)}
        try:
            answer, where = await self.client.send("POST", path, body, url=self.url)
        except ServerUnreachable:
            if self.url is None:
                raise
            self.url = None  # the node it lived on is gone: ask the nearest endpoint again
            answer, where = await self.client.send("POST", path, body)
        if where is not None:
            self.url = where
        return answer["output"] if isinstance(answer, dict) else None

    async def info(self) -> dict[str, Any]:
        return await self.client.actor_info(await self.resolve())

    def connect(self, params: Any = None) -> ActorConnection:
        """A WebSocket connection; use as ``async with handle.connect(params) as conn``."""
        return ActorConnection(self.client, self.resolve, params, self.client.reconnect)
