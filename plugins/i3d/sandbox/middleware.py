"""What every `/v3` request goes through: recording, latency, injected faults, the
PRIVATE-TOKEN check, and i3D's Error body for anything that goes wrong.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.sandbox import FaultReplies, Handler, answered
from plugins.i3d.sandbox import replies
from plugins.i3d.sandbox.state import SANDBOX

FAULTS = FaultReplies(
    error=replies.error_for,
    truncated=b'[{"id": "410001", "creationDate": 17',
    shape=[{"unexpected": "sandbox fault"}],
)


@web.middleware
async def i3d_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/v3/"):
        return await handler(request)
    state = request.app[SANDBOX]
    await state.arrived(request)
    faulty = await FAULTS.answer(state, state.take_fault(request.path, request.method))
    if faulty is not None:
        return faulty
    token = request.headers.get("PRIVATE-TOKEN", "")
    if not hmac.compare_digest(token.encode(), state.token.encode()):
        return replies.error(403, replies.INVALID_CREDENTIALS, "Invalid credentials")
    return await answered(request, handler, replies.error_for)
