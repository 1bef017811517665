"""`/_sandbox/...`: the shared knobs (see `bot.sandbox.control`) with i3D's own settings.

Faults: "error", "hang", "malformed", "shape", "rate_limit". Settings: "latency",
"hang_seconds", "return_url", "public_url", "form_style", "answer_style". Generated
invoices in EUR, USD or GBP. Drift changes one invoice in the list's answer.
"""

from __future__ import annotations

import time

from aiohttp import web

from bot.sandbox import Controls, SandboxSettings
from plugins.i3d.sandbox.samples import generate_invoices
from plugins.i3d.sandbox.state import SANDBOX, AnswerStyle, FormStyle, SandboxState


class Settings(SandboxSettings):
    return_url: str = ""
    form_style: FormStyle = "pairs"
    answer_style: AnswerStyle = "object"


def more_invoices(state: SandboxState, count: int, currency: str) -> int:
    first = 900_000 + len(state.invoices)
    made = generate_invoices(count, now=int(time.time()), first_id=first, currency=currency)
    state.add_invoices(made)
    return len(state.invoices)


def setup(app: web.Application) -> None:
    Controls(SANDBOX, Settings, more_invoices, ("EUR", "USD", "GBP")).setup(app)
