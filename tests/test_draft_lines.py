"""A draft in a list says why it has no button, whichever side of the money it is on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.models import Invoice, InvoiceStatus, Money
from bot.provider import NoCredentials
from bot.slack.blocks.kit import Ids
from bot.slack.blocks.listing import invoice_blocks
from slack_emulator.blockkit import validate_message
from tests.test_digest import Supplier

TODAY = date(2026, 12, 7)


def _draft() -> Invoice:
    money = Money(amount=Decimal("121.00"), currency="EUR")
    return Invoice(
        provider="supplier", id="410009", number="INV-24-0109", amount_due=money,
        total_incl_vat=money, status=InvoiceStatus.DRAFT, due=TODAY + timedelta(days=14),
    )  # fmt: skip


def test_a_suppliers_draft_says_it_is_paid_once_the_supplier_issues_it() -> None:
    provider = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    blocks = invoice_blocks(Ids(), _draft(), provider, TODAY, can_pay=True)
    assert validate_message({"text": "Drafts", "blocks": blocks}) == []
    (block,) = blocks
    assert "accessory" not in block
    said = block["text"]["text"]  # type: ignore[index]
    why = "_Not issued yet: it can be paid here once Supplier &lt;!channel&gt; issues it._"
    assert said.endswith(f"\n{why}"), said


def test_a_suppliers_draft_says_nothing_of_paying_to_someone_who_may_not_pay() -> None:
    provider = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    (block,) = invoice_blocks(Ids(), _draft(), provider, TODAY, can_pay=False)
    assert "issued" not in block["text"]["text"]  # type: ignore[index]
