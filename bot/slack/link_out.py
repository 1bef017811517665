"""A payment link already out on invoices someone wants to pay: shown instead of a menu.

While a link stands, any start on its invoices would be refused, so Pay (in a list, the
digest, App Home) and `/invoices pay <number>` show that link: whose, how much, until
when. Its holder also gets the link itself, since Slack does not keep a reply only one
person saw; but only at the amount the provider asks today, so nobody is invited to pay
an amount the invoice no longer costs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.models import PaymentOptions, PaymentState
from bot.provider import NotPayable, Provider, ProviderError
from bot.slack.blocks.kit import escape
from bot.slack.blocks.paying import live_link
from bot.slack.errors import said
from bot.slack.progress import read
from bot.slack.services import Services

ASKED = (PaymentState.LINK_ISSUED, PaymentState.OPENED)
"""A link whose page may still be used: its amount is checked against the provider's."""


CHECK_BUDGET = 3.0
"""Seconds the amount check may take: a link is shown at once after it either way."""


async def _today(
    svc: Services, team_id: str, provider: Provider, invoice_ids: list[str]
) -> PaymentOptions | NotPayable | None:
    """The provider's offer for these invoices now; its refusal to price them (one no
    longer open, say), which no wait changes; or None if it cannot say in time."""
    try:
        return await read(
            svc.checkout.options(team_id, provider.name, invoice_ids), provider.title, CHECK_BUDGET
        )
    except NotPayable as refused:
        return refused
    except ProviderError:
        return None


async def link_out(
    svc: Services,
    team_id: str,
    provider: Provider,
    invoice_ids: list[str],
    viewer: str,
    *,
    asking: Callable[[], Awaitable[None]] | None = None,
) -> tuple[dict[str, Any] | None, PaymentOptions | None]:
    """The message for the link out on these invoices (None when none stands) and the
    provider's offer, when it was asked for one (`asking` is called first).

    An unopened link for an amount the provider no longer asks is withdrawn (None, and
    the offer for the menu). A link kept is handed to its holder again only at the
    amount asked today; if the provider cannot say, or asks another amount, the message
    says so instead."""
    out = svc.checkout.live_link(team_id, provider.name, invoice_ids)
    if out is None:
        return None, None
    options: PaymentOptions | None = None
    note: str | None = None
    url: str | None = None
    if out.state in ASKED:
        if asking is not None:
            await asking()
        offer = await _today(svc, team_id, provider, invoice_ids)
        options = offer if isinstance(offer, PaymentOptions) else None
        if options is not None:
            out = svc.checkout.live_link(team_id, provider.name, invoice_ids, total=options.total)
            if out is None:
                return None, options
        # The link's own invoices may be more than the ones asked about: their total.
        same = set(out.invoice_ids) == set(invoice_ids)
        asked = offer if same else await _today(svc, team_id, provider, list(out.invoice_ids))
        come = "invoices come" if len(out.invoice_ids) > 1 else "invoice comes"
        holder = out.user_id == viewer  # only its holder is ever handed the link
        if isinstance(asked, NotPayable):
            note = f"The link is not handed out again here: {said(asked)}" if holder else None
        elif asked is None:
            note = (
                f"{escape(provider.title)} could not confirm what the {come} to today, so the "
                "link is not handed out again here; try again in a minute."
                if holder
                else None
            )
        elif asked.total != out.amount:
            note = (
                f"The {come} to {asked.total.format()} now; this link asks for "
                f"{out.amount.format()}."
            )
        elif holder:
            url = svc.checkout.link_of(out)
    return live_link(out, viewer, svc.store.token_expiry(out.id), url, note), options
