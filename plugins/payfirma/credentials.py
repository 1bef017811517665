"""What the connect dialog asks for: a PayHQ API client, and where Payfirma lives.

The hosts follow Payfirma's rule (`https://sandbox-xxxx.payfirma.com` for the sandbox);
the URL overrides exist so a demo or a test can point both at a local sandbox.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.kit.checks import web_address

HOSTS: dict[str, tuple[str, str]] = {
    "sandbox": ("https://sandbox-auth.payfirma.com", "https://sandbox-apigateway.payfirma.com"),
    "production": ("https://auth.payfirma.com", "https://apigateway.payfirma.com"),
}


class PayfirmaCredentials(BaseModel):
    """A client id and secret from PayHQ (Settings > API), for the sandbox or production."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    environment: Literal["sandbox", "production"] = "sandbox"
    hpp_token: SecretStr | None = Field(
        default=None,
        description="The token from PayHQ > Settings > Hosted Pay Page, if yours needs one; "
        "empty means the API client's token is used. Stored encrypted.",
    )
    invoice_path: Literal["/invoice", "/invoice-service/invoice"] = Field(
        default="/invoice",
        description="Where the gateway serves invoices; the documents say /invoice.",
    )
    auth_url: str | None = Field(default=None, description="Override the sign-in host.")
    gateway_url: str | None = Field(default=None, description="Override the API gateway.")

    @field_validator("auth_url", "gateway_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return web_address(value, "https://apigateway.payfirma.com")

    @property
    def auth_base(self) -> str:
        return self.auth_url or HOSTS[self.environment][0]

    @property
    def gateway_base(self) -> str:
        return self.gateway_url or HOSTS[self.environment][1]
