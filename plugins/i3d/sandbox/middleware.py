"""What every `/v3` request goes through: recording, latency, injected faults, the
PRIVATE-TOKEN check, and i3D's Error body for anything that goes wrong.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from plugins.i3d.sandbox import replies
from plugins.i3d.sandbox.state import SANDBOX, Seen

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TRUNCATED_JSON = b'[{"id": "410001", "creationDate": 17'


@web.middleware
async def i3d_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/v3/"):
        return await handler(request)
    state = request.app[SANDBOX]
    body = await request.read()
    state.requests.append(
        Seen(
            request.method, request.path, request.raw_path, request.headers.get("RANGED-DATA"), body
        )
    )
    if state.latency > 0:
        await asyncio.sleep(state.latency)
    fault = state.take_fault(request.path)
    if fault == "error":
        return replies.error(500, replies.INTERNAL_ERROR, "Internal server error (sandbox fault)")
    if fault == "rate_limit":
        answer = replies.error(429, replies.TOO_MANY_REQUESTS, "Too many requests (sandbox fault)")
        answer.headers["Retry-After"] = "2"
        return answer
    if fault == "malformed":
        return web.Response(body=TRUNCATED_JSON, content_type="application/json")
    if fault == "shape":
        return web.json_response([{"unexpected": "sandbox fault"}])
    if fault == "hang":
        await state.hang()
    token = request.headers.get("PRIVATE-TOKEN", "")
    if not hmac.compare_digest(token.encode(), state.token.encode()):
        return replies.error(403, replies.INVALID_CREDENTIALS, "Invalid credentials")
    try:
        return await handler(request)
    except replies.Refusal as refusal:
        return refusal.response()
    except web.HTTPException as error:
        if error.status >= 400:
            code = replies.ENTITY_NOT_FOUND if error.status == 404 else replies.INVALID_INPUT
            return replies.error(error.status, code, error.reason)
        raise
