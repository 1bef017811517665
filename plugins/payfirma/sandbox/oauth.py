"""The sign-in service: `POST /oauth/token` with the client-credentials grant.

Credentials come in a Basic header, in the form body, or both (then they must agree),
as Payfirma's samples send them. Wrong ones get RFC 6749's `invalid_client` with 401;
tokens live `token_lifetime` seconds, after which the gateway answers 401.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from plugins.payfirma.sandbox.replies import ok
from plugins.payfirma.sandbox.state import SANDBOX, SandboxState

TOKEN_PATH = "/oauth/token"


def refusal(status: int, code: str, description: str) -> web.Response:
    return ok({"error": code, "error_description": description}, status=status)


def basic(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def known(state: SandboxState, pair: tuple[str, str]) -> bool:
    client_id, secret = pair
    return hmac.compare_digest(client_id.encode(), state.client_id.encode()) and (
        hmac.compare_digest(secret.encode(), state.client_secret.encode())
    )


async def token(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return refusal(400, "unsupported_grant_type", "Only client_credentials is supported")
    offered = [basic(request.headers.get("Authorization"))]
    if "client_id" in form or "client_secret" in form:
        offered.append((str(form.get("client_id", "")), str(form.get("client_secret", ""))))
    pairs = [pair for pair in offered if pair is not None]
    if not pairs or not all(known(state, pair) for pair in pairs):
        return refusal(401, "invalid_client", "Bad client credentials")
    return ok(
        {
            "access_token": state.issue_token(),
            "token_type": "bearer",
            "expires_in": state.token_lifetime,
            "merchant_id": state.merchant_id,
            "scope": "ecom invoice",
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_post(TOKEN_PATH, token)
