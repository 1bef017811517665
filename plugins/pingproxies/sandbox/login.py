"""`POST /{v}/private/user/customer/login`: e-mail and password in, a JWT out, maybe via 2FA.

With `two_factor` on, a login without the two-factor keys answers 499 and "e-mails" a
code (kept in `state.last_code` for tests); the same login repeated with
`two_factor_authentication_public_key` and `..._private_key` (the code) succeeds. A
challenge raised by an injected `two_factor` fault on another route is answered the same way.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from plugins.pingproxies import wire
from plugins.pingproxies.sandbox import replies
from plugins.pingproxies.sandbox.replies import Refusal
from plugins.pingproxies.sandbox.state import SANDBOX


async def login(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    body = await replies.body_as(request, wire.LoginRequest)
    right_email = body.customer_email_address.strip().lower() == state.email.lower()
    right_password = hmac.compare_digest(body.customer_password.encode(), state.password.encode())
    if not (right_email and right_password):
        raise Refusal(401, "Unauthorized", "Invalid email address or password.")
    public_key = body.two_factor_authentication_public_key
    code = body.two_factor_authentication_private_key
    if public_key is not None or code is not None:
        verdict = state.tokens.answer(public_key or "", code or "")
        if verdict == "unknown":
            raise Refusal(
                401,
                "Unauthorized",
                "The two factor authentication request has expired; log in again.",
            )
        if verdict == "wrong":
            raise Refusal(401, "Unauthorized", "The two factor authentication code is incorrect.")
    elif state.two_factor:
        return replies.two_factor(state.challenge())
    token = state.tokens.issue(state.email, state.token_ttl)
    return replies.ok(wire.AccessToken(access_token=token), "Login successful.")
