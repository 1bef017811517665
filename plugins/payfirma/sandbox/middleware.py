"""What every API request goes through: recording, latency, injected faults, the bearer
check on the gateway, and a JSON error body for anything that goes wrong.

The payer's browser pages (`/hpp/...`) and the `/_sandbox/...` knobs are left alone.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.sandbox import FaultReplies, Handler, answered
from plugins.payfirma.sandbox import replies
from plugins.payfirma.sandbox.payments import HPP_INIT
from plugins.payfirma.sandbox.state import SANDBOX, SandboxState

UNGUARDED = ("/_sandbox/", "/hpp/")
FAULTS = FaultReplies(
    error=replies.error_for,
    truncated=b'{"invoices": [{"invoice_id": 212947, "total": 10',
    shape={"unexpected": "sandbox fault"},
)


async def faulty(state: SandboxState, kind: str | None) -> web.Response | None:
    """The answer a fault gives instead of the real one; None for none (after a hang)."""
    if kind == "unauthorized":
        return replies.ok(
            {"error": "invalid_token", "error_description": "Token revoked (sandbox fault)"},
            status=401,
        )
    if kind == "decline":
        return replies.error(402, "DECLINED", "Declined by the processor (sandbox fault)")
    if kind == "bad_request":
        return replies.error_for(400, "Request refused (sandbox fault)")
    if kind == "forbidden":  # an API client without this permission, say
        return replies.error(403, "FORBIDDEN", "Not allowed for this API client (sandbox fault)")
    return await FAULTS.answer(state, kind)


def bearer_ok(request: web.Request, state: SandboxState) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    if request.path == HPP_INIT:  # the Hosted Pay Page's own token, not an API token
        return hmac.compare_digest(token.encode(), state.hpp_token.encode())
    return state.token_ok(token)


@web.middleware
async def payfirma_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(UNGUARDED):
        return await handler(request)
    state = request.app[SANDBOX]
    await state.arrived(request)
    fault = state.take_fault(request.path, request.method)
    answer = await faulty(state, fault)
    if answer is not None:
        return answer
    if not request.path.startswith("/oauth/") and not bearer_ok(request, state):
        return replies.ok(
            {
                "error": "invalid_token",
                "error_description": "Access token is missing, invalid or expired",
            },
            status=401,
        )
    answer = await answered(request, handler, replies.error_for)
    if fault == "lost" and request.transport is not None:
        request.transport.close()  # carried out, then the connection drops before the answer
    return answer
