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

from bot.provider import BadCredentials, ProviderError, ProviderUnavailable
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
        self.http = http
        self.url = auth_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
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
        for attempt in range(self.retries + 1):
            try:
                answer = await self._ask()
            except ProviderUnavailable as failure:
                if attempt == self.retries:
                    raise
                log.info("Payfirma token request failed (%s); retrying", failure)
                await asyncio.sleep(self.retry_delay * 2**attempt)
            else:
                lifetime = float(answer.expires_in or ASSUMED_LIFETIME)
                self._token = answer.access_token
                self._renew_at = self.clock() + lifetime - min(EARLY, lifetime / 10)
                self.merchant_id = None if answer.merchant_id is None else str(answer.merchant_id)
                return

    async def _ask(self) -> wire.Token:
        secret = self.client_secret.get_secret_value()
        basic = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode()
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": secret,
        }
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        try:
            async with self.http.post(
                self.url,
                data=form,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                status, body = response.status, await response.read()
        except TimeoutError:
            raise ProviderUnavailable(
                f"Payfirma's sign-in service did not answer within {self.timeout:g} s; "
                "try again in a few minutes."
            ) from None
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(
                f"Could not reach Payfirma's sign-in service at {self.url} "
                f"({type(error).__name__}: {error})."
            ) from None
        if status != 200:
            raise self._refusal(status, body)
        try:
            return wire.Token.model_validate(wire.decode(body))
        except ValidationError as error:
            raise errors.unreadable("sign-in", errors.problem_of(error)) from None
        except ValueError:
            raise errors.unreadable("sign-in", "not valid JSON") from None

    def _refusal(self, status: int, body: bytes) -> ProviderError:
        code, _ = errors.said(body)
        if status in (400, 401, 403) and (code or status != 400):
            reason = code or f"HTTP {status}"
            return BadCredentials(
                f"Payfirma refused the client id or secret ({reason}). Check them in PayHQ "
                "(Settings > API) and that the environment (sandbox or production) matches."
            )
        if status == 404:
            return BadCredentials(
                f"Payfirma has no sign-in service at {self.url}; check the environment "
                "or the auth URL."
            )
        return errors.for_status(status, body)
