"""What every Private User API request goes through: recording, latency, the rate limit,
injected faults, the four application headers, the JWT (except on login), and
PingProxies' error body for anything that goes wrong.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.sandbox import replies
from plugins.pingproxies.sandbox.state import SANDBOX, FaultKind, SandboxState, Seen
from plugins.pingproxies.transport import CLIENT_AGENT, CLIENT_IP, PRIVATE_KEY, PUBLIC_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PATH = re.compile(r"^/v?\d+(\.\d+)?/private/")
LOGIN_PATH = ROUTES[Operation.LOGIN].pattern()
TRUNCATED_JSON = b'{"data": [{"invoice_id": "inv_sbx0101", "invoice_total": 12'


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


async def fault_reply(state: SandboxState, fault: FaultKind | None) -> web.Response | None:
    if fault == "error":
        return replies.error(500, "Internal Server Error", "Something went wrong (sandbox fault).")
    if fault == "rate_limit":
        return replies.error(
            429, "Too Many Requests", "Slow down (sandbox fault).", headers={"Retry-After": "2"}
        )
    if fault == "malformed":
        return web.Response(body=TRUNCATED_JSON, content_type="application/json")
    if fault == "shape":
        return web.json_response({"data": {"unexpected": "sandbox fault"}, "message": "OK"})
    if fault == "two_factor":
        return replies.two_factor(state.challenge())
    if fault == "hang":
        await state.hang()
    return None


@web.middleware
async def pingproxies_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not API_PATH.match(request.path):
        return await handler(request)
    state = request.app[SANDBOX]
    body = await request.read()
    state.requests.append(
        Seen(request.method, request.path, request.query_string, dict(request.headers), body)
    )
    if state.latency > 0:
        await asyncio.sleep(state.latency)
    wait = state.over_limit()
    if wait is not None:
        return replies.error(
            429,
            "Too Many Requests",
            f"More than {state.rate_limit} requests per second; slow down.",
            headers={"Retry-After": str(wait)},
        )
    fault = state.take_fault(request.path)
    problem = (
        await fault_reply(state, fault)
        or application_problem(request, state)
        or (None if request.path == LOGIN_PATH else token_problem(request, state))
    )
    if problem is not None:
        return problem
    answer = await answered(request, handler)
    if fault == "lost_answer":
        return replies.error(502, "Bad Gateway", "The answer was lost (sandbox fault).")
    return answer


async def answered(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except replies.Refusal as refusal:
        return refusal.response()
    except web.HTTPException as error:
        if error.status >= 400:
            return replies.error(error.status, error.reason, _said(error.status))
        raise


def _said(status: int) -> str:
    if status == 404:
        return "The requested resource could not be found."
    if status == 405:
        return "This method is not allowed on this route."
    return "The request could not be handled."
