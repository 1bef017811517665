"""The account's sign-in: one JWT per provider instance, renewed when PingProxies says 401.

The password travels only in the login body. A 499 from login becomes
`TwoFactorRequired`; `answer` repeats the login with the challenge's public key and the
code the person typed, which lives only in this call's arguments: never kept, never
logged. A lock makes concurrent callers share one login instead of racing several.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import SecretStr, ValidationError

from bot.provider import BadCredentials, ProviderError, WrongCode
from plugins.pingproxies import errors, wire
from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.transport import Transport

log = logging.getLogger(__name__)

REFUSED_CODE = (400, 401, 403, 422, errors.TWO_FACTOR_STATUS)
#: Whether PingProxies takes an empty forwarded IP is not documented; 401 is its answer
#: to wrong keys or password, so only its other refusals may be about the IP.
NO_CLIENT_IP = (
    " No client IP address is set: if PingProxies wants one, enter this server's public IP "
    "address in the PingProxies connection settings."
)


class Session:
    def __init__(self, transport: Transport, email: str, password: SecretStr) -> None:
        self.transport = transport
        self.email = email
        self.password = password
        self._token: str | None = None
        self._lock = asyncio.Lock()

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    async def token(self) -> str:
        """The cached JWT, signing in first if there is none."""
        async with self._lock:
            if self._token is None:
                self._token = await self._login()
            return self._token

    async def renew(self, stale: str) -> str:
        """A new JWT after `stale` was refused; if another call already renewed, reuse that."""
        async with self._lock:
            if self._token is None or self._token == stale:
                self._token = None
                log.info("PingProxies refused the sign-in token; signing in again")
                self._token = await self._login()
            return self._token

    def forget(self) -> None:
        """Drop the JWT: the next call signs in again."""
        self._token = None

    async def answer(self, challenge: str, code: str) -> None:
        """Finish a two-factor sign-in; a refused code is `BadCredentials`."""
        async with self._lock:
            self._token = await self._login(challenge, code.strip())

    async def _login(self, challenge: str | None = None, code: str | None = None) -> str:
        body = wire.LoginRequest(
            customer_email_address=self.email,
            customer_password=self.password.get_secret_value(),
            two_factor_authentication_public_key=challenge,
            two_factor_authentication_private_key=code,
        )
        answer = await self.transport.send(
            ROUTES[Operation.LOGIN], json=body.model_dump(exclude_none=True)
        )
        if answer.status in (200, 201):
            try:
                parsed = wire.Envelope[wire.AccessToken].model_validate_json(answer.body)
            except ValidationError as error:
                raise errors.unreadable("login", errors.problem(error)) from None
            return parsed.data.access_token
        raise self._refusal(answer.status, answer.body, answer.headers.get("Retry-After"), code)

    def _refusal(
        self, status: int, body: bytes, retry_after: str | None, code: str | None
    ) -> ProviderError:
        text = errors.quoted(status, body)
        if code is not None and status in REFUSED_CODE:
            if "expired" in text.casefold():
                return BadCredentials(
                    f"PingProxies says this sign-in has expired ({text}). Connect PingProxies "
                    "again to get a new code."
                )
            # A mistyped code leaves the challenge open (PingProxies ends it after a few
            # wrong tries, and then says it expired): the person may type it again.
            return WrongCode(
                "PingProxies did not accept that code. Check the latest e-mail from "
                "PingProxies and type the code again."
            )
        if status == errors.TWO_FACTOR_STATUS:
            return errors.two_factor(body, f"signing in as {self.email}")
        if status in (400, 401, 403, 422):
            return BadCredentials(
                f"PingProxies refused to sign in as {self.email} ({text}). Check the account "
                "e-mail and password, and the application public and private keys."
                + (NO_CLIENT_IP if status != 401 and not self.transport.client_ip else "")
            )
        if status in (404, 405):
            log.warning("PingProxies has no login route at %s", self.transport.base_url)
            return BadCredentials(
                f"PingProxies has no login route at the API address used ({text}); check it "
                "(normally https://api.pingproxies.com)."
            )
        return errors.for_status(status, body, retry_after_header=retry_after)
