"""PingProxies-shaped answers: `{data, message}` envelopes and `{error, message, api_request_id}`.

Error titles are HTTP reason phrases as in PingProxies' public examples ("Not Found"),
except the sandbox's own business refusals on 422, whose titles say what went wrong
("Invoice Not Payable", "Payment Declined", "Payment Method Not Allowed").
"""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from bot import sandbox
from plugins.pingproxies import wire
from plugins.pingproxies.sandbox.tokens import Challenge

TWO_FACTOR_STATUS = 499
M = TypeVar("M", bound=BaseModel)


class Refusal(sandbox.Refusal):
    """Raised by handlers and billing rules; the middleware turns it into an error body."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(status, message)
        self.error = error

    def response(self) -> web.Response:
        return error(self.status, self.error, self.message)


def request_id() -> str:
    return str(uuid.uuid4())


def error(
    status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = wire.Error(error=title, message=message, api_request_id=request_id())
    return web.json_response(body.to_json(), status=status, headers=headers)


def error_for(status: int, message: str) -> web.Response:
    """An error body titled with the status's reason phrase, as PingProxies' examples are."""
    return error(status, HTTPStatus(status).phrase, message)


def ok(data: wire.WireModel | dict[str, Any], message: str, status: int = 200) -> web.Response:
    payload = data.to_json() if isinstance(data, wire.WireModel) else data
    return web.json_response({"data": payload, "message": message}, status=status)


def two_factor(challenge: Challenge) -> web.Response:
    body = wire.TwoFactorChallenge(
        error="Two Factor Authentication Required",
        message="A verification code has been sent to your email address.",
        two_factor_authentication_public_key=challenge.public_key,
        two_factor_authentication_service="email",
        two_factor_authentication_target=challenge.target,
        api_request_id=request_id(),
    )
    return web.json_response(body.to_json(), status=TWO_FACTOR_STATUS)


async def body_as(request: web.Request, model: type[M]) -> M:
    """The request body as `model`, or 400 naming the field and what is wrong with it."""
    try:
        return await sandbox.read_body(request, model)
    except sandbox.BodyProblem as problem:
        raise Refusal(400, "Bad Request", str(problem)) from None
