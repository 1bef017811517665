"""The billing channel's records and the payer's message, as a finance person reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bot.kit.errors import without_retry
from bot.models import Emailed, InvoiceAmount, Money, Payment, PaymentState, Redirect
from bot.notifier import SlackNotifier
from bot.provider import Direction
from bot.slack.blocks.paying import (
    confirmation,
    duration,
    failure_notice,
    link_lifetime,
    paid_twice_notice,
    payment_link,
    settled,
)
from bot.slack.customers import customer_link
from slack_emulator.blockkit import validate_message
from tests.scenario.harness import text_of


def eur(amount: str, currency: str = "EUR") -> Money:
    return Money.of(amount, currency)


def paid(**changes: Any) -> Payment:
    payment = Payment(
        id="p1",
        team_id="T1",
        provider="i3d",
        invoice_ids=("410001",),
        invoice_numbers=("INV-24-0087",),
        amount=eur("338.80"),
        method_id="10",
        method_name="iDEAL",
        issuer_id="INGBNL2A",
        issuer_name="ING",
        user_id="U0PAT",
        state=PaymentState.PAID,
        paid_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        provider_reference="TX-778",
        settlement_id="s123",
        lines=(InvoiceAmount(number="INV-24-0087", amount=eur("363.00")),),
        credits=(InvoiceAmount(number="CRN-24-0003", amount=eur("24.20")),),
    )
    return payment.model_copy(update=changes)


def test_the_billing_record_says_who_once_with_bank_reference_date_and_credit() -> None:
    said = text_of(confirmation(paid(), "i3D.net"))
    assert said.count("U0PAT") == 1
    assert "<@U0PAT> paid i3D.net invoice INV-24-0087" in said
    assert "€363.00 − credit CRN-24-0003 €24.20 = €338.80" in said
    assert "*Method*\niDEAL (ING)" in said
    assert "*Reference*\nTX-778" in said
    assert "*Date*\n<!date^" in said
    assert "*Credit applied*\nCRN-24-0003 (€24.20)" in said


def test_a_record_with_many_credit_notes_and_a_long_reference_is_one_slack_takes() -> None:
    """Slack refuses a section field over 2,000 characters, and with it the whole record:
    the billing channel would never hear of the payment."""
    credits = tuple(InvoiceAmount(number=f"CRN-24-{n:04d}", amount=eur("1.00")) for n in range(150))
    record = confirmation(paid(credits=credits, provider_reference="R&D-" * 600), "i3D.net")
    assert validate_message(record) == []
    method, reference, _, applied = record["blocks"][1]["fields"]
    assert method["text"] == "*Method*\niDEAL (ING)"
    assert reference["text"].startswith("*Reference*\nR&amp;D-R&amp;D-")
    assert applied["text"].startswith("*Credit applied*\nCRN-24-0000 (€1.00), CRN-24-0001")
    assert applied["text"].endswith("…")


def test_long_invoice_numbers_never_push_the_amount_out_of_the_payers_message() -> None:
    numbers = tuple(f"INV-{n}-" + "&" * 600 for n in range(10))
    lines = tuple(InvoiceAmount(number=number, amount=eur("1.00")) for number in numbers)
    payment = paid(invoice_numbers=numbers, invoice_ids=numbers, lines=lines, credits=())
    shown = settled(payment)["blocks"][0]["text"]["text"]
    assert "are paid: *€338.80* in all by iDEAL (ING), <!date^" in shown
    assert "INV-0-&amp;&amp;" in shown and "…" in shown and len(shown) <= 3000


def test_a_customer_payment_names_the_customer() -> None:
    payment = paid(direction="receivable", payer_name="Jordan <Lee>", credits=(), lines=())
    said = text_of(confirmation(payment, "Payfirma"))
    assert ":moneybag: Jordan &lt;Lee&gt; paid Payfirma invoice INV-24-0087" in said
    assert "The customer" not in said


def test_several_invoices_each_with_its_amount_and_the_total() -> None:
    payment = paid(
        invoice_ids=("410005", "410006"),
        invoice_numbers=("INV-24-0102", "INV-24-0103"),
        amount=eur("1244.55", "USD"),
        lines=(
            InvoiceAmount(number="INV-24-0102", amount=eur("1234.56", "USD")),
            InvoiceAmount(number="INV-24-0103", amount=eur("9.99", "USD")),
        ),
        credits=(),
    )
    message = text_of(settled(payment))
    assert "Invoices INV-24-0102 ($1,234.56) and INV-24-0103 ($9.99) are paid" in message
    assert "*$1,244.55* in all" in message
    record = text_of(confirmation(payment, "i3D.net"))
    assert "invoices INV-24-0102 ($1,234.56) and INV-24-0103 ($9.99): *$1,244.55* in all" in record
    notified = "invoices INV-24-0102 and INV-24-0103"  # the `text` a phone shows
    assert confirmation(payment, "i3D.net")["text"] == (
        f"Paid: i3D.net {notified}, $1,244.55 by iDEAL (ING)"
    )
    assert confirmation(paid(), "i3D.net")["text"].startswith("Paid: i3D.net invoice INV-24-0087,")
    provider = SimpleNamespace(capabilities=SimpleNamespace(direction=Direction.PAYABLE))
    link = payment_link(payment, "https://bot.test/pay/t", provider, 600)  # type: ignore[arg-type]
    assert link["text"] == f"Payment link for {notified}: https://bot.test/pay/t"


class Outbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any], str]] = []
        self.teams: list[str | None] = []

    def enqueue(
        self, method: str, args: dict[str, Any], *, key: str, team_id: str | None = None
    ) -> None:
        self.items.append((method, args, key))
        self.teams.append(team_id)


def failed(direction: str) -> Payment:
    return paid(
        state=PaymentState.FAILED,
        direction=direction,
        last_error="Payfirma declined the card: Insufficient funds. Nothing was charged.",
        response_url="https://hooks.slack.test/r1",
    )


def test_failures_reach_billing_for_the_directions_chosen() -> None:
    for choice, payable, receivable in (
        ("receivables", False, True),
        ("payables", True, False),
        ("both", True, True),
        ("none", False, False),
    ):
        notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"}, notify_failures=choice)
        for direction, expected in (("payable", payable), ("receivable", receivable)):
            outbox = Outbox()
            notifier.payment_ended(payment=failed(direction), outbox=outbox)
            posts = [
                item
                for item in outbox.items
                if item[0] == "chat.postMessage" and item[1]["channel"] == "C0BILLING"
            ]
            assert bool(posts) is expected, (choice, direction)
            for _, args, key in posts:
                assert key == "failure:p1" and args["channel"] == "C0BILLING"
                assert "Payment failed" in args["text"] and "Insufficient funds" in args["text"]


def test_each_workspace_hears_in_its_own_channel_and_none_before_choosing() -> None:
    channels = {"T1": "C0ACME"}
    notifier = SlackNotifier(channels.get, {"i3d": "i3D.net"}, notify_failures="both")
    outbox = Outbox()
    notifier.payment_ended(payment=failed("payable"), outbox=outbox)
    (post,) = [item for item in outbox.items if item[0] == "chat.postMessage"]
    assert post[1]["channel"] == "C0ACME" and set(outbox.teams) == {"T1"}
    channels.clear()
    quiet = Outbox()
    notifier.payment_ended(payment=failed("payable"), outbox=quiet)
    assert [item for item in quiet.items if item[0] == "chat.postMessage"] == []


def test_a_copied_links_failure_reaches_its_sender_when_billing_will_not_hear() -> None:
    """A copied link's message cannot be changed (it has no response URL)."""
    copied = failed("receivable").model_copy(update={"response_url": None})
    for choice, channel in (("none", "C0BILLING"), ("payables", "C0BILLING"), ("both", None)):
        notifier = SlackNotifier(lambda _, c=channel: c, {}, notify_failures=choice)
        outbox = Outbox()
        notifier.payment_ended(payment=copied, outbox=outbox)
        ((method, args, _),) = outbox.items
        assert (method, args["channel"]) == ("chat.postMessage", "U0PAT"), choice
        assert "Copy a new payment link" in str(args["blocks"])
        assert "'Link sent by <@U0PAT>'" in str(args["blocks"])
    outbox = Outbox()
    SlackNotifier("C0BILLING", {}).payment_ended(payment=copied, outbox=outbox)
    assert [args["channel"] for _, args, _ in outbox.items] == ["C0BILLING"], "told once"
    # A response URL lasts 30 minutes, a customer's link days: the sender hears anyway.
    outbox = Outbox()
    SlackNotifier("C0BILLING", {}, notify_failures="none").payment_ended(
        payment=failed("receivable"), outbox=outbox
    )
    assert [args.get("channel") for method, args, _ in outbox.items] == [None, "U0PAT"]
    emailed = copied.model_copy(update={"start": Emailed(to="a@b.example")})
    said = str(failure_notice(emailed, "Payfirma")["blocks"])
    assert "Invoice e-mailed by <@U0PAT>" in said and "Link sent" not in said


def test_the_default_tells_billing_of_customers_failures_only() -> None:
    from bot.settings import Settings

    assert Settings.model_fields["notify_failures"].default == "receivables"


def test_a_failed_customer_payment_offers_a_new_link_by_the_same_words_as_billing() -> None:
    failed = paid(
        direction="receivable",
        provider="payfirma",
        state=PaymentState.FAILED,
        paid_at=None,
        last_error="Card declined.",
    )
    buttons = [
        element["text"]["text"]
        for block in settled(failed)["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "copy_link"
    ]
    assert buttons == ["Copy a new payment link"]
    payable = settled(paid(state=PaymentState.FAILED, paid_at=None, last_error="Declined."))
    assert "Try again" in str(payable["blocks"])


def test_a_customer_link_shown_to_a_colleague_says_whose_it_is_and_until_when() -> None:
    link = paid(direction="receivable", state=PaymentState.LINK_ISSUED, paid_at=None)
    week = 7 * 86400.0
    mine = text_of(customer_link(link, "https://bot/pay/t", week - 3, "Dana", "U0PAT"))
    assert "The link works until <!date^" in mine and "copied this link first" not in mine
    theirs = text_of(customer_link(link, "https://bot/pay/t", week - 3, "Dana", "U0ALEX"))
    assert "<@U0PAT> copied this link first: the customer may have it." in theirs
    assert link_lifetime(30 * 60) == "The link works for 30 minutes."
    assert link_lifetime(23 * 3600).startswith("The link works until <!date^")
    assert duration(2 * 3600 + 59) == "2 hours"


def test_a_decline_read_from_the_invoice_is_not_told_as_this_charges() -> None:
    """A charge whose answer was lost, judged by the invoice's last error (which may be an
    earlier card's): the payer is not told their card was declined."""
    common = {"state": PaymentState.FAILED, "paid_at": None, "charges_at_once": True}
    error = "PingProxies could not take the payment: Your card was declined."
    watched = text_of(settled(paid(**common, last_error=error, next_check_at=1.0)))
    assert "Payment failed" not in watched and "may be from an earlier attempt" in watched
    assert "keeps checking whether iDEAL was charged" in watched
    assert "Check the card's statement before you pay again" in watched
    final = text_of(settled(paid(**common, last_error="Card declined.")))
    assert final.startswith(":x: Payment failed: Card declined.")
    over = text_of(settled(paid(**common, last_error=error, unconfirmed_end=True)))
    assert "Payment failed" not in over and "othing was charged" not in over, "watch over"
    assert "Payment not confirmed" in over and "may have been from an earlier attempt" in over
    assert "keeps checking" not in over


def test_a_cancel_only_the_browser_reported_promises_nothing_about_the_money() -> None:
    """The provider's page can still take the money after its Cancel button, so a cancel
    still watched does not say "nothing was charged", to the payer or to #billing."""
    common = {"state": PaymentState.CANCELLED, "paid_at": None}
    for shown in (settled, lambda p: failure_notice(p, "i3D.net")):
        watched = text_of(shown(paid(**common, next_check_at=1.0)))
        assert "Payment cancelled" in watched and "othing was charged" not in watched
        assert "paid" in watched and "after all" in watched
        final = text_of(shown(paid(**common)))
        assert "othing was charged" in final and "after all" not in final
    assert "You can try again" in text_of(settled(paid(**common, next_check_at=1.0)))
    over = text_of(settled(paid(**common, unconfirmed_end=True)))  # the watch has ended
    assert "left without paying" in over and "othing was charged" not in over
    assert "after all" not in over and "You can try again" in over


class Enqueued:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []

    def enqueue(
        self, method: str, args: dict[str, Any], *, key: str, team_id: str | None = None
    ) -> None:
        self.calls.append((method, args, key))


def test_a_charge_cut_short_by_a_stop_tells_its_payer_it_is_not_known_yet() -> None:
    """After kill -9 mid-charge, the payer's "Asking…" becomes "not known yet"."""
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"})
    outbox = Enqueued()
    common = {"state": PaymentState.UNKNOWN, "paid_at": None, "response_url": "https://u"}
    notifier.payment_in_doubt(paid(**common, charges_at_once=True), outbox)
    ((method, args, _),) = outbox.calls
    assert method == "response_url" and args["body"]["replace_original"] is True
    assert "Do not pay again" in text_of(args["body"])
    assert args["instead"]["channel"] == "U0PAT"  # when the URL has worn out
    notifier.payment_in_doubt(paid(**common), outbox)  # a link's start: its end is told
    assert len(outbox.calls) == 1


def test_an_e_mail_send_cut_short_by_a_stop_tells_its_sender_to_check_first() -> None:
    """After kill -9 mid-send the sender's dialog said "Asking…" for good, and a second
    send e-mailed the customer twice."""
    notifier = SlackNotifier("C0BILLING", {"payfirma": "Payfirma"})
    outbox = Enqueued()
    emailed = paid(
        provider="payfirma",
        state=PaymentState.UNKNOWN,
        paid_at=None,
        direction="receivable",
        start=Emailed(to="ap@example.com"),
    )
    notifier.payment_in_doubt(emailed, outbox)
    ((method, args, key),) = outbox.calls
    assert method == "chat.postMessage" and args["channel"] == "U0PAT"
    assert "does not know whether invoice INV-24-0087 went out by e-mail" in args["text"]
    assert "Check at Payfirma before you send it again" in args["text"]
    assert key == f"in-doubt:{emailed.id}"


def test_a_link_start_cut_short_with_no_message_to_replace_is_told_to_its_clicker() -> None:
    """A customer's link comes as a new message below the list, so its start has no
    response URL and its end replaces nothing. After kill -9 mid-start (past "the answer
    comes below as soon as it is there"), the clicker hears in their messages with the
    app that no link was made, once; nothing that could be paid is said to be unknown."""
    notifier = SlackNotifier("C0BILLING", {"payfirma": "Payfirma <b>"})
    outbox = Enqueued()
    cut = paid(
        provider="payfirma",
        state=PaymentState.UNKNOWN,
        paid_at=None,
        direction="receivable",
        response_url=None,
    )
    notifier.payment_in_doubt(cut, outbox)
    ((method, args, key),) = outbox.calls
    assert method == "chat.postMessage" and args["channel"] == "U0PAT"
    assert "Payfirma &lt;b&gt;" in args["text"] and "INV-24-0087" in args["text"]
    assert "no link was made" in args["text"]
    assert key == f"in-doubt:{cut.id}"


def test_a_second_payment_is_told_to_billing_for_a_refund_and_to_its_payer() -> None:
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net <b>"})
    outbox = Enqueued()
    twice = paid(state=PaymentState.SUPERSEDED, receipt="TX-2", response_url="https://u")
    notifier.payment_paid_twice(twice, outbox, certain=True)
    (post, post_args, _), (replace, replace_args, _) = outbox.calls
    assert post == "chat.postMessage" and post_args["channel"] == "C0BILLING"
    said = text_of(post_args)
    assert "Paid twice" in said and "Refund this second payment at i3D.net &lt;b&gt;" in said
    assert "TX-2" in said and "<@U0PAT>" in said
    assert replace == "response_url" and replace_args["instead"]["channel"] == "U0PAT"
    told = text_of(replace_args["body"])
    assert "charged again" in told and "nothing was charged" not in told.lower()


def test_a_customers_second_payment_reads_as_one_sentence() -> None:
    twice = paid(state=PaymentState.SUPERSEDED, receipt="TX-2", direction="receivable")
    said = paid_twice_notice(twice, "Payfirma")["text"]
    assert "had already been paid, and the customer paid" in said


def test_a_maybe_second_payment_asks_billing_to_check_before_refunding() -> None:
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"})
    outbox = Enqueued()
    twice = paid(state=PaymentState.SUPERSEDED, receipt="TX-2", response_url=None)
    notifier.payment_paid_twice(twice, outbox, certain=False)
    ((_, args, _),) = outbox.calls
    said = text_of(args)
    assert "Maybe paid twice" in said and "Check at i3D.net whether" in said
    assert "Refund this second payment" not in said


def test_a_maybe_second_payment_of_several_invoices_says_were() -> None:
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"})
    outbox = Enqueued()
    twice = paid(
        state=PaymentState.SUPERSEDED,
        receipt="TX-2",
        response_url=None,
        invoice_ids=("410001", "410002"),
        invoice_numbers=("INV-24-0101", "INV-24-0087"),
    )
    notifier.payment_paid_twice(twice, outbox, certain=False)
    ((_, args, _),) = outbox.calls
    assert "INV-24-0087 were recorded paid through another payment" in text_of(args)


GOES_ON = (
    "Try again in a few minutes, or check PayHQ.",
    "Down, try again in a few minutes or call us.",
)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("X had a server error; try again in a few minutes.", "X had a server error."),
        (
            "X did not answer within 2 s; try again in a few minutes. It may exist; look first.",
            "X did not answer within 2 s. It may exist; look first.",
        ),
        ("Nothing came back. Try again in a few minutes.", "Nothing came back."),
        ("X is busy, or try again in a few minutes.", "X is busy."),
        ("Try again in a few minutes.", ""),
        ("Please try again in a few minutes.", ""),
        ("Busy. Please try again in a few minutes; try again in a few minutes.", "Busy."),
        ("Try again in a few minutes; nothing was charged.", "Nothing was charged."),
        ("Down (try again in a few minutes).", "Down."),
        ("Wait a moment and try again in a few minutes.", "Wait a moment."),
        (
            "Try again in a few minutes, or check PayHQ.",
            "Try again in a few minutes, or check PayHQ.",
        ),
        (
            "Down, try again in a few minutes or call us.",
            "Down, try again in a few minutes or call us.",
        ),
        ("Nothing to take out.", "Nothing to take out."),
        ("i3D.net is busy; try again in a few minutes.", "i3D.net is busy."),
    ],
)
def test_a_lost_answer_loses_the_advice_to_try_again(message: str, shown: str) -> None:
    """After a write whose answer was lost, trying again could do it twice."""
    assert without_retry(message) == shown


def test_long_provider_names_never_push_the_link_or_the_amount_out_of_sight() -> None:
    """A section shows 3,000 characters: a customer's or an invoice's name must not take
    them all before the link to send; a method's line breaks stay out of its line."""
    link = paid(
        direction="receivable",
        state=PaymentState.LINK_ISSUED,
        paid_at=None,
        invoice_numbers=("N" * 5000,),
        method_name="Card\nending 4242",
    )
    shown = customer_link(link, "https://bot/pay/t", 3600, "Jordan " + "L" * 3000)
    assert validate_message(shown) == []
    lead = shown["blocks"][0]["text"]["text"]
    assert "https://bot/pay/t" in lead and "€338.80" in lead and len(lead) < 3000
    billing = confirmation(link.model_copy(update={"state": PaymentState.PAID}), "i3D.net")
    assert "Card ending 4242" in text_of(billing) and "Card\nending" not in str(billing)


def test_an_ended_attempt_reads_in_plain_words_and_several_invoices_as_several() -> None:
    from bot.checkout import charge_in_doubt

    expired = text_of(settled(paid(state=PaymentState.EXPIRED, paid_at=None)))
    assert "The payment of invoice INV-24-0087 has expired." in expired, expired
    several = paid(
        state=PaymentState.UNKNOWN,
        paid_at=None,
        charges_at_once=True,
        invoice_ids=("1", "2"),
        invoice_numbers=("INV-1", "INV-2"),
    )
    said = charge_in_doubt(several)
    assert said is not None and "the payment of invoices INV-1, INV-2 started" in said


@pytest.mark.parametrize("direction", ["payable", "receivable"])
def test_an_opened_link_never_confirmed_is_told_to_billing_to_check_first(direction: str) -> None:
    """Its page was opened, so money may have moved: when the watch ends without a word
    from the provider, #billing hears it, and a customer's is offered no new link."""
    expired = paid(
        state=PaymentState.EXPIRED,
        direction=direction,
        paid_at=None,
        start=Redirect(url="https://pay.example/x"),
        opened_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        last_error="the provider never confirmed this payment (no answer)",
    )
    outbox = Outbox()
    SlackNotifier("C0BILLING", {"i3d": "i3D.net"}).payment_ended(payment=expired, outbox=outbox)
    ((_, args, key),) = [i for i in outbox.items if i[1].get("channel") == "C0BILLING"]
    assert key == "unconfirmed:p1" and validate_message(args) == []
    assert "Payment never confirmed" in args["text"] and "payment page was opened" in args["text"]
    assert "Copy a new payment link" not in str(args["blocks"])
    again = "sends the customer a new link" if direction == "receivable" else "pays it again"
    assert again in args["text"]
    unopened = expired.model_copy(update={"opened_at": None})
    emailed = expired.model_copy(update={"start": Emailed(to="ap@example.com")})
    for quiet in (unopened, emailed):  # nothing paid through it / an unpaid invoice
        outbox = Outbox()
        SlackNotifier("C0BILLING", {"i3d": "i3D.net"}).payment_ended(payment=quiet, outbox=outbox)
        assert [i for i in outbox.items if i[1].get("channel") == "C0BILLING"] == []


def test_long_credit_note_numbers_never_push_the_total_or_method_out_of_sight() -> None:
    """A credit note's number is the provider's text too: cut like an invoice's, on one
    line, so the payer's message still shows what was paid, with what, and when, and the
    billing record still reads as one line per credit note."""
    credits = tuple(
        InvoiceAmount(number=f"CRN-{n}-" + "4" * 3_000 + "\nmore", amount=eur("1.00"))
        for n in range(12)
    )
    payment = paid(credits=credits)
    message = settled(payment)
    shown = message["blocks"][0]["text"]["text"]
    assert validate_message(message) == []
    assert "= €338.80) by iDEAL (ING), <!date^" in shown and "\n" not in shown
    assert len(message["text"]) < 5_000
    record = confirmation(payment, "i3D.net")
    assert validate_message(record) == []
    assert record["blocks"][0]["text"]["text"].endswith("= €338.80)")
    applied = record["blocks"][1]["fields"][3]["text"]
    assert applied.startswith("*Credit applied*\nCRN-0-4444") and "\nmore" not in applied


def test_a_long_method_name_never_pushes_the_invoices_out_of_a_waiting_message() -> None:
    payment = paid(state=PaymentState.OPENED, method_name="Card " * 1_000, credits=())
    shown = settled(payment)["blocks"][0]["text"]["text"]
    assert "invoice INV-24-0087; waiting for the provider to confirm it" in shown


def test_a_charge_whose_check_stops_is_told_so_even_after_its_messages_url_wore_out() -> None:
    """A watched charge's payer read that invoicebot keeps checking and tells them: when
    another payment settles the invoice (often hours later, past the 30 minutes of the
    message's response URL) the payer still hears that the check stopped, in their
    messages with the app; a link simply no longer needed is not worth a message there."""
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"})
    outbox = Enqueued()
    credited = paid(id="p2", user_id="U0KIM", response_url="https://u/2")
    watched = paid(
        id="p1",
        state=PaymentState.FAILED,
        paid_at=None,
        charges_at_once=True,
        unconfirmed_end=True,
        last_error="PingProxies could not take the payment: Your card was declined.",
        response_url="https://u/1",
    )
    link = paid(id="p3", state=PaymentState.SUPERSEDED, paid_at=None, response_url="https://u/3")
    notifier.payment_confirmed(payment=credited, outbox=outbox, superseded=[link, watched])
    told = {key: args for method, args, key in outbox.calls if method == "response_url"}
    assert "no longer checks" in text_of(told["settled:p1"]["body"])
    assert told["settled:p1"]["instead"]["channel"] == "U0PAT"
    assert "no longer checks" in text_of(told["settled:p1"]["instead"])
    assert "instead" not in told["settled:p3"]


@pytest.mark.parametrize("direction", ["payable", "receivable"])
def test_a_late_return_never_answered_about_is_told_to_billing_to_check(direction: str) -> None:
    """The page of an ended attempt was come back from, and the provider never said
    whether it took money: #billing is to look before anyone pays again."""
    failed = paid(
        state=PaymentState.FAILED,
        direction=direction,
        paid_at=None,
        start=Redirect(url="https://pay.example/x"),
        payer_name="<!channel> Acme" if direction == "receivable" else None,
    )
    outbox = Outbox()
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"}, notify_failures="none")
    notifier.payment_return_unanswered(payment=failed, outbox=outbox, settled=False)
    ((_, args, key),) = outbox.items
    assert (args["channel"], key) == ("C0BILLING", "return-unanswered:p1")
    assert validate_message(args) == []
    assert "Payment not confirmed" in args["text"] and "could not be asked" in args["text"]
    assert "before anyone pays it again" in args["text"]
    assert "<!channel>" not in str(args["blocks"])


def test_a_late_return_to_a_settled_invoices_page_is_told_as_a_possible_second_payment() -> None:
    """The invoice was settled through another attempt (or on its word) when the page
    was come back from: what it may have taken is a second charge, to find and refund.
    With no billing channel chosen, whoever started it hears."""
    superseded = paid(
        state=PaymentState.SUPERSEDED, paid_at=None, start=Redirect(url="https://pay.example/x")
    )
    outbox = Outbox()
    notifier = SlackNotifier(lambda team: None, {"i3d": "i3D.net"})
    notifier.payment_return_unanswered(payment=superseded, outbox=outbox, settled=True)
    ((_, args, key),) = outbox.items
    assert (args["channel"], key) == (superseded.user_id, "return-unanswered:p1")
    assert "second payment" in args["text"] and "refund" in args["text"]
    assert "before anyone pays it again" not in args["text"]


@pytest.mark.parametrize("state", [PaymentState.FAILED, PaymentState.EXPIRED])
def test_a_late_return_to_an_ended_attempt_whose_invoice_was_settled_since(
    state: PaymentState,
) -> None:
    """The attempt failed or expired, and its invoice was then settled through another:
    what its page may have taken is a second payment, worded as for a superseded one,
    not "before anyone pays it again" of an invoice no one is to pay."""
    ended = paid(state=state, paid_at=None, start=Redirect(url="https://pay.example/x"))
    outbox = Outbox()
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"}, notify_failures="none")
    notifier.payment_return_unanswered(payment=ended, outbox=outbox, settled=True)
    ((_, args, _),) = outbox.items
    assert "Possible second payment not confirmed" in args["text"], args["text"]
    assert "before anyone pays it again" not in args["text"]


def test_a_late_return_to_a_superseded_attempt_with_an_invoice_still_open() -> None:
    """Superseded because one of its invoices was paid through another attempt, while
    another is still open: its page may have paid that one, so #billing must look
    before anyone pays it again, not for a second payment of a settled invoice."""
    superseded = paid(
        state=PaymentState.SUPERSEDED, paid_at=None, start=Redirect(url="https://pay.example/x")
    )
    outbox = Outbox()
    notifier = SlackNotifier("C0BILLING", {"i3d": "i3D.net"}, notify_failures="none")
    notifier.payment_return_unanswered(payment=superseded, outbox=outbox, settled=False)
    ((_, args, _),) = outbox.items
    assert "before anyone pays it again" in args["text"], args["text"]
    assert "second payment" not in args["text"]


def test_a_providers_reference_stays_on_its_line() -> None:
    """The provider's reference is quoted within #billing's sentences and fields: its
    line breaks showed lines of their own, such as one saying a refund was made."""
    forged = "TX-778\n:white_check_mark: Refunded to <@U0PAT>: €338.80"
    for message in (
        confirmation(paid(receipt=forged), "i3D.net"),
        paid_twice_notice(paid(receipt=forged), "i3D.net"),
    ):
        lines = text_of(message).split("\n")
        assert not any(line.startswith(":white_check_mark: Refunded") for line in lines)
        assert any("TX-778 :white_check_mark: Refunded" in line for line in lines)


def test_numbers_quoted_in_a_sentence_stay_on_its_line() -> None:
    """An invoice number is the provider's text: quoted mid-sentence with its line
    breaks, it showed a line of its own, such as one saying the invoice was paid."""
    from bot.checkout import charge_in_doubt
    from bot.slack.new_invoice import submitted_before
    from plugins.payfirma import PayfirmaProvider

    forged = "INV-1\n:white_check_mark: INV-1 is paid"
    doubt = paid(state=PaymentState.UNKNOWN, charges_at_once=True, invoice_numbers=(forged,))
    created = text_of(submitted_before(PayfirmaProvider, "created", forged))  # type: ignore[arg-type]
    for said in (charge_in_doubt(doubt) or "", created):
        assert "INV-1 :white_check_mark: INV-1 is paid" in said, said
        assert not any(line.startswith(":white_check_mark: INV-1") for line in said.split("\n"))


def test_a_page_never_confirmed_reaches_its_payer_when_the_message_cannot_change() -> None:
    """A page's watch ends a day after its link, long after the message's response URL
    wore out: the payer hears "never confirmed" in their messages with the app, as they
    hear "paid" or "failed", not only #billing."""
    opened = paid(
        state=PaymentState.EXPIRED,
        start=Redirect(url="https://psp.example/pay"),
        opened_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        paid_at=None,
        settlement_id=None,
        last_error="the provider never confirmed this payment (no answer)",
        response_url="https://hooks.slack.test/r1",
    )
    outbox = Outbox()
    SlackNotifier("C0BILLING", {"i3d": "i3D.net"}).payment_ended(payment=opened, outbox=outbox)
    (replace,) = [args for method, args, _ in outbox.items if method != "chat.postMessage"]
    assert replace["instead"]["channel"] == "U0PAT"
    assert "never confirmed the payment of" in replace["instead"]["text"]


def test_a_part_of_a_payment_whose_invoices_print_one_number_takes_each_its_own_amount() -> None:
    """Two invoices of one payment may print the same number: each part keeps its own
    line (lines follow the invoices' order), never the other's amount."""
    payment = paid(
        invoice_ids=("410001", "410002"),
        invoice_numbers=("INV-1", "INV-1"),
        amount=eur("12.50"),
        lines=(
            InvoiceAmount(number="INV-1", amount=eur("10.00")),
            InvoiceAmount(number="INV-1", amount=eur("2.50")),
        ),
        credits=(),
    )
    second = payment.only(["410002"])
    assert second is not None
    assert second.invoice_ids == ("410002",)
    assert second.lines == (InvoiceAmount(number="INV-1", amount=eur("2.50")),)
    assert second.amount == eur("2.50")
    first = payment.only(["410001"])
    assert first is not None
    assert first.amount == eur("10.00")


def test_a_payment_whose_lines_do_not_follow_its_invoices_is_not_split() -> None:
    """Lines that do not match the invoices one for one cannot say what each was."""
    payment = paid(
        invoice_ids=("410001", "410002"),
        invoice_numbers=("INV-1", "INV-2"),
        amount=eur("12.50"),
        lines=(InvoiceAmount(number="INV-1", amount=eur("10.00")),),
        credits=(),
    )
    assert payment.only(["410002"]) is None
