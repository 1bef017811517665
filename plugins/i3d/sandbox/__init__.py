"""A local, faithful stand-in for i3D.net's pay API and its payment page.

`create_app()` gives an aiohttp app; its state and knobs are `app[SANDBOX]`.
Run it alone with `python -m plugins.i3d.sandbox --port 8101 --token ...`.
"""

from bot.sandbox import Fault
from plugins.i3d.sandbox.app import DEFAULT_RETURN_URL, DEFAULT_TOKEN, create_app
from plugins.i3d.sandbox.samples import SandboxMethod, generate_invoices, sample_invoices
from plugins.i3d.sandbox.state import SANDBOX, SandboxState, Transaction

__all__ = [
    "DEFAULT_RETURN_URL",
    "DEFAULT_TOKEN",
    "SANDBOX",
    "Fault",
    "SandboxMethod",
    "SandboxState",
    "Transaction",
    "create_app",
    "generate_invoices",
    "sample_invoices",
]
