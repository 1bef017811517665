"""The menu of ways to pay, as Slack takes it: a provider may offer more methods or banks
than a select can hold, and the one chosen must still show as chosen."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from bot.models import Invoice, InvoiceStatus, Issuer, Money, PaymentMethod, PaymentOptions
from bot.provider import Direction
from bot.slack import values
from bot.slack.actions import block_target
from bot.slack.blocks.listing import invoice_line
from bot.slack.blocks.paying import pay_menu
from slack_emulator.blockkit import validate_message

I3D = SimpleNamespace(
    name="i3d", title="i3D.net", capabilities=SimpleNamespace(direction=Direction.PAYABLE)
)
PAYFIRMA = SimpleNamespace(
    name="payfirma", title="Payfirma", capabilities=SimpleNamespace(direction=Direction.RECEIVABLE)
)


def menu(methods: list[PaymentMethod], target: values.PayTarget) -> dict[str, Any]:
    ten = Money.of("10", "EUR")
    invoice = Invoice(
        provider="i3d",
        id="410002",
        number="INV-1",
        amount_due=ten,
        total_incl_vat=ten,
        status=InvoiceStatus.OPEN,
    )
    options = PaymentOptions(provider="i3d", invoices=[invoice], total=ten, methods=methods)
    return pay_menu(I3D, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]


def select(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(
        element
        for block in message["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    )


def offered(element: dict[str, Any]) -> list[dict[str, Any]]:
    if "options" in element:
        return list(element["options"])
    return [o for group in element["option_groups"] for o in group["options"]]


@pytest.mark.parametrize("chosen", [5, 99, 100, 119])
def test_past_a_hundred_methods_every_one_is_offered_in_groups(chosen: int) -> None:
    methods = [PaymentMethod(id=f"m{i}", name=f"Method {i}") for i in range(120)]
    message = menu(methods, values.PayTarget("i3d", ("410002",), f"m{chosen}"))
    assert validate_message(message) == []
    methods_select = select(message, values.CHOOSE_METHOD)
    assert [len(group["options"]) for group in methods_select["option_groups"]] == [100, 20]
    assert methods_select["option_groups"][1]["label"]["text"] == "Method 100 … Method 119"
    shown = [o["value"] for o in offered(methods_select)]
    assert shown == [f"m{i}" for i in range(120)]  # in the provider's order
    assert methods_select["initial_option"]["value"] == f"m{chosen}"


def test_a_bank_chosen_past_the_hundredth_is_shown_chosen() -> None:
    banks = tuple(Issuer(id=f"B{i}", name=f"Bank {i}") for i in range(130))
    methods = [PaymentMethod(id="10", name="iDEAL", issuers=banks)]
    message = menu(methods, values.PayTarget("i3d", ("410002",), "10", "B120"))
    assert validate_message(message) == []
    banks_select = select(message, values.CHOOSE_ISSUER)
    assert len(offered(banks_select)) == 130
    assert banks_select["initial_option"]["value"] == "B120"
    assert banks_select["initial_option"] in offered(banks_select)
    assert values.GET_LINK in str(message["blocks"]), "a bank is chosen: the menu goes on"


def test_an_overdue_invoice_is_marked_in_the_menu_as_in_the_list() -> None:
    ten = Money.of("10", "EUR")
    late = Invoice(
        provider="i3d", id="410002", number="INV-1", amount_due=ten, total_incl_vat=ten,
        status=InvoiceStatus.OPEN, due=date(2026, 11, 21),
    )  # fmt: skip
    options = PaymentOptions(provider="i3d", invoices=[late], total=ten, methods=[])
    target = values.PayTarget("i3d", ("410002",))
    shown = str(pay_menu(I3D, options, target, today=date(2026, 12, 1)))  # type: ignore[arg-type]
    marker = ":red_circle: overdue 10 days (due 2026-11-21)"
    assert marker in invoice_line(late, "i3D.net", date(2026, 12, 1))
    assert f"€10.00 · {marker}" in shown


def test_too_many_long_ids_to_pay_together_are_refused_with_how_many_fit() -> None:
    """The menu's context rides in its actions block id, which Slack cuts at 255
    characters: invoices whose ids cannot all fit are never offered a menu that would
    then refuse the method chosen ("not one invoicebot made")."""
    from bot.slack.actions import block_target

    ten = Money.of("10", "EUR")
    invoices = [
        Invoice(
            provider="i3d",
            id=f"inv-2026-{i:021d}",
            number=f"INV-{i}",
            amount_due=ten,
            total_incl_vat=ten,
            status=InvoiceStatus.OPEN,
        )
        for i in range(10)
    ]
    banks = (Issuer(id="BANK-WITH-A-LONG-IDENTIFIER", name="Bank"),)
    methods = [PaymentMethod(id="ideal", name="iDEAL", issuers=banks)]

    def shown(count: int, method: str | None = None, bank: str | None = None) -> dict[str, Any]:
        chosen = invoices[:count]
        options = PaymentOptions(
            provider="i3d", invoices=chosen, total=Money.of(10 * count, "EUR"), methods=methods
        )
        target = values.PayTarget("i3d", tuple(i.id for i in chosen), method, bank)
        return pay_menu(I3D, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]

    refused = shown(10)
    assert validate_message(refused) == []
    said = str(refused)
    assert "pay:" not in said and "at most 6" in said, said
    for count in (1, 6):
        for method, bank in ((None, None), ("ideal", None), ("ideal", banks[0].id)):
            message = shown(count, method, bank)
            (block,) = [b for b in message["blocks"] if b["block_id"].startswith("pay:")]
            target = block_target(block["block_id"])
            assert len(target.invoice_ids) == count and target.issuer_id == bank


def test_one_invoice_whose_ids_fill_a_block_id_is_sent_to_the_provider() -> None:
    long = "x" * 64  # the longest id a Slack menu carries, for the invoice, method and bank
    ten = Money.of("9" * 18 + ".99", "EUR")  # the most digits an amount has
    invoice = Invoice(
        provider="i3d",
        id=long,
        number="INV-1",
        amount_due=ten,
        total_incl_vat=ten,
        status=InvoiceStatus.OPEN,
    )
    methods = [PaymentMethod(id=long, name="Card", issuers=(Issuer(id=long, name="Bank"),))]
    options = PaymentOptions(provider="i3d", invoices=[invoice], total=ten, methods=methods)
    target = values.PayTarget("i3d" * 10, (long,))
    message = pay_menu(I3D, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]
    assert "cannot be paid from here: pay it at i3D.net" in message["text"]
    assert "pick at most" not in message["text"]


def test_how_many_fit_holds_for_whichever_invoices_are_picked() -> None:
    """Ids of different lengths: 'pick at most N' is true of any N of them, not only of
    the shortest ones ticked first, so picking again is never refused again."""
    ten = Money.of("10", "EUR")

    def invoice(invoice_id: str) -> Invoice:
        return Invoice(
            provider="i3d",
            id=invoice_id,
            number=invoice_id[-3:],
            amount_due=ten,
            total_incl_vat=ten,
            status=InvoiceStatus.OPEN,
        )

    short = [invoice(f"inv-{i:06d}") for i in range(8)]
    long = [invoice(f"inv-2026-{i:031d}") for i in range(8)]
    methods = [PaymentMethod(id="ideal", name="iDEAL", issuers=(Issuer(id="ING", name="ING"),))]

    def shown(chosen: list[Invoice]) -> dict[str, Any]:
        options = PaymentOptions(
            provider="i3d",
            invoices=chosen,
            total=Money.of(10 * len(chosen), "EUR"),
            methods=methods,
        )
        target = values.PayTarget("i3d", tuple(i.id for i in chosen))
        return pay_menu(I3D, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]

    said = shown(short + long)["text"]
    fitting = int(said.split("pick at most ")[1].split()[0])
    picked = shown(long[:fitting])
    assert any(b["block_id"].startswith("pay:") for b in picked["blocks"]), picked["text"]


DIRECTION = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def texts(value: Any) -> list[str]:
    """Every text object's words in a message, plain_text and mrkdwn alike."""
    if isinstance(value, list):
        return [text for item in value for text in texts(item)]
    if not isinstance(value, dict):
        return []
    found = [value["text"]] if value.get("type") in ("plain_text", "mrkdwn") else []
    return found + [text for item in value.values() for text in texts(item)]


def test_a_provider_cannot_reorder_what_the_menu_shows() -> None:
    """Direction characters in an invoice number (the header, a line), a method's name
    (an option, the confirm dialog) or a bank's name could turn an amount or a name
    around as a person reads it: no text object keeps them, plain or mrkdwn."""
    ten = Money.of("10", "EUR")
    invoice = Invoice(
        provider="i3d", id="410002", number="INV-1\u202e00.01", amount_due=ten,
        total_incl_vat=ten, status=InvoiceStatus.OPEN, description="Hosting\u200f -5",
    )  # fmt: skip
    banks = (Issuer(id="B1", name="\u2067Bank\u2069 \u200e1"), Issuer(id="B2", name="\u202e"))
    methods = [PaymentMethod(id="10", name="iDEAL\u202d", issuers=banks)]
    options = PaymentOptions(provider="i3d", invoices=[invoice], total=ten, methods=methods)
    target = values.PayTarget("i3d", ("410002",), "10", "B1")
    message = pay_menu(I3D, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]
    assert validate_message(message) == []
    shown = texts(message["blocks"])
    assert "Pay INV-100.01" in shown  # the header, plain text
    assert not [text for text in shown if any(c in text for c in DIRECTION)], shown
    banks_select = select(message, values.CHOOSE_ISSUER)
    assert [o["text"]["text"] for o in offered(banks_select)] == ["Bank 1", "B2"]


def test_past_a_thousand_methods_the_chosen_one_takes_the_last_place() -> None:
    methods = [PaymentMethod(id=f"m{i}", name="x" * 80 + str(i)) for i in range(1_200)]
    message = menu(methods, values.PayTarget("i3d", ("410002",), "m1100"))
    assert validate_message(message) == []
    methods_select = select(message, values.CHOOSE_METHOD)
    shown = offered(methods_select)
    assert len(shown) == 1_000 and shown[-1]["value"] == "m1100"
    assert all(len(g["label"]["text"]) <= 75 for g in methods_select["option_groups"])


def test_each_unavailable_method_is_named_however_long_one_reason_is() -> None:
    """Eight lines share one context text of 3,000 characters: a provider's long reason
    for one method is cut within its line, so the methods after it are still named."""
    long_reason = "Not offered in your country. " * 200
    methods = [PaymentMethod(id="card", name="Card")] + [
        PaymentMethod(id=f"x{n}", name=f"Way {n}", selectable=False, reason=long_reason)
        for n in range(5)
    ]
    message = menu(methods, values.PayTarget("i3d", ("410002",)))
    assert validate_message(message) == []
    note = next(
        element["text"]
        for block in message["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
        if "Not available now" in element["text"]
    )
    assert all(f"• Way {n}: Not offered" in note for n in range(5))


def test_more_invoices_than_a_message_has_blocks_for_are_refused_with_how_many_fit() -> None:
    """A list lets a person tick ten; a click naming more (made up, not from Slack) gets
    a word Slack can show, not a menu of a section per invoice past its 50 blocks."""
    ten = Money.of("10", "EUR")
    invoices = [
        Invoice(
            provider="i3d",
            id=str(i),
            number=f"INV-{i}",
            amount_due=ten,
            total_incl_vat=ten,
            status=InvoiceStatus.OPEN,
        )
        for i in range(48)
    ]
    methods = [PaymentMethod(id="ideal", name="iDEAL")]

    def shown(count: int) -> dict[str, Any]:
        chosen = invoices[:count]
        options = PaymentOptions(
            provider="i3d", invoices=chosen, total=Money.of(10 * count, "EUR"), methods=methods
        )
        target = values.PayTarget("i3d", tuple(i.id for i in chosen), "ideal")
        return pay_menu(I3D, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]

    refused = shown(48)
    assert validate_message(refused) == [] and "at most 40" in str(refused)
    allowed = shown(40)
    assert validate_message(allowed) == [] and "pay:" in str(allowed)


def test_a_credit_worth_more_than_the_bill_says_how_much_of_it_is_taken_off() -> None:
    """The provider charges €96.80 for a €121.00 bill with a €50,000.00 credit note: the
    line says €24.20 of it is taken off, and adds up."""
    from bot.slack.blocks.paying import credit_sum

    eur = lambda text: Money.of(text, "EUR")  # noqa: E731
    whole = credit_sum([eur("363.00")], [("CRN-1", eur("24.20"))], eur("338.80"))
    assert whole == "€363.00 − credit CRN-1 €24.20 = €338.80"
    part = credit_sum([eur("121.00")], [("CRN-1", eur("50000.00"))], eur("96.80"))
    assert part == "€121.00 − €24.20 of credit CRN-1 €50,000.00 = €96.80"


def test_a_method_or_bank_whose_id_a_menu_cannot_carry_is_not_offered() -> None:
    """The chosen method and bank ride in the menu's block id and button values, read
    back strictly: a provider's method id with a space (or past 64 characters) was offered,
    and choosing it was answered as a tampered click, so nothing could be paid with it."""
    banks = (Issuer(id="INGBNL2A", name="ING"), Issuer(id="ABN AMRO", name="ABN AMRO"))
    methods = [
        PaymentMethod(id="credit card", name="Credit card"),
        PaymentMethod(id="10", name="iDEAL", issuers=banks),
    ]
    message = menu(methods, values.PayTarget("i3d", ("410002",), "10"))
    assert validate_message(message) == []
    assert [o["value"] for o in offered(select(message, values.CHOOSE_METHOD))] == ["10"]
    assert [o["value"] for o in offered(select(message, values.CHOOSE_ISSUER))] == ["INGBNL2A"]
    assert "• Credit card: cannot be chosen from Slack" in str(message["blocks"])
    (block_id,) = [b["block_id"] for b in message["blocks"] if b["block_id"].startswith("pay:")]
    assert block_target(block_id).method_id == "10"


def test_a_method_whose_long_id_is_not_offered_does_not_crowd_out_the_rest() -> None:
    """A method (or bank) whose id no menu can carry is named unavailable, never chosen:
    its length must not count against the block id, where it once refused the whole
    menu as "ids too long" though another method could pay."""
    long_bank = (Issuer(id="B" * 200, name="Far bank"),)
    methods = [
        PaymentMethod(id="x" * 240, name="Odd"),
        PaymentMethod(id="8", name="Bancontact", issuers=long_bank),
        PaymentMethod(id="10", name="iDEAL"),
    ]
    message = menu(methods, values.PayTarget("i3d", ("410002",), "10"))
    assert validate_message(message) == []
    assert [o["value"] for o in offered(select(message, values.CHOOSE_METHOD))] == ["10"]
    assert values.GET_LINK in str(message["blocks"])
    assert "• Odd: cannot be chosen from Slack" in str(message["blocks"])


def test_a_customers_link_is_confirmed_as_theirs_to_pay_not_ours() -> None:
    """A receivable's menu gets a link for the customer; its confirm dialog must not ask
    "Pay CA$10.00 …?", which reads as the team paying its customer."""
    ten = Money.of("10", "CAD")
    invoice = Invoice(
        provider="payfirma",
        id="212947",
        number="212947",
        amount_due=ten,
        total_incl_vat=ten,
        status=InvoiceStatus.OPEN,
    )
    card = PaymentMethod(id="hpp", name="Card on Payfirma's payment page")
    options = PaymentOptions(provider="payfirma", invoices=[invoice], total=ten, methods=[card])
    target = values.PayTarget("payfirma", ("212947",), "hpp")
    shown = pay_menu(PAYFIRMA, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]
    (button,) = [
        e
        for block in shown["blocks"]
        for e in block.get("elements", [])
        if e.get("action_id") == values.GET_LINK
    ]
    said = button["confirm"]["text"]["text"]
    assert not said.startswith("Pay "), said
    assert "for the customer to pay *CA$10.00* for invoice 212947" in said


def test_a_customers_invoice_names_the_customer_in_its_menu() -> None:
    """The link is for the customer to pay: the menu says whose it is, as provider text."""
    ten = Money.of("10", "CAD")
    invoice = Invoice(
        provider="payfirma", id="212947", number="212947", amount_due=ten, total_incl_vat=ten,
        status=InvoiceStatus.OPEN, payer="Acme <!channel> & Co " + "x" * 200,
    )  # fmt: skip
    card = PaymentMethod(id="hpp", name="Card on Payfirma's payment page")
    options = PaymentOptions(provider="payfirma", invoices=[invoice], total=ten, methods=[card])
    target = values.PayTarget("payfirma", ("212947",), "hpp")
    shown = pay_menu(PAYFIRMA, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]
    assert validate_message(shown) == []
    said = shown["blocks"][1]["text"]["text"]
    assert said.startswith("*212947* · customer *Acme &lt;!channel&gt; &amp; Co xxx"), said
    assert "xxx…*\n" in said and "<!channel>" not in str(shown)
    menu_of_a_bill = menu([card], values.PayTarget("i3d", ("410002",), "hpp"))
    assert "customer" not in str(menu_of_a_bill["blocks"])


def _link_dialog(payer: str | None, method: str) -> str:
    ten = Money.of("10", "CAD")
    invoice = Invoice(
        provider="payfirma", id="212947", number="212947", amount_due=ten, total_incl_vat=ten,
        status=InvoiceStatus.OPEN, payer=payer,
    )  # fmt: skip
    card = PaymentMethod(id="hpp", name=method)
    options = PaymentOptions(provider="payfirma", invoices=[invoice], total=ten, methods=[card])
    target = values.PayTarget("payfirma", ("212947",), "hpp")
    shown = pay_menu(PAYFIRMA, options, target, today=date(2026, 12, 1))  # type: ignore[arg-type]
    assert validate_message(shown) == []
    (button,) = [
        e
        for block in shown["blocks"]
        for e in block.get("elements", [])
        if e.get("action_id") == values.GET_LINK
    ]
    said: str = button["confirm"]["text"]["text"]
    return said


def test_a_customers_link_dialog_names_the_customer() -> None:
    said = _link_dialog("Acme <!channel> & Co", "Card")
    assert said == (
        "A link for *Acme &lt;!channel&gt; &amp; Co* to pay *CA$10.00* for invoice 212947 "
        "with *Card*?"
    )


@pytest.mark.parametrize("over", [0, 1, 14])
def test_a_customers_name_gives_way_before_the_method_in_the_link_dialog(over: int) -> None:
    """Slack's confirm text holds 300 characters: at the limit the customer is named in
    full; past it the name is cut, then left out (11 characters are too few to name
    anyone), and the method is always whole."""
    name = "Harbour Labs Incorporated"
    fixed = len("A link for ** to pay *CA$10.00* for invoice 212947 with **?")
    method = "M" * (300 - fixed - len(name) + over)
    said = _link_dialog(name, method)
    assert len(said) <= 300 and said.endswith(f"*{method}*?"), said
    if over == 0:
        assert len(said) == 300 and f"*{name}*" in said
    elif over == 1:
        assert "*Harbour Labs Incorporat…*" in said
    else:
        assert said.startswith("A link for the customer to pay"), said
