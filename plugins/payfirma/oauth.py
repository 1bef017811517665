"""Payfirma's OAuth2 client-credentials token, fetched once and reused until near expiry.

Payfirma asks for the client id and secret "with a Basic token in your header"; its
public samples also repeat them in the form body, so we send both. The lifetime is
undocumented: we trust `expires_in`, renew a little early, assume five minutes when it
is missing, and renew once more whenever the gateway answers 401.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable

import aiohttp
from pydantic import SecretStr, ValidationError

from bot.kit.http import Answer, ProviderHttp
from bot.provider import BadCredentials, ProviderError
from plugins.payfirma import errors, wire

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
ASSUMED_LIFETIME = 300.0
EARLY = 60.0


class TokenSource:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        auth_url: str,
        client_id: str,
        client_secret: SecretStr,
        *,
        timeout: float,
        retries: int = 2,
        retry_delay: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = ProviderHttp(
            http,
            auth_url.rstrip("/") + TOKEN_PATH,
            name="Payfirma's sign-in service",
            timeout=timeout,
            read_retries=retries,
            retry_delay=retry_delay,
        )
        self.url = self.http.base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.merchant_id: str | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """The cached token, or a new one when there is none or it is about to expire."""
        async with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    async def renew(self, stale: str) -> str:
        """A new token after the gateway refused `stale`; callers racing here fetch once."""
        async with self._lock:
            if self._token in (None, stale):
                await self._fetch()
            assert self._token is not None
            return self._token

    async def fetch(self) -> str:
        async with self._lock:
            await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        """Asking for a token changes nothing at Payfirma, so it is retried like a read."""
        answer = await self.http.retrying(self._ask, self._refusal, "token request")
        try:
            token = wire.Token.model_validate(wire.decode(answer.body))
        except ValidationError as error:
            raise errors.unreadable("sign-in", errors.problem_of(error)) from None
        except ValueError:
            raise errors.unreadable("sign-in", "not valid JSON") from None
        lifetime = float(token.expires_in or ASSUMED_LIFETIME)
        self._token = token.access_token
        self._renew_at = self.clock() + lifetime - min(EARLY, lifetime / 10)
        self.merchant_id = None if token.merchant_id is None else str(token.merchant_id)

    async def _ask(self) -> Answer:
        secret = self.client_secret.get_secret_value()
        basic = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode()
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": secret,
        }
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        return await self.http.send("POST", "", data=form, headers=headers)

    def _refusal(self, answer: Answer) -> ProviderError:
        status, body = answer.status, answer.body
        code, _ = errors.said(body)
        if status in (400, 401, 403) and (code or status != 400):
            reason = code or f"HTTP {status}"
            return BadCredentials(
                f"Payfirma refused the client id or secret ({reason}). Check them in PayHQ "
                "(Settings > API) and that the environment (sandbox or production) matches."
            )
        if status == 404:
            log.warning("Payfirma has no sign-in service at %s", self.url)
            return BadCredentials(
                "Payfirma has no sign-in service at the sign-in address used; check which "
                "Payfirma account (sandbox or live) is chosen, or the sign-in address."
            )
        return errors.for_status(status, body, without_reason=errors.SIGN_IN_WITHOUT_REASON)
