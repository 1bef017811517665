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
from bot.provider import Provider, ProviderError
from bot.slack.blocks.paying import live_link
from bot.slack.progress import read
from bot.slack.services import Services

ASKED = (PaymentState.LINK_ISSUED, PaymentState.OPENED)
"""A link whose page may still be used: its amount is checked against the provider's."""


async def link_out(
    svc: Services,
    team_id: str,
    provider: Provider,
    invoice_ids: list[str],
    viewer: str,
    *,
    reuse: bool = False,
    asking: Callable[[], Awaitable[None]] | None = None,
) -> tuple[dict[str, Any] | None, PaymentOptions | None]:
    """The message for the link out on these invoices (None when none stands) and the
    provider's offer, when it was asked for one (`asking` is called first).

    An unopened link for an amount the provider no longer asks is withdrawn (None, and
    the offer for the menu). If the provider cannot say, the link is shown without its
    address: the amount it asks may be stale."""
    out = svc.checkout.live_link(team_id, provider.name, invoice_ids)
    if out is None:
        return None, None
    options: PaymentOptions | None = None
    if out.state in ASKED:
        if asking is not None:
            await asking()
        try:
            options = await read(
                svc.checkout.options(team_id, provider.name, invoice_ids, reuse=reuse),
                provider.title,
            )
        except ProviderError:
            pass
        else:
            out = svc.checkout.live_link(team_id, provider.name, invoice_ids, total=options.total)
            if out is None:
                return None, options
    current = (
        options is not None
        and out.state in ASKED
        and set(out.invoice_ids) == set(invoice_ids)
        and out.amount == options.total
    )
    url = svc.checkout.link_of(out) if current and out.user_id == viewer else None
    return live_link(out, viewer, svc.store.token_expiry(out.id), url), options
