"""A local, faithful stand-in for Payfirma: sign-in, invoice API and hosted payment page.

`create_app()` gives an aiohttp app; its state and knobs are `app[SANDBOX]`.
Run it alone with `python -m plugins.payfirma.sandbox --port 8102`.
"""

from bot.sandbox import Fault
from plugins.payfirma.sandbox.app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_RETURN_URL,
    create_app,
)
from plugins.payfirma.sandbox.samples import generate_invoices, invoice, sample_invoices
from plugins.payfirma.sandbox.state import (
    DEFAULT_HPP_TOKEN,
    SANDBOX,
    HppSession,
    SandboxState,
    Transaction,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_HPP_TOKEN",
    "DEFAULT_RETURN_URL",
    "SANDBOX",
    "Fault",
    "HppSession",
    "SandboxState",
    "Transaction",
    "create_app",
    "generate_invoices",
    "invoice",
    "sample_invoices",
]
