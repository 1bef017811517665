"""The digest's blocks: what each part lists, its buttons, escaping and Slack's limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from bot.models import Invoice, InvoiceStatus, Money
from bot.provider import Capabilities, Direction, NoCredentials, Provider
from bot.slack.blocks.digest import DigestFacts, digest_message, due_soon_message
from slack_emulator.blockkit import validate_message

TODAY = date(2026, 12, 7)


class Supplier(Provider):
    name, title = "supplier", "Supplier <!channel>"

    async def verify(self) -> None: ...
    async def list_invoices(self, query: Any) -> Any: ...
    async def get_invoice(self, invoice_id: str) -> Any: ...
    async def payment_options(self, invoice_ids: list[str]) -> Any: ...
    async def start_payment(self, request: Any) -> Any: ...
    async def check_payment(self, check: Any) -> Any: ...


class Mailer(Supplier):
    name, title = "mailer", "Mailer"
    capabilities: ClassVar[Capabilities] = Capabilities(
        direction=Direction.RECEIVABLE, send_by_email=True
    )


class LinkOnly(Supplier):
    name, title = "linkonly", "Link only"
    capabilities: ClassVar[Capabilities] = Capabilities(direction=Direction.RECEIVABLE)


def invoice(provider: str, number: str, due_in: int, amount: str, currency: str = "EUR") -> Invoice:
    money = Money(amount=Decimal(amount), currency=currency)
    return Invoice(
        provider=provider, id=number.lower(), number=number, amount_due=money,
        total_incl_vat=money, status=InvoiceStatus.OPEN, due=TODAY + timedelta(days=due_in),
        payer="*Bold* customer" if provider != "supplier" else None,
    )  # fmt: skip


def facts(invoices: list[Invoice]) -> DigestFacts:
    providers: list[Provider] = [cls(NoCredentials(), None) for cls in (Supplier, Mailer, LinkOnly)]  # type: ignore[arg-type]
    return DigestFacts(TODAY, 7, {p.name: p for p in providers}, invoices)


def test_each_part_lists_its_invoices_with_totals_and_the_right_button() -> None:
    message = digest_message(
        facts(
            [
                invoice("supplier", "S-1", -3, "10.00"),
                invoice("supplier", "S-2", 2, "5.50", "USD"),
                invoice("supplier", "S-3", 9, "99.00"),  # beyond a week: not listed
                invoice("mailer", "M-1", -1, "20.00"),
                invoice("mailer", "M-2", 3, "20.00"),  # not overdue: not listed
                invoice("linkonly", "L-1", -5, "7.00"),
            ]
        )
    )
    assert validate_message(message) == []
    said = str(message["blocks"])
    assert "S-3" not in said and "M-2" not in said
    buttons = {
        b["text"]["text"].split("*")[1]: b["accessory"]["action_id"]
        for b in message["blocks"]
        if b.get("accessory")
    }
    assert buttons == {"S-1": "pay", "S-2": "pay", "M-1": "remind_customer", "L-1": "copy_link"}
    assert "Supplier &lt;!channel&gt;" in said and "<!channel>" not in said
    assert "not reminded yet" in said
    assert "*Overdue receivables (customers to pay us)*: 2 · €27.00" in said


def test_a_long_digest_stays_within_slacks_block_limit() -> None:
    many = [invoice("supplier", f"S-{n}", -n - 1, "1.00") for n in range(80)]
    many += [invoice("mailer", f"M-{n}", -n - 1, "1.00") for n in range(80)]
    message = digest_message(facts(many))
    assert validate_message(message) == [] and len(message["blocks"]) <= 50
    assert "and 70 more" in str(message["blocks"])


def test_many_failing_providers_keep_the_digest_within_slacks_block_limit() -> None:
    """Providers are third-party plugins, so there may be many; one block each for those
    that failed took a full digest past 50 blocks, and Slack refuses such a post whole."""
    many = [invoice("supplier", f"S-{n}", -n - 1, "1.00") for n in range(80)]
    many += [invoice("mailer", f"M-{n}", -n - 1, "1.00") for n in range(80)]
    failed = [(f"p{n}", f"Plugin {n} <b>", f"Plugin {n} did not answer.") for n in range(200)]
    unreadable = [(f"p{n}", f"Plugin {n}", (f"P{n}-1", f"P{n}-2")) for n in range(200)]
    full = DigestFacts(TODAY, 7, facts(many).providers, many, failed=failed, unreadable=unreadable)
    message = digest_message(full)
    assert validate_message(message) == [] and len(message["blocks"]) <= 50
    said = str(message["blocks"])
    assert "*Plugin 0 &lt;b&gt;* (Plugin 0 did not answer.)" in said
    assert "Plugin 199" not in said and "and 1" in said and "more providers did not answer" in said
    assert "*Plugin 0*: 2 invoices (P0-1, P0-2) could not be read" in said
    assert "more providers have invoices that could not be read" in said
    assert "and 70 more" in said  # the invoices' own parts are as they were


def test_one_failing_provider_reads_as_before() -> None:
    one = DigestFacts(
        TODAY, 7, facts([]).providers, [], failed=[("acme", "Acme", "Acme did not answer.")],
        unreadable=[("acme", "Acme", ("A-1",))],
    )  # fmt: skip
    said = str(digest_message(one)["blocks"])
    assert (
        ":warning: *Acme* did not answer (Acme did not answer.): its invoices are missing "
        "from this digest." in said
    )
    assert ":warning: *Acme*: 1 invoice (A-1) could not be read: it is missing" in said


def test_a_due_soon_dm_says_when_and_offers_pay() -> None:
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    message = due_soon_message(invoice("supplier", "S-9", 1, "3.00"), supplier, TODAY)
    assert validate_message(message) == []
    assert "falls due tomorrow" in message["text"]
    assert message["blocks"][0]["accessory"]["action_id"] == "pay"


def test_an_invoice_whose_id_no_button_can_carry_is_listed_without_one() -> None:
    odd = invoice("supplier", "S-7", -1, "4.00").model_copy(update={"id": "s 7/x"})
    message = digest_message(facts([odd, invoice("supplier", "S-8", -2, "5.00")]))
    assert validate_message(message) == [] and "s 7/x" not in str(message)
    assert "S-7" in str(message) and "S-8" in str(message)
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    due = due_soon_message(odd.model_copy(update={"due": TODAY}), supplier, TODAY)
    assert validate_message(due) == [] and "accessory" not in due["blocks"][0]


def test_an_overdue_invoice_reads_as_the_list_and_the_due_reminder_tell_it() -> None:
    """Due yesterday, it was not overdue on its due day (the payers' reminder said
    "falls due today"): the digest says how long overdue and when it was due, as the list."""
    message = digest_message(facts([invoice("supplier", "S-1", -1, "10.00")]))
    said = str(message["blocks"])
    due = (TODAY - timedelta(days=1)).isoformat()
    assert f"overdue 1 day (due {due})" in said and "overdue since" not in said, said


def test_the_digests_counts_read_one_invoice_as_one() -> None:
    """A notification reading "1 overdue payables" looks careless to whoever reads it."""
    one_each = [
        invoice("supplier", "S-1", -2, "10.00"),
        invoice("supplier", "S-2", 3, "5.00"),
        invoice("mailer", "M-1", -1, "20.00"),
    ]
    text = digest_message(facts(one_each))["text"]
    assert "1 overdue payable (€10.00)" in text and "payables" not in text, text
    assert "1 overdue receivable (€20.00)" in text and "receivables" not in text, text
    two = digest_message(facts([*one_each, invoice("supplier", "S-3", -4, "1.00")]))["text"]
    assert "2 overdue payables (€11.00)" in two, two
    soon = digest_message(DigestFacts(TODAY, 1, facts([]).providers, one_each))
    said = str(soon["blocks"])
    assert "due in the next 1 day*" in said and "1 days" not in said + soon["text"], said


def _note(message: dict[str, Any]) -> str:
    (note,) = [b for b in message["blocks"] if b["type"] == "context" and "Totals" in str(b)]
    return str(note["elements"][0]["text"])


def test_the_digests_note_names_the_buttons_it_shows() -> None:
    """A receivable whose provider cannot remind shows Copy payment link: the note names
    it, and names no button the digest does not show."""
    shows_all = digest_message(
        facts(
            [
                invoice("supplier", "S-1", -3, "10.00"),
                invoice("mailer", "M-1", -1, "20.00"),
                invoice("linkonly", "L-1", -5, "7.00"),
            ]
        )
    )
    assert _note(shows_all) == (
        "Totals are per currency. *Pay*, *Copy payment link* and *Send reminder* answer "
        "in your messages with invoicebot."
    )
    links = digest_message(facts([invoice("linkonly", "L-1", -5, "7.00")]))
    assert _note(links) == (
        "Totals are per currency. *Copy payment link* answers in your messages with invoicebot."
    )
    nothing = digest_message(facts([]))
    assert _note(nothing) == "Totals are per currency."


def test_a_reminder_the_provider_did_not_confirm_is_said_so_as_the_history_does() -> None:
    """A reminder whose answer was lost may not have gone out: the digest must not read
    as a reminder sent, where the invoice's history says the provider did not confirm it."""
    from datetime import datetime

    from bot.runs import Reminder

    def reminder(state: str) -> Reminder:
        return Reminder(
            id=1, kind="customer", provider="mailer", invoice_id="m-1", invoice_number="M-1",
            day="2026-12-04", at=datetime(2026, 12, 4, 9), user_id="U1", automatic=False,
            state=state, sent_to=None,
        )  # fmt: skip

    for state, confirmed in (("sent", True), ("unknown", False)):
        told = facts([invoice("mailer", "M-1", -1, "20.00")])
        told = DigestFacts(
            told.today, told.ahead, told.providers, told.invoices,
            reminded={("mailer", "m-1"): reminder(state)},
        )  # fmt: skip
        (line,) = [b["text"]["text"] for b in digest_message(told)["blocks"] if "M-1" in str(b)]
        assert "last reminded 2026-12-04 by <@U1>" in line
        assert ("did not confirm" in line) is not confirmed, line


def test_a_payable_with_no_due_date_is_listed_as_open_never_overdue() -> None:
    """A bill without a due date is still owed: the digest lists it after those due
    soon, and never counts it overdue."""
    undated = invoice("supplier", "S-0", 0, "8.00").model_copy(update={"due": None})
    message = digest_message(facts([undated, invoice("supplier", "S-2", 2, "5.00")]))
    assert validate_message(message) == []
    said = str(message["blocks"])
    assert "*Payables due in the next 7 days or with no due date*: 2 · €13.00" in said, said
    assert said.index("S-2") < said.index("S-0")
    assert "no due date" in said and "due no due date" not in said
    assert "*Overdue payables*: none." in said
    assert "0 overdue payables, 2 due in 7 days or with no due date (€13.00)" in message["text"]


def test_a_part_is_said_empty_only_of_the_providers_read_in_full() -> None:
    """A supplier that did not answer may have bills overdue or due: the payables' parts
    say "none" only of the others, and the notification says what it did not count; the
    customers' part, whose providers all answered, is none as before."""
    providers = facts([]).providers
    down = DigestFacts(
        TODAY, 7, providers, [], failed=[("supplier", "Supplier <!channel>", "It did not answer.")],
        unreadable=[("mailer", "Mailer", ("M-9",))],
    )  # fmt: skip
    message = digest_message(down)
    said = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert "*Overdue payables*: Supplier &lt;!channel&gt; could not be read." in said, said
    assert (
        "*Overdue receivables (customers to pay us)*: none at Link only; some invoices at "
        "Mailer could not be read." in said
    ), said
    assert not any(line.endswith(": none.") for line in said), said
    assert message["text"].endswith(
        "; not counted: Supplier &lt;!channel&gt; could not be read; some invoices at Mailer "
        "could not be read"
    ), message["text"]


def test_a_failed_provider_counts_missing_on_its_own_side_even_sharing_a_title() -> None:
    """Titles need not be unique among plugins: a supplier that did not answer, titled
    like a customers' provider that did, leaves the payables' parts unknown and the
    customers' part none, as its name, not its title, says."""

    class Twin(LinkOnly):
        name, title = "twin", "Supplier <!channel>"

    providers = {**facts([]).providers, "twin": Twin(NoCredentials(), None)}  # type: ignore[arg-type]
    down = DigestFacts(
        TODAY, 7, providers, [], failed=[("supplier", "Supplier <!channel>", "No answer.")]
    )
    said = [b["text"]["text"] for b in digest_message(down)["blocks"] if b["type"] == "section"]
    assert "*Overdue payables*: Supplier &lt;!channel&gt; could not be read." in said, said
    assert "*Overdue receivables (customers to pay us)*: none." in said, said


def test_an_invoice_a_charge_in_doubt_may_have_paid_says_not_to_pay_it_again() -> None:
    """As the list and App Home say it: the provider still lists it open, and Pay would
    only say not to pay again."""
    doubt = "invoicebot does not know yet whether the payment of invoice S-1 went through."
    found = facts([invoice("supplier", "S-1", -3, "10.00"), invoice("supplier", "S-2", 2, "5")])
    message = digest_message(replace(found, in_doubt={("supplier", "s-1"): doubt}))
    assert validate_message(message) == []
    rows = {
        b["text"]["text"].split("*")[1]: b["text"]["text"]
        for b in message["blocks"]
        if b.get("accessory")
    }
    assert rows["S-1"].endswith(f"\n:hourglass: {doubt}") and doubt not in rows["S-2"]
