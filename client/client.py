"""``Client``: one aiohttp session to one Edgewise node, and handles to its actors.

Every HTTP body goes in the client's encoding (JSON or CBOR) and comes back in it. Error answers
(``{"error": {"code", "message"}}``) are raised as ``EdgewiseClientError`` with the server's code
and the HTTP status. A handle made by ``get_or_create`` resolves its actor id lazily with
``PUT /v1/actors`` on first use and keeps it; if the actor was destroyed meanwhile, the next call
resolves it again once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import aiohttp
from edgewise.client.connection import ActorConnection, ReconnectPolicy
from edgewise.client.errors import (
    ClientClosed,
    EdgewiseClientError,
    ProtocolViolation,
    ServerUnreachable,
)
from edgewise.host.errors import EdgewiseError
from edgewise.host.protocol.codec import CBOR, JSON, Codec, codec_for

_NO_BODY = object()


class Client:
    """``async with Client("http://127.0.0.1:6420") as c: ...``"""

    def __init__(
        self,
        url: str,
        encoding: Literal["json", "cbor"] = "json",
        admin_token: str | None = None,
        *,
        reconnect: ReconnectPolicy | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.codec: Codec = codec_for(encoding)
        self.reconnect = reconnect or ReconnectPolicy()
        self._admin_token = admin_token
        self.timeout_s = timeout_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @property
    def http(self) -> aiohttp.ClientSession:
        """The underlying aiohttp session, opened on first use."""
        if self._closed:
            raise ClientClosed("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

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
        result: dict[str, Any] = await self._round_trip(
            "POST", "/v1/modules", wasm, headers, params, admin=True
        )
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
        codec = self.codec
        headers = {"Accept": codec.content_type}
        data = None
        if body is not _NO_BODY:
            headers["Content-Type"] = codec.content_type
            data = codec.encode(body)
        return await self._round_trip(method, path, data, headers, params, admin=admin)

    async def _round_trip(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: dict[str, str],
        params: Any,
        *,
        admin: bool,
    ) -> Any:
        if admin:
            headers.update(self._admin_headers())
        try:
            async with self.http.request(
                method, self.url + path, data=data, headers=headers, params=params
            ) as response:
                return await _answer(response)
        except aiohttp.ClientError as exc:
            raise ServerUnreachable(f"{method} {self.url}{path}: {exc}") from None
        except TimeoutError:
            raise ServerUnreachable(f"{method} {self.url}{path}: timed out") from None


async def _answer(response: aiohttp.ClientResponse) -> Any:
    """The decoded answer, in the encoding its ``Content-Type`` names (JSON unless CBOR)."""
    raw = await response.read()
    codec = CBOR if "cbor" in response.headers.get("Content-Type", "") else JSON
    try:
        value = codec.decode(raw, len(raw)) if raw else None
    except EdgewiseError:
        value = None
    if response.status >= 400:
        raise _server_error(value, response.status)
    if value is None and raw:
        raise ProtocolViolation(f"answer with status {response.status} is not {codec.encoding}")
    return value


def _server_error(value: Any, status: int) -> EdgewiseClientError:
    error = value.get("error") if isinstance(value, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return EdgewiseClientError(str(error.get("message")), code=error["code"], status=status)
    return EdgewiseClientError(f"HTTP status {status}", code=f"http.{status}", status=status)


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
        answer = await self.client.request("POST", path, {"args": list(args)})
        return answer["output"] if isinstance(answer, dict) else None

    async def info(self) -> dict[str, Any]:
        return await self.client.actor_info(await self.resolve())

    def connect(self, params: Any = None) -> ActorConnection:
        """A WebSocket connection; use as ``async with handle.connect(params) as conn``."""
        return ActorConnection(self.client, self.resolve, params, self.client.reconnect)
