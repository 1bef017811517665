"""Payfirma-shaped answers: JSON with exact decimal dollars, and errors that carry a message.

Payfirma documents that "each response carries a message" but not the error body, so
the sandbox answers `{"error": CODE, "message": words}` on the gateway and RFC 6749's
`{"error", "error_description"}` on the sign-in service.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from bot import sandbox
from plugins.payfirma import wire

M = TypeVar("M", bound=BaseModel)

BAD_REQUEST = "BAD_REQUEST"
NOT_FOUND = "NOT_FOUND"


CODES = {
    404: NOT_FOUND,
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
}


class Refusal(sandbox.Refusal):
    """Raised by handlers and billing rules; the middleware turns it into an error body."""

    def __init__(self, status: int, message: str, *, code: str = BAD_REQUEST) -> None:
        super().__init__(status, message)
        self.code = code

    def response(self) -> web.Response:
        return error(self.status, self.code, self.message)


def error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return ok({"error": code, "message": message, **extra}, status=status)


def error_for(status: int, message: str) -> web.Response:
    """An error body whose code follows from the HTTP status."""
    return error(status, CODES.get(status, BAD_REQUEST), message)


def ok(payload: Any, *, status: int = 200, **headers: str) -> web.Response:
    body = payload.to_json() if isinstance(payload, wire.Model) else payload
    return web.Response(
        body=wire.encode(body),
        status=status,
        content_type="application/json",
        headers=headers or None,
    )


async def parsed(request: web.Request, model: type[M]) -> M:
    """The request body as `model`, read with exact decimals; 400 with the reason if not."""
    try:
        return await sandbox.read_body(request, model, decode=wire.decode)
    except sandbox.BodyProblem as problem:
        raise Refusal(400, str(problem)) from None
