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

    application_public_key: str = Field(
        title="Application public key",
        min_length=1,
        description="From the PingProxies dashboard, under your approved API application.",
    )
    application_private_key: SecretStr = Field(
        title="Application private key",
        min_length=1,
        description="Shown next to the public key when the application was approved. "
        "Stored encrypted; never shown again.",
    )
    email: str = Field(
        title="Account e-mail",
        min_length=3,
        description="The e-mail address you sign in to PingProxies with.",
    )
    password: SecretStr = Field(
        title="Account password",
        min_length=1,
        description="Your PingProxies password. If the account uses two-factor sign-in, "
        "you will be asked for the code next. Stored encrypted; never shown again.",
        json_schema_extra={"exact": True},  # a password may begin or end with a space
    )
    base_url: str = Field(
        default="https://api.pingproxies.com",
        title="API address",
        description="Leave empty unless PingProxies told you to use another address.",
        json_schema_extra={"advanced": True},
    )
    client_ip: str | None = Field(
        default=None,
        title="This server's public IP address",
        description="Optional: PingProxies asks for the user's IP on each request; "
        "leave empty to send none.",
        json_schema_extra={"advanced": True},
    )
    client_user_agent: str = Field(
        default="invoicebot",
        title="Name sent as the user agent",
        description="Leave empty to send invoicebot.",
        json_schema_extra={"advanced": True},
    )

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
            raise ValueError(
                f"“{value.strip()}” is not an IP address: type one like 203.0.113.7."
            ) from None
