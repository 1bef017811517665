"""Money from i3D is exact: cents-as-strings never pass through a float, and totals add up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.models import InvoiceQuery, Money
from plugins.i3d import I3DProvider, wire
from plugins.i3d.convert import to_invoice
from plugins.i3d.sandbox import SandboxState
from plugins.i3d.sandbox.samples import invoice

NOW = 1_717_200_000


@pytest.mark.parametrize(
    ("cents", "amount"),
    [
        ("1", "0.01"),
        ("10", "0.10"),
        ("123456", "1234.56"),
        ("-2420", "-24.20"),
        ("9007199254740993", "90071992547409.93"),  # 2**53 + 1: a float would lose the last cent
    ],
)
def test_cents_strings_convert_exactly(cents: str, amount: str) -> None:
    item = invoice("1", "A-1", "x", 0, 0, created=NOW, due=NOW).model_copy(
        update={"amountIncVAT": cents, "remainingAmount": cents}
    )
    converted = to_invoice(item)
    assert converted.total_incl_vat.amount == Decimal(amount)
    assert converted.amount_due == Money.of(amount, "EUR")


async def test_big_amounts_survive_the_wire(sandbox: SandboxState, provider: I3DProvider) -> None:
    sandbox.invoices.clear()
    sandbox.add_invoices([invoice("1", "BIG-1", "x", 9007199254740993, 1, created=NOW, due=NOW)])
    (item,) = (await provider.list_invoices(InvoiceQuery())).invoices
    assert item.amount_due.amount == Decimal("90071992547409.93")
    assert float(item.amount_due.amount) == float("90071992547409.94")  # why floats are banned


async def test_ten_and_twenty_cents_make_thirty(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    sandbox.invoices.clear()
    sandbox.add_invoices(
        [
            invoice("1", "C-1", "x", 10, 10, created=NOW, due=NOW, currency="USD"),
            invoice("2", "C-2", "x", 20, 20, created=NOW, due=NOW, currency="USD"),
        ]
    )
    options = await provider.payment_options(["1", "2"])
    assert options.total == Money.of("0.30", "USD")
    assert options.total == Money.total((item.amount_due for item in options.invoices), "USD")


async def test_prepare_total_is_the_sum_of_the_invoices(provider: I3DProvider) -> None:
    options = await provider.payment_options(["410005", "410006"])
    assert options.credits_settled == []
    summed = Money.total((item.amount_due for item in options.invoices), "USD")
    assert summed == options.total == Money.of("1244.55", "USD")


async def test_many_generated_invoices_add_up_to_the_cent(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    cents = [7 + 13 * n for n in range(300)]
    sandbox.invoices.clear()
    sandbox.add_invoices(
        invoice(str(n), f"M-{n}", "x", c, c, created=NOW, due=NOW) for n, c in enumerate(cents)
    )
    options = await provider.payment_options([str(n) for n in range(300)])
    assert options.total.to_minor() == sum(cents)
    assert options.total == Money.total((item.amount_due for item in options.invoices), "EUR")


def test_a_float_in_the_wire_is_refused() -> None:
    with pytest.raises(ValueError, match="valid string"):
        wire.PayPrepare.model_validate_json(
            b'{"totalAmount": 12.5, "currency": "EUR", "currencySign": "\\u20ac",'
            b' "totalSelectedInvoiceForPay": 1, "totalSelectedCreditForSettle": 0,'
            b' "accountCredit": "0"}'
        )
