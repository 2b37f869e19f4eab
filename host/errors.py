"""Errors of the Edgewise host, named by cause.

Every error carries a stable ``code`` (part of the public API: clients match on it), a safe public
``message`` and the HTTP ``status`` it maps to. Exceptions of dependencies (wasmtime, rocksdict,
aiohttp, cbor2) are mapped to one of these at the boundary where they happen and never cross
our API.

- ``ClientFault``: the request was wrong (bad body, unknown actor or action, too large).
- ``GuestFault``: the actor's module misbehaved (trap, timeout, bad result); the turn is dropped.
- ``HostFault``: this node failed (storage, internal); the request may be retried.
"""

from __future__ import annotations


class EdgewiseError(Exception):
    """Base of every error the host raises on purpose."""

    code = "internal"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ClientFault(EdgewiseError):
    code = "request.invalid"
    status = 400


class GuestFault(EdgewiseError):
    """The guest module failed its turn; the turn's writes were dropped."""

    code = "guest.trapped"
    status = 500


class HostFault(EdgewiseError):
    code = "internal"
    status = 500


# --- client faults --------------------------------------------------------------------------


class RequestInvalid(ClientFault):
    code = "request.invalid"


class RequestMalformed(ClientFault):
    """The body could not be decoded as JSON or CBOR."""

    code = "request.malformed"


class RequestTooLarge(ClientFault):
    code = "request.too_large"
    status = 413


class UnsupportedMediaType(ClientFault):
    code = "request.unsupported_media_type"
    status = 415


class Unauthorized(ClientFault):
    code = "auth.unauthorized"
    status = 401


class NotFound(ClientFault):
    code = "route.not_found"
    status = 404


class ActorNotFound(ClientFault):
    code = "actor.not_found"
    status = 404


class ActorAlreadyExists(ClientFault):
    code = "actor.already_exists"
    status = 409


class ActorKeyInvalid(ClientFault):
    code = "actor.key_invalid"


class ModuleNotFound(ClientFault):
    code = "module.not_found"
    status = 404


class ModuleInvalid(ClientFault):
    """An uploaded module is not wasm or does not satisfy the guest ABI."""

    code = "module.invalid"
    status = 422


class ActionUnknown(ClientFault):
    code = "action.unknown"
    status = 404


class ConnectionRefused(ClientFault):
    """The actor's connect hook refused the connection."""

    code = "connection.refused"
    status = 403


class ConnectTimeout(ClientFault):
    code = "connection.connect_timeout"
    status = 408


class RequestTimeout(ClientFault):
    """The request's body did not arrive in full in time (HTTP/3)."""

    code = "request.timeout"
    status = 408


class ActorMoved(ClientFault):
    """The actor now lives in another region; the request may be sent to ``url``."""

    code = "actor.moved"
    status = 421

    def __init__(self, message: str, *, region: str, url: str) -> None:
        super().__init__(message)
        self.region = region
        self.url = url


class UserError(ClientFault):
    """An error the actor's code returned on purpose; its code is ``user.<guest code>``."""

    code = "user.error"
    status = 400


# --- guest faults ---------------------------------------------------------------------------


class GuestTrapped(GuestFault):
    code = "guest.trapped"


class GuestTimeout(GuestFault):
    code = "guest.timeout"


class GuestOutOfMemory(GuestFault):
    code = "guest.out_of_memory"


class GuestBadPointer(GuestFault):
    code = "guest.bad_pointer"


class GuestBadResult(GuestFault):
    code = "guest.bad_result"


class GuestTooLarge(GuestFault):
    code = "guest.too_large"


# --- host faults ----------------------------------------------------------------------------


class StorageFailed(HostFault):
    code = "storage.failed"
    status = 503


class ListenFailed(HostFault):
    """The node could not open its listening socket (the port is taken, the address is wrong)."""

    code = "node.listen_failed"


class NodeStopping(HostFault):
    code = "node.stopping"
    status = 503


class ConfigInvalid(HostFault):
    code = "config.invalid"


class BuildFailed(HostFault):
    """`edgewise build` could not produce a module (toolchain missing, compile error)."""

    code = "build.failed"


# --- actors layer ---------------------------------------------------------------------------


class ActorOverloaded(ClientFault):
    """The actor's mailbox is full; retry later."""

    code = "actor.overloaded"
    status = 429


class ConnectionNotFound(ClientFault):
    code = "connection.not_found"
    status = 404


class IllegalTransition(HostFault):
    """A state machine (an actor's lifecycle, a WebSocket session) was asked for a move its
    transition table does not allow; the message names the state, the event and the actor."""

    code = "state.illegal_transition"


# --- protocol and transports ----------------------------------------------------------------


class MethodNotAllowed(ClientFault):
    code = "route.method_not_allowed"
    status = 405


class ConnectionNotOpen(ClientFault):
    """A WebSocket frame needs an open connection (connect first, or connect only once)."""

    code = "connection.not_open"
    status = 409


class SlowConsumer(ClientFault):
    """A WebSocket client did not read its events fast enough; its send queue overflowed."""

    code = "connection.slow_consumer"
    status = 429


class ResponseUnencodable(HostFault):
    """A reply holds a value the response encoding cannot carry (e.g. NaN in JSON)."""

    code = "response.unencodable"
