"""A draft in a list says why it has no button, whichever side of the money it is on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.models import Invoice, InvoiceStatus, Money
from bot.provider import NoCredentials
from bot.slack.blocks.kit import Block, Ids
from bot.slack.blocks.listing import invoice_blocks, unpayable_said
from slack_emulator.blockkit import validate_message
from tests.test_digest import LinkOnly, Mailer, Supplier

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


def _customers_draft(provider: str) -> Invoice:
    return _draft().model_copy(update={"provider": provider, "payer": "Acme"})


def _why(blocks: list[Block]) -> str:
    assert validate_message({"text": "Drafts", "blocks": blocks}) == []
    (block,) = blocks
    assert "accessory" not in block
    said: str = block["text"]["text"]  # type: ignore[index]
    return said.rsplit("\n", 1)[-1]


def test_a_customers_draft_a_provider_cannot_send_says_where_to_send_it() -> None:
    provider = LinkOnly(NoCredentials(), None)  # type: ignore[arg-type]
    for can_pay in (True, False):
        why = _why(invoice_blocks(Ids(), _customers_draft("linkonly"), provider, TODAY, can_pay))
        assert why == "_Not sent yet: Link only cannot send it from here; use its own site._"


def test_a_customers_draft_tells_someone_who_may_not_pay_that_payers_send_it() -> None:
    provider = Mailer(NoCredentials(), None)  # type: ignore[arg-type]
    why = _why(invoice_blocks(Ids(), _customers_draft("mailer"), provider, TODAY, can_pay=False))
    assert why == "_Not sent yet: only payers can send it to the customer._"


def test_a_suppliers_draft_tells_someone_who_may_not_pay_why_it_has_no_button() -> None:
    provider = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    why = _why(invoice_blocks(Ids(), _draft(), provider, TODAY, can_pay=False))
    assert why == "_A draft: Supplier &lt;!channel&gt; has not sent it yet._"


def _zero(provider: str) -> Invoice:
    zero = Money(amount=Decimal("0.00"), currency="EUR")
    return _draft().model_copy(
        update={"provider": provider, "amount_due": zero, "total_incl_vat": zero}
    )


def _credit(provider: str) -> Invoice:
    return _draft().model_copy(update={"provider": provider, "is_credit": True})


def test_a_draft_with_nothing_to_pay_says_why_it_has_no_button() -> None:
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    mailer = Mailer(NoCredentials(), None)  # type: ignore[arg-type]
    for can_pay in (True, False):
        why = _why(invoice_blocks(Ids(), _zero("supplier"), supplier, TODAY, can_pay))
        assert why == "_A draft with nothing to pay, not issued yet by Supplier &lt;!channel&gt;._"
        why = _why(invoice_blocks(Ids(), _zero("mailer"), mailer, TODAY, can_pay))
        assert (
            why == "_A draft with nothing to pay: it is not sent from here; use Mailer's own site._"
        )


def test_a_draft_credit_note_says_why_it_has_no_button() -> None:
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    mailer = Mailer(NoCredentials(), None)  # type: ignore[arg-type]
    for can_pay in (True, False):
        why = _why(invoice_blocks(Ids(), _credit("supplier"), supplier, TODAY, can_pay))
        assert why == (
            "_Not issued yet: once Supplier &lt;!channel&gt; issues it, it is taken off when "
            "you pay them._"
        )
        why = _why(invoice_blocks(Ids(), _credit("mailer"), mailer, TODAY, can_pay))
        assert why == "_A draft credit note: it is not issued from here; use Mailer's own site._"


def test_pay_by_number_on_a_draft_says_what_a_draft_is_waiting_for() -> None:
    """`/invoices pay` on a draft: "it is draft" says neither what is missing nor what to
    do; it reads as the drafts list does."""
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    assert unpayable_said("INV-24-0109", _draft(), supplier) == (
        "Invoice INV-24-0109 is a draft: it can be paid here once Supplier &lt;!channel&gt; "
        "issues it."
    )
    mailer = Mailer(NoCredentials(), None)  # type: ignore[arg-type]
    assert unpayable_said("INV-24-0109", _customers_draft("mailer"), mailer) == (
        "Invoice INV-24-0109 is a draft, not sent to the customer yet: `/invoices drafts` lists it."
    )
    void = _draft().model_copy(update={"status": InvoiceStatus.VOID})
    assert unpayable_said("INV-24-0109", void, supplier) == (
        "Invoice INV-24-0109 cannot be paid: it is void."
    )
