"""PingProxies-shaped answers: `{data, message}` envelopes and `{error, message, api_request_id}`.

Error titles are HTTP reason phrases as in PingProxies' public examples ("Not Found"),
except the sandbox's own business refusals on 422, whose titles say what went wrong
("Invoice Not Payable", "Payment Declined", "Payment Method Not Allowed").
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from plugins.pingproxies import wire
from plugins.pingproxies.sandbox.tokens import Challenge

TWO_FACTOR_STATUS = 499


class Refusal(Exception):
    """Raised by handlers and billing rules; the middleware turns it into an error body."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def response(self) -> web.Response:
        return error(self.status, self.error, self.message)


def request_id() -> str:
    return str(uuid.uuid4())


def error(
    status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = wire.Error(error=title, message=message, api_request_id=request_id())
    return web.json_response(body.to_json(), status=status, headers=headers)


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
