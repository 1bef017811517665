"""Acme Billing: a complete example provider plugin, small enough to read in one sitting.

Copy this folder to start a provider of your own (see docs/writing-a-provider.md). It is
not installed with invoicebot: publish it under the `invoicebot` entry-point group
(section 8 of that guide), as the bundled providers are.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import hookimpl
from bot.provider import Provider, Sandbox
from examples.acme_billing.provider import AcmeCredentials, AcmeProvider

__all__ = ["AcmeCredentials", "AcmeProvider"]


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(AcmeProvider)


@hookimpl
def register_sandboxes(register: Callable[[Sandbox], None]) -> None:
    def make_app(landing_url: str):  # type: ignore[no-untyped-def]
        from examples.acme_billing.sandbox import create_app  # never loaded by `run`

        return create_app(landing_url)

    register(
        Sandbox(
            provider="acme",
            make_app=make_app,
            credentials=lambda base_url: AcmeCredentials(
                api_key="acme-demo-key", base_url=base_url
            ),
        )
    )
