"""One HTTP exchange with PingProxies, carrying the four application headers every time.

PingProxies' Private User API wants the application's key pair and the end user's IP
address and user agent on every request, login included; they are built here and
nowhere else. Secrets (the private key, the JWT) go only into headers, never into logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.kit.http import Answer, ProviderHttp
from plugins.pingproxies.routes import AUTHORIZATION_PREFIX, Route

PUBLIC_KEY = "X-Application-API-Public-Key"
PRIVATE_KEY = "X-Application-API-Private-Key"
CLIENT_IP = "X-Application-Forwarded-Client-IP-Address"
CLIENT_AGENT = "X-Application-Forwarded-Client-User-Agent"
APPLICATION_HEADERS = (PUBLIC_KEY, PRIVATE_KEY, CLIENT_IP, CLIENT_AGENT)


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
        read_retries: int = 2,
        retry_delay: float = 0.25,
    ) -> None:
        self.http = ProviderHttp(
            http,
            base_url,
            name="PingProxies",
            timeout=timeout,
            read_retries=read_retries,
            retry_delay=retry_delay,
        )
        self.public_key = public_key
        self.private_key = private_key
        self.client_ip = client_ip
        self.user_agent = user_agent

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def timeout(self) -> float:
        return self.http.timeout

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
        headers = self.application_headers()
        if token is not None:
            headers["Authorization"] = AUTHORIZATION_PREFIX + token
        return await self.http.send(
            route.method, route.url_path(object_id), headers=headers, params=params, json=json
        )
