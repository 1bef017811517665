"""`/invoices new` and `/invoices drafts` with every provider connected: only providers
that can create invoices, or keep drafts, are offered or asked."""

from __future__ import annotations

from collections.abc import Callable

from bot.demo import Demo
from slack_emulator import EMULATOR
from tests.e2e.conftest import Person, everything_in


async def test_new_alone_opens_the_form_of_the_one_provider_that_creates(
    person: Callable[[str], Person], demo: Demo
) -> None:
    slack = demo.slack[EMULATOR]
    await person("U0PAYER").types("new")
    form = await slack.wait_until(lambda: slack.modal("U0PAYER"))
    assert "Payfirma" in str(form.definition)


async def test_drafts_name_only_providers_that_keep_drafts(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("drafts")
    listing = await pat.sees("Draft invoices")
    said = everything_in(listing)
    assert "from Payfirma, PingProxies" in said
    assert "i3D.net" not in said
