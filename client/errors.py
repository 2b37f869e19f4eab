"""Errors of the Edgewise Python client.

``EdgewiseClientError`` carries ``code`` (the server's stable error code, or a ``client.*`` code
for failures on this side), ``message`` and, for HTTP answers, ``status``. aiohttp's exceptions
are mapped to these and never reach the caller.
"""

from __future__ import annotations


class EdgewiseClientError(Exception):
    """An error answered by the server (``code`` as the server gave it) or found by the client."""

    code = "client.error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ServerUnreachable(EdgewiseClientError):
    """The server could not be reached (refused, reset, timed out)."""

    code = "client.unreachable"


class ConnectionLost(EdgewiseClientError):
    """The WebSocket dropped while a call was pending, or could not be re-established."""

    code = "client.connection_lost"


class ProtocolViolation(EdgewiseClientError):
    """The server sent something protocol v1 does not allow."""

    code = "client.protocol_violation"


class ClientClosed(EdgewiseClientError):
    """The client or connection was used after ``close()``."""

    code = "client.closed"
