"""What every Private User API request goes through: recording, latency, the rate limit,
injected faults, the four application headers, the JWT (except on login), and
PingProxies' error body for anything that goes wrong.
"""

from __future__ import annotations

import hmac
import ipaddress
import re

from aiohttp import web

from bot.sandbox import FaultReplies, Handler, answered
from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.sandbox import replies
from plugins.pingproxies.sandbox.state import SANDBOX, SandboxState
from plugins.pingproxies.transport import CLIENT_AGENT, CLIENT_IP, PRIVATE_KEY, PUBLIC_KEY

API_PATH = re.compile(r"^/v?\d+(\.\d+)?/private/")
LOGIN_PATH = ROUTES[Operation.LOGIN].pattern()
FAULTS = FaultReplies(
    error=replies.error_for,
    truncated=b'{"data": [{"invoice_id": "inv_sbx0101", "invoice_total": 12',
    shape={"data": {"unexpected": "sandbox fault"}, "message": "OK"},
)


def application_problem(request: web.Request, state: SandboxState) -> web.Response | None:
    """401 for wrong application keys; 400 for missing or malformed forwarded headers."""
    public = request.headers.get(PUBLIC_KEY, "")
    private = request.headers.get(PRIVATE_KEY, "")
    if not (
        hmac.compare_digest(public.encode(), state.public_key.encode())
        and hmac.compare_digest(private.encode(), state.private_key.encode())
    ):
        return replies.error(401, "Unauthorized", "Invalid application API keys.")
    for header in (CLIENT_IP, CLIENT_AGENT):
        if header not in request.headers:
            return replies.error(400, "Bad Request", f"The {header} header is required.")
    address = request.headers[CLIENT_IP].strip()
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return replies.error(
                400, "Bad Request", f"{CLIENT_IP} must be an IP address, not {address!r}."
            )
    elif state.require_client_ip:
        return replies.error(400, "Bad Request", f"{CLIENT_IP} must carry the user's IP address.")
    if not request.headers[CLIENT_AGENT].strip():
        return replies.error(400, "Bad Request", f"{CLIENT_AGENT} must not be empty.")
    return None


def token_problem(request: web.Request, state: SandboxState) -> web.Response | None:
    """The JWT, sent bare (as the documents show) or after "Bearer "."""
    token = request.headers.get("Authorization", "").strip()
    scheme, _, rest = token.partition(" ")
    if rest and scheme.lower() == "bearer":
        token = rest.strip()
    if not token:
        return replies.error(401, "Unauthorized", "An access token is required; log in first.")
    verdict = state.tokens.check(token)
    if verdict == "expired":
        return replies.error(401, "Unauthorized", "The access token has expired; log in again.")
    if verdict == "unknown":
        return replies.error(401, "Unauthorized", "The access token is not valid.")
    return None


async def own_fault(state: SandboxState, fault: str | None) -> web.Response | None:
    if fault == "two_factor":
        return replies.two_factor(state.challenge())
    return await FAULTS.answer(state, fault)


@web.middleware
async def pingproxies_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not API_PATH.match(request.path):
        return await handler(request)
    state = request.app[SANDBOX]
    await state.arrived(request)
    wait = state.over_limit()
    if wait is not None:
        return replies.error(
            429,
            "Too Many Requests",
            f"More than {state.rate_limit} requests per second; slow down.",
            headers={"Retry-After": str(wait)},
        )
    fault = state.take_fault(request.path, request.method)
    problem = (
        await own_fault(state, fault)
        or application_problem(request, state)
        or (None if request.path == LOGIN_PATH else token_problem(request, state))
    )
    if problem is not None:
        return problem
    answer = await answered(request, handler, route_error)
    if fault == "lost_answer":
        return replies.error(502, "Bad Gateway", "The answer was lost (sandbox fault).")
    return answer


def route_error(status: int, reason: str) -> web.Response:
    return replies.error(status, reason, _said(status))


def _said(status: int) -> str:
    if status == 404:
        return "The requested resource could not be found."
    if status == 405:
        return "This method is not allowed on this route."
    return "The request could not be handled."
