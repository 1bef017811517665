"""One HTTP exchange with PingProxies, carrying the four application headers every time.

PingProxies' Private User API wants the application's key pair and the end user's IP
address and user agent on every request, login included; they are built here and
nowhere else. Secrets (the private key, the JWT) go only into headers, never into logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict
from pydantic import SecretStr
from yarl import URL

from bot.provider import ProviderUnavailable
from plugins.pingproxies.routes import AUTHORIZATION_PREFIX, Route

PUBLIC_KEY = "X-Application-API-Public-Key"
PRIVATE_KEY = "X-Application-API-Private-Key"
CLIENT_IP = "X-Application-Forwarded-Client-IP-Address"
CLIENT_AGENT = "X-Application-Forwarded-Client-User-Agent"
APPLICATION_HEADERS = (PUBLIC_KEY, PRIVATE_KEY, CLIENT_IP, CLIENT_AGENT)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: CIMultiDict[str]


class Transport:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        *,
        public_key: str,
        private_key: SecretStr,
        client_ip: str | None,
        user_agent: str,
        timeout: float,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.public_key = public_key
        self.private_key = private_key
        self.client_ip = client_ip
        self.user_agent = user_agent
        self.timeout = timeout

    def application_headers(self) -> dict[str, str]:
        """The four headers; an unknown client IP is sent empty rather than made up."""
        return {
            PUBLIC_KEY: self.public_key,
            PRIVATE_KEY: self.private_key.get_secret_value(),
            CLIENT_IP: self.client_ip or "",
            CLIENT_AGENT: self.user_agent,
            "Accept": "application/json",
        }

    async def send(
        self,
        route: Route,
        object_id: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        token: str | None = None,
    ) -> Answer:
        url = URL(self.base_url + route.url_path(object_id), encoded=True)
        if params:
            url = url.update_query(params)
        headers = self.application_headers()
        if token is not None:
            headers["Authorization"] = AUTHORIZATION_PREFIX + token
        try:
            async with self.http.request(
                route.method,
                url,
                headers=headers,
                json=json,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return Answer(response.status, body, CIMultiDict(response.headers))
        except TimeoutError:
            raise ProviderUnavailable(
                f"PingProxies did not answer within {self.timeout:g} s; try again in a few minutes."
            ) from None
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(
                f"Could not reach PingProxies at {self.base_url} ({type(error).__name__}: {error})."
            ) from None
