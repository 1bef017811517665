"""i3D-shaped answers: JSON bodies, and errors as `{errorCode, errorMessage, errors}`.

The error codes are the sandbox's own (i3D's catalogue is not public), except 10001,
which i3D's usage page shows for "Entity not found".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import sandbox
from plugins.i3d import wire

ENTITY_NOT_FOUND = 10001
INVALID_CREDENTIALS = 10003
INVALID_INPUT = 10004
NOT_PAYABLE = 10005
TOO_MANY_REQUESTS = 10006
INTERNAL_ERROR = 10500


CODES = {404: ENTITY_NOT_FOUND, 429: TOO_MANY_REQUESTS, 500: INTERNAL_ERROR}


class Refusal(sandbox.Refusal):
    """Raised by handlers and billing rules; the middleware turns it into an Error body."""

    def __init__(
        self, status: int, message: str, *, code: int = NOT_PAYABLE, property: str = ""
    ) -> None:
        super().__init__(status, message)
        self.code = code
        self.property = property

    def response(self) -> web.Response:
        details = [wire.ErrorDetails(property=self.property, message=self.message)]
        return error(self.status, self.code, self.message, details if self.property else [])


def error(
    status: int, code: int, message: str, details: list[wire.ErrorDetails] | None = None
) -> web.Response:
    body = wire.Error(errorCode=code, errorMessage=message, errors=details or [])
    return web.json_response(body.to_json(), status=status)


def error_for(status: int, message: str) -> web.Response:
    """An Error body whose code follows from the HTTP status."""
    return error(status, CODES.get(status, INVALID_INPUT), message)


def ok(payload: wire.WireModel | dict[str, Any] | list[Any], **headers: str) -> web.Response:
    if isinstance(payload, wire.WireModel):
        body: Any = payload.to_json()
    elif isinstance(payload, dict):
        body = payload
    else:
        body = [item.to_json() if isinstance(item, wire.WireModel) else item for item in payload]
    return web.json_response(body, headers=headers or None)
