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
from bot.slack.blocks.listing import invoice_line
from bot.slack.blocks.paying import pay_menu
from slack_emulator.blockkit import validate_message

I3D = SimpleNamespace(
    name="i3d", title="i3D.net", capabilities=SimpleNamespace(direction=Direction.PAYABLE)
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


@pytest.mark.parametrize("chosen", [5, 99, 100, 119])
def test_a_method_chosen_past_the_hundredth_is_shown_chosen(chosen: int) -> None:
    methods = [PaymentMethod(id=f"m{i}", name=f"Method {i}") for i in range(120)]
    message = menu(methods, values.PayTarget("i3d", ("410002",), f"m{chosen}"))
    assert validate_message(message) == []
    methods_select = select(message, values.CHOOSE_METHOD)
    shown = [o["value"] for o in methods_select["options"]]
    assert len(shown) == 100 and len(set(shown)) == 100
    assert methods_select["initial_option"]["value"] == f"m{chosen}"
    assert shown[:99] == [f"m{i}" for i in range(99)]  # the first ones keep their places


def test_a_bank_chosen_past_the_hundredth_is_shown_chosen() -> None:
    banks = tuple(Issuer(id=f"B{i}", name=f"Bank {i}") for i in range(130))
    methods = [PaymentMethod(id="10", name="iDEAL", issuers=banks)]
    message = menu(methods, values.PayTarget("i3d", ("410002",), "10", "B120"))
    assert validate_message(message) == []
    banks_select = select(message, values.CHOOSE_ISSUER)
    assert len(banks_select["options"]) == 100
    assert banks_select["initial_option"]["value"] == "B120"
    assert banks_select["initial_option"] in banks_select["options"]
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
