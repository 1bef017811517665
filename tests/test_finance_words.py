"""What a finance team reads about an invoice paid in part: what is left, and of what."""

from __future__ import annotations

from datetime import date

from bot.approvals_policy import Policy
from bot.models import Emailed, Invoice, InvoiceStatus, Money, Payment, PaymentState
from bot.records import _method
from bot.slack.blocks.approvals import policy_lines
from bot.slack.blocks.digest import due_soon_message
from bot.slack.blocks.listing import invoice_line
from bot.slack.blocks.paying import confirmation
from plugins.i3d import I3DProvider

TODAY = date(2026, 12, 4)


def partly_paid() -> Invoice:
    """i3D.net's INV-24-0087 of €363.00, of which €242.00 is paid: €121.00 remains."""
    return Invoice(
        provider="i3d",
        id="410002",
        number="INV-24-0087",
        amount_due=Money.of("121.00", "EUR"),
        total_incl_vat=Money.of("363.00", "EUR"),
        due=date(2026, 12, 10),
        status=InvoiceStatus.OPEN,
    )


def test_the_list_says_an_amount_is_what_is_left_of_the_invoices_total() -> None:
    line = invoice_line(partly_paid(), "i3D.net", TODAY)
    assert "€121.00" in line and "€363.00" in line, line


def test_an_invoice_not_paid_in_part_reads_as_before() -> None:
    whole = partly_paid().model_copy(update={"amount_due": Money.of("363.00", "EUR")})
    assert invoice_line(whole, "i3D.net", TODAY).endswith("\n*€363.00* · due 2026-12-10")


def test_the_due_soon_reminder_says_the_amount_is_what_is_left() -> None:
    provider = I3DProvider.__new__(I3DProvider)
    text = due_soon_message(partly_paid(), provider, date(2026, 12, 8))["text"]
    assert "€121.00" in text and "€363.00" in text, text


def test_the_approval_rules_say_that_other_currencies_need_no_approval() -> None:
    """The demo's rules are in euros: its $1,234.56 i3D.net invoice and every PingProxies
    dollar bill are paid without any approval, and App Home should not hide that."""
    policy = Policy.parse("EUR 500 1 U0ALEX; EUR 5000 2 U0ALEX,U0BEA")
    assert policy.needs("i3d", Money.of("50000.00", "USD")) is None
    assert "EUR" in policy_lines(policy) and "other currenc" in policy_lines(policy)
    everywhere = Policy.parse("EUR 500 1 U0ALEX; USD 500 1 U0ALEX")
    assert "other currenc" in policy_lines(everywhere)  # JPY, GBP… still pass freely
    assert policy_lines(Policy()) == "No payment needs approval."


def test_a_confirmation_of_an_e_mailed_invoice_says_it_was_e_mailed_not_linked() -> None:
    """The customer paid the invoice e-mailed to them: #billing must not read that a
    payment link was sent, nor that the customer paid "by e-mail"."""
    payment = Payment(
        id="p1",
        team_id="T1",
        provider="payfirma",
        direction="receivable",
        invoice_ids=("212947",),
        invoice_numbers=("INV-55",),
        amount=Money.of("102.50", "CAD"),
        method_id="email",
        method_name="e-mail",
        user_id="U0SENDER",
        payer_name="Acme Corp",
        start=Emailed(to="ap@acme.example"),
        state=PaymentState.PAID,
    )
    message = confirmation(payment, "Payfirma")
    text = str(message["blocks"]) + message["text"]
    assert "Payment link sent by" not in text, text
    fields = [f["text"] for b in message["blocks"] for f in b.get("fields", [])]
    assert "*Method*\ne-mail" not in fields, fields
    assert "by e-mail" not in text, text
    assert "e-mailed" in text
    assert _method(payment) != "e-mail"


def test_a_credit_note_used_in_part_says_what_is_left_of_it() -> None:
    """CRN-24-0003 of €24.20, €14.20 of it taken off an earlier payment: the list's
    bare €10.00 reads as another credit note than the one in the books."""
    credit = Invoice(
        provider="i3d",
        id="410004",
        number="CRN-24-0003",
        amount_due=Money.of("-10.00", "EUR"),
        total_incl_vat=Money.of("-24.20", "EUR"),
        status=InvoiceStatus.OPEN,
        is_credit=True,
    )
    line = invoice_line(credit, "i3D.net", TODAY)
    assert "*−€10.00* credit left of −€24.20 · taken off when you pay i3D.net" in line, line
    whole = credit.model_copy(update={"amount_due": Money.of("-24.20", "EUR")})
    assert invoice_line(whole, "i3D.net", TODAY).endswith(
        "*−€24.20* credit · taken off when you pay i3D.net"
    )
