"""What every API request goes through: recording, latency, injected faults, the bearer
check on the gateway, and a JSON error body for anything that goes wrong.

The payer's browser pages (`/hpp/...`) and the `/_sandbox/...` knobs are left alone.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from plugins.payfirma.sandbox import replies
from plugins.payfirma.sandbox.payments import HPP_INIT
from plugins.payfirma.sandbox.state import SANDBOX, FaultKind, SandboxState, Seen

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TRUNCATED_JSON = b'{"invoices": [{"invoice_id": 212947, "total": 10'
UNGUARDED = ("/_sandbox/", "/hpp/")


def faulty(kind: FaultKind | None) -> web.Response | None:
    """The answer a fault gives instead of the real one; None for none (and for a hang)."""
    if kind == "error":
        return replies.error(500, "INTERNAL_SERVER_ERROR", "Internal server error (sandbox fault)")
    if kind == "rate_limit":
        answer = replies.error(429, "TOO_MANY_REQUESTS", "Too many requests (sandbox fault)")
        answer.headers["Retry-After"] = "2"
        return answer
    if kind == "malformed":
        return web.Response(body=TRUNCATED_JSON, content_type="application/json")
    if kind == "shape":
        return web.json_response({"unexpected": "sandbox fault"})
    if kind == "unauthorized":
        return replies.ok(
            {"error": "invalid_token", "error_description": "Token revoked (sandbox fault)"},
            status=401,
        )
    if kind == "decline":
        return replies.error(402, "DECLINED", "Declined by the processor (sandbox fault)")
    return None


def bearer_ok(request: web.Request, state: SandboxState) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    hpp = state.hpp_token if request.path == HPP_INIT else None
    if hpp is not None and hmac.compare_digest(token.encode(), hpp.encode()):
        return True
    return state.token_ok(token)


@web.middleware
async def payfirma_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(UNGUARDED):
        return await handler(request)
    state = request.app[SANDBOX]
    body = await request.read()
    seen = Seen(
        request.method, request.path, request.raw_path, request.headers.get("Authorization"), body
    )
    state.requests.append(seen)
    if state.latency > 0:
        await asyncio.sleep(state.latency)
    kind = state.take_fault(request.path)
    answer = faulty(kind)
    if answer is not None:
        return answer
    if kind == "hang":
        await state.hang()
    if not request.path.startswith("/oauth/") and not bearer_ok(request, state):
        return replies.ok(
            {
                "error": "invalid_token",
                "error_description": "Access token is missing, invalid or expired",
            },
            status=401,
        )
    try:
        return await handler(request)
    except replies.Refusal as refusal:
        return refusal.response()
    except web.HTTPException as error:
        if error.status >= 400:
            code = replies.NOT_FOUND if error.status == 404 else replies.BAD_REQUEST
            return replies.error(error.status, code, error.reason)
        raise
