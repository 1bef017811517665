"""What the connect dialog asks for PingProxies, and why the forwarded headers default as they do.

PingProxies wants the end user's IP address and user agent on every request (they feed
its rate limiting and brute-force blocking). The bot acts for a Slack workspace, not for
a browser, and Slack never tells it anyone's IP: so the IP is optional and, when unset,
sent empty rather than invented; an admin may enter the server's public address. The
user agent names the bot honestly: "invoicebot".
"""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.kit.checks import web_address


class PingProxiesCredentials(BaseModel):
    """The approved application's key pair, and the PingProxies account it signs in as."""

    application_public_key: str = Field(title="Application public key", min_length=1)
    application_private_key: SecretStr = Field(title="Application private key", min_length=1)
    email: str = Field(title="Account e-mail", min_length=3)
    password: SecretStr = Field(title="Account password", min_length=1)
    base_url: str = Field(default="https://api.pingproxies.com", title="API base URL")
    client_ip: str | None = Field(
        default=None,
        title="Forwarded client IP address",
        description="Optional: this server's public IP, sent as the end user's address.",
    )
    client_user_agent: str = Field(default="invoicebot", title="Forwarded client user agent")

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        return web_address(value, "https://api.pingproxies.com")

    @field_validator("client_ip")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None
