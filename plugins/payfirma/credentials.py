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

    client_id: str = Field(
        min_length=1,
        title="Client ID",
        description="In PayHQ under Settings > API: create an API client and copy its ID.",
    )
    client_secret: SecretStr = Field(
        title="Client secret",
        description="Shown with the client ID in PayHQ > Settings > API. "
        "Stored encrypted; never shown again.",
    )
    environment: Literal["sandbox", "production"] = Field(
        default="sandbox",
        title="Which Payfirma account",
        description="A sandbox account for trying things out, or your live account.",
        json_schema_extra={"labels": {"sandbox": "Sandbox (test)", "production": "Live"}},
    )
    hpp_token: SecretStr | None = Field(
        default=None,
        title="Hosted Pay Page token",
        description="Needed for customers to pay by card: PayHQ > Settings > Hosted Pay "
        "Page. Without it invoices are listed, created and e-mailed. Stored encrypted.",
    )
    invoice_path: Literal["/invoice", "/invoice-service/invoice"] = Field(
        default="/invoice",
        title="Invoice address at Payfirma",
        description="Keep the default unless Payfirma support told you otherwise.",
        json_schema_extra={"advanced": True},
    )
    auth_url: str | None = Field(
        default=None,
        title="Sign-in address",
        description="Leave empty to use Payfirma's own.",
        json_schema_extra={"advanced": True},
    )
    gateway_url: str | None = Field(
        default=None,
        title="API address",
        description="Leave empty to use Payfirma's own.",
        json_schema_extra={"advanced": True},
    )

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
