"""A local stand-in for PingProxies' Private User API (invoices) and its payment platforms.

`create_app()` gives an aiohttp app; its state and knobs are `app[SANDBOX]`.
Run it alone with `python -m plugins.pingproxies.sandbox --port 8102`.
"""

from bot.sandbox import Fault
from plugins.pingproxies.sandbox.app import (
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RETURN_URL,
    create_app,
)
from plugins.pingproxies.sandbox.samples import (
    RedirectMethod,
    SavedCard,
    generate_invoices,
    sample_cards,
    sample_invoices,
    sample_methods,
)
from plugins.pingproxies.sandbox.state import SANDBOX, Checkout, SandboxState

__all__ = [
    "DEFAULT_EMAIL",
    "DEFAULT_PASSWORD",
    "DEFAULT_PRIVATE_KEY",
    "DEFAULT_PUBLIC_KEY",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_RETURN_URL",
    "SANDBOX",
    "Checkout",
    "Fault",
    "RedirectMethod",
    "SandboxState",
    "SavedCard",
    "create_app",
    "generate_invoices",
    "sample_cards",
    "sample_invoices",
    "sample_methods",
]
