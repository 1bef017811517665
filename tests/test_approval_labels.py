"""Pay buttons in a list of invoices, as the approval policy and its requests leave them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bot.approvals import Approvals, Binding
from bot.approvals_policy import Policy
from bot.models import Invoice, InvoiceAmount, InvoiceStatus, Money, Payment, PaymentState
from bot.provider import NoCredentials
from bot.slack.approvals_gate import label_pay_buttons
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.kit import Ids
from bot.slack.blocks.listing import invoice_blocks
from bot.store import Store
from slack_emulator.blockkit import validate_message
from tests.test_digest import Supplier, facts, invoice

TEAM = "T0TEAM"
TODAY = date(2026, 12, 7)


def _invoice(amount: str) -> Invoice:
    money = Money(amount=Decimal(amount), currency="EUR")
    return Invoice(
        provider="supplier", id="410007", number="INV-24-0104", amount_due=money,
        total_incl_vat=money, status=InvoiceStatus.OPEN, due=TODAY + timedelta(days=3),
    )  # fmt: skip


def _ask(
    approvals: Approvals, amount: str, netted: str | None = None, credits: tuple[str, ...] = ()
) -> None:
    request = approvals.open(
        team_id=TEAM,
        binding=Binding.of("supplier", ["410007"], Money(amount=Decimal(amount), currency="EUR")),
        invoice_numbers=("INV-24-0104",),
        requester="U0PAYER",
        note="",
        due=None,
        needed=1,
        approvers=("U0FINANCE",),
        netted=netted,
        credits=credits,
    )
    assert request is not None


def _listed(approvals: Approvals, invoice: Invoice) -> list[dict[str, object]]:
    provider = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    blocks = invoice_blocks(Ids(), invoice, provider, TODAY, can_pay=True)
    label_pay_buttons(approvals, TEAM, blocks, [invoice])
    assert validate_message({"text": "Invoices", "blocks": blocks}) == []
    return blocks


def test_an_invoice_whose_approval_was_asked_for_says_it_waits_instead_of_asking_again(
    tmp_path: Path,
) -> None:
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    invoice = _invoice("600.00")
    (before,) = _listed(approvals, invoice)
    assert before["accessory"]["text"]["text"] == "Request approval"  # type: ignore[index]
    _ask(approvals, "600.00")
    (after,) = _listed(approvals, invoice)
    assert after["accessory"]["text"]["text"] == "View request"  # type: ignore[index]
    said = after["text"]["text"]  # type: ignore[index]
    assert "Approval for €600.00 requested by <@U0PAYER>" in said, said
    assert "waiting for the approvers" in said
    assert "<!date^" in said, "when it was asked, in each reader's own zone"


def test_a_request_for_the_total_with_credit_taken_off_is_still_the_one_waiting(
    tmp_path: Path,
) -> None:
    """The pay menu nets credit notes (€600.00 less €24.20 of credit): the request is for less than
    the list's amount due, and waits all the same."""
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    _ask(approvals, "575.80", netted="€600.00 − credit CN-1 €24.20 = €575.80")
    (block,) = _listed(approvals, _invoice("600.00"))
    assert block["accessory"]["text"]["text"] == "View request"  # type: ignore[index]
    said = block["text"]["text"]  # type: ignore[index]
    assert "Approval for €575.80 (credit taken off) requested" in said, said


def test_a_request_whose_credit_note_another_payment_used_is_not_said_to_be_awaited(
    tmp_path: Path,
) -> None:
    """The credit note the request took off was used by a payment of another invoice:
    the provider asks the whole €600.00 now, so the list says so, as the pay menu does,
    and offers a request for it instead of "€575.80 (credit taken off)" awaited."""
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    _ask(approvals, "575.80", netted="€600.00 − credit CN-1 €24.20 = €575.80", credits=("CN-1",))
    approvals.store.add_payment(
        Payment(
            team_id=TEAM, provider="supplier", invoice_ids=("410008",),
            invoice_numbers=("INV-24-0105",), amount=Money.of("75.80", "EUR"), method_id="10",
            method_name="iDEAL", user_id="U0OTHER", state=PaymentState.PAID,
            credits=(InvoiceAmount(number="CN-1", amount=Money.of("24.20", "EUR")),),
        ),
        token_hash="x", token_expires_at=0,
    )  # fmt: skip
    (block,) = _listed(approvals, _invoice("600.00"))
    said = block["text"]["text"]  # type: ignore[index]
    assert "credit taken off" not in said and "waiting for the approvers" not in said, said
    assert "A request for €575.80 is pending, but the amount is now €600.00." in said, said
    assert block["accessory"]["text"]["text"] == "Request approval"  # type: ignore[index]


def test_a_decided_request_leaves_the_button_to_ask_again(tmp_path: Path) -> None:
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    _ask(approvals, "600.00")
    (request,) = approvals.waiting_for(TEAM, "U0PAYER")
    approvals.decide(request.id, TEAM, "U0FINANCE", approve=False, reason="no")
    (block,) = _listed(approvals, _invoice("600.00"))
    assert block["accessory"]["text"]["text"] == "Request approval"  # type: ignore[index]
    assert "waiting" not in block["text"]["text"]  # type: ignore[index]


def test_the_digests_note_names_the_buttons_as_approvals_relabel_them(tmp_path: Path) -> None:
    """Every bill in the digest needs an approval (one is already asked for): the note
    names **Request approval** and **View request**, the buttons people see, not Pay."""
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    asked = invoice("supplier", "S-1", -3, "600.00")
    other = invoice("supplier", "S-2", -2, "700.00")
    request = approvals.open(
        team_id=TEAM, binding=Binding.of("supplier", [asked.id], asked.amount_due),
        invoice_numbers=(asked.number,), requester="U0PAYER", note="", due=None, needed=1,
        approvers=("U0FINANCE",),
    )  # fmt: skip
    assert request is not None
    message = digest_message(facts([asked, other]))
    label_pay_buttons(approvals, TEAM, message["blocks"], [asked, other])
    (note,) = [b for b in message["blocks"] if b["type"] == "context" and "Totals" in str(b)]
    assert note["elements"][0]["text"] == (
        "Totals are per currency. *View request* and *Request approval* answer in your "
        "messages with invoicebot."
    )
    assert validate_message(message) == []


def test_a_pending_requests_line_keeps_the_section_within_slacks_limit(tmp_path: Path) -> None:
    """Slack refuses the whole list over one section past 3,000 characters: a long
    description and many long credit notes used since still leave every section whole,
    and the line about the request still says it is pending."""
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    notes = tuple(f"CN-{n:02d}-" + "&" * 95 for n in range(41))
    _ask(approvals, "575.80", netted="€600.00 − credit = €575.80", credits=notes)
    approvals.store.add_payment(
        Payment(
            team_id=TEAM, provider="supplier", invoice_ids=("410008",),
            invoice_numbers=("INV-24-0105",), amount=Money.of("75.80", "EUR"), method_id="10",
            method_name="iDEAL", user_id="U0OTHER", state=PaymentState.PAID,
            credits=tuple(
                InvoiceAmount(number=number, amount=Money.of("0.10", "EUR"))
                for number in notes[:40]
            ),
        ),
        token_hash="x", token_expires_at=0,
    )  # fmt: skip
    long = _invoice("600.00").model_copy(update={"description": "&" * 5000})
    (block,) = _listed(approvals, long)
    said = block["text"]["text"]  # type: ignore[index]
    assert len(said) <= 3000, len(said)
    assert "A request for €575.80 is pending, but credit CN-00-" in said, said
    assert said.endswith("so the amount has changed."), said[-200:]


def test_a_section_already_at_slacks_limit_still_takes_the_requests_line(tmp_path: Path) -> None:
    """At the edge: a section of exactly 3,000 characters gives room for the line from
    its own end, and stays at most 3,000."""
    approvals = Approvals(Store(tmp_path / "bot.sqlite"), Policy.parse("EUR 500 1 U0FINANCE"))
    _ask(approvals, "600.00")
    invoice = _invoice("600.00")
    provider = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    blocks = invoice_blocks(Ids(), invoice, provider, TODAY, can_pay=True)
    (block,) = blocks
    block["text"]["text"] = "*INV-24-0104* " + "x" * 2986
    assert len(block["text"]["text"]) == 3000
    label_pay_buttons(approvals, TEAM, blocks, [invoice])
    assert validate_message({"text": "Invoices", "blocks": blocks}) == []
    said = block["text"]["text"]
    assert len(said) <= 3000 and said.startswith("*INV-24-0104* xxx"), len(said)
    assert said.endswith("waiting for the approvers."), said[-200:]
