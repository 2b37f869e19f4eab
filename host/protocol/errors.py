"""Mapping of host errors to their wire shapes: an HTTP error body or a WebSocket error frame.

Only ``EdgewiseError`` carries a message safe to show; anything else becomes ``internal`` with
the fixed message ``internal error`` (the transport logs the original).
"""

from __future__ import annotations

from typing import Any

from edgewise.host.errors import EdgewiseError
from edgewise.host.protocol.messages import ErrorFrame, FrameId

INTERNAL_CODE = "internal"
INTERNAL_MESSAGE = "internal error"


def _public(exc: BaseException) -> tuple[str, str]:
    """The code and message a client may see."""
    if isinstance(exc, EdgewiseError):
        return exc.code, exc.message
    return INTERNAL_CODE, INTERNAL_MESSAGE


def error_body(exc: BaseException) -> dict[str, Any]:
    """``{"error": {"code", "message"}}`` for an HTTP response."""
    code, message = _public(exc)
    return {"error": {"code": code, "message": message}}


def error_status(exc: BaseException) -> int:
    return exc.status if isinstance(exc, EdgewiseError) else 500


def error_frame(exc: BaseException, frame_id: FrameId | None = None) -> ErrorFrame:
    code, message = _public(exc)
    return ErrorFrame(id=frame_id, code=code, message=message)
