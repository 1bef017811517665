"""Creating, drafting and e-mailing Payfirma invoices, with totals right to the cent."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import InvoiceDraft, InvoiceLine, InvoiceStatus, Money
from bot.provider import (
    InvoiceNotFound,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    SeveralInvoices,
)
from bot.text import say
from plugins.payfirma import PayfirmaProvider
from plugins.payfirma.issuing import quantity_text, split_name
from plugins.payfirma.paging import MAX_LIMIT
from plugins.payfirma.sandbox import SandboxState
from plugins.payfirma.sandbox.state import Email

POST_INVOICE = ("POST", "/invoice")


def line(description: str, quantity: str, price: str, tax: str = "0", currency: str = "CAD"):
    return InvoiceLine(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Money.of(price, currency),
        tax_percent=Decimal(tax),
    )


def draft(*lines: InvoiceLine, currency: str = "CAD", **fields: object) -> InvoiceDraft:
    values: dict[str, object] = {
        "customer_name": "Mary Ann Smith",
        "customer_email": "mary@smith.example",
        "currency": currency,
        "lines": lines,
        "due": date(2030, 1, 31),
        "title": "March work",
        "description": "Consulting, March",
    }
    return InvoiceDraft.model_validate(values | fields)


DRAFTS = [
    pytest.param(draft(line("Hours", "10", "10", "5")), "105.00", id="simple"),
    pytest.param(
        draft(line("Ten cents", "1", "0.10"), line("Twenty cents", "1", "0.20")),
        "0.30",
        id="point-one-plus-point-two",
    ),
    pytest.param(
        draft(line("Support", "1", "299.00", "7.5"), currency="CAD"), "321.43", id="half-up"
    ),
    pytest.param(
        draft(line("Hours", "2.5", "35.19", "13"), line("Travel", "3", "0.35", "5")),
        "100.52",
        id="fractional-quantity",
    ),
    pytest.param(
        draft(*(line(f"Widget {n}", "3", "0.33", "12.5") for n in range(1, 12))),
        "12.21",
        id="many-small-lines",
    ),
]


@pytest.mark.parametrize(("invoice_draft", "expected"), DRAFTS)
async def test_created_totals_equal_the_draft_to_the_cent(
    provider: PayfirmaProvider, invoice_draft: InvoiceDraft, expected: str
) -> None:
    assert invoice_draft.total == Money.of(expected, invoice_draft.currency)
    invoice = await provider.create_invoice(invoice_draft, send=False)
    assert invoice.total_incl_vat == invoice_draft.total
    assert invoice.total_excl_vat == invoice_draft.subtotal
    assert invoice.amount_due == invoice_draft.total


async def test_create_and_send(provider: PayfirmaProvider, sandbox: SandboxState) -> None:
    new = draft(line("Hours", "10", "10", "5"))
    invoice = await provider.create_invoice(new, send=True)
    assert invoice.status is InvoiceStatus.OPEN and invoice.payable
    assert invoice.number == invoice.id == "212953"
    assert invoice.payer == "Mary Ann Smith (mary@smith.example)"
    assert invoice.due == date(2030, 1, 31) and invoice.description == "Consulting, March"
    assert sandbox.emails == [Email(212953, "mary@smith.example")]
    assert await provider.get_invoice("212953") == invoice
    assert sandbox.count("POST", "/invoice") == 1


async def test_save_as_draft_sends_nothing(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    invoice = await provider.create_invoice(draft(line("Hours", "1", "80")), send=False)
    assert invoice.status is InvoiceStatus.DRAFT and not invoice.payable
    assert sandbox.emails == [] and sandbox.count("POST", "/invoice/draft") == 1


async def test_the_create_body_is_as_documented(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    new = draft(line("Ten cents", "1", "0.10", "5"), line("Hours", "1.5", "0.20"))
    await provider.create_invoice(new, send=True)
    (seen,) = [seen for seen in sandbox.requests if (seen.method, seen.path) == POST_INVOICE]
    body = json.loads(seen.body, parse_float=Decimal)
    assert body["items"] == [
        {
            "item": "Ten cents",
            "quantity": "1",
            "price": Decimal("0.10"),
            "tax1": {"percentile": True, "amount": 5},
            "amount": Decimal("0.10"),
            "discount": False,
        },
        {
            "item": "Hours",
            "quantity": "1.5",
            "price": Decimal("0.20"),
            "amount": Decimal("0.30"),
            "discount": False,
        },
    ]
    assert (body["sub_total"], body["tax1"], body["total"]) == (
        Decimal("0.40"),
        Decimal("0.01"),
        Decimal("0.41"),
    )
    assert body["due_date"] == 1896134399000  # 2030-01-31 23:59:59 UTC, epoch milliseconds
    assert body["recipient_first_name"] == "Mary Ann" and body["recipient_last_name"] == "Smith"
    assert (body["status"], body["invoice_id"], body["resend_invoice"]) == ("Unpaid", "", True)
    assert "customer_id" not in body  # a first invoice to this address: no customer known yet
    assert b'"total":0.41,' in seen.body and b"0.30000000000000004" not in seen.body


def sent_bodies(sandbox: SandboxState) -> list[dict[str, object]]:
    return [
        json.loads(seen.body, parse_float=Decimal)
        for seen in sandbox.requests
        if seen.method == "POST" and seen.path in ("/invoice", "/invoice/draft")
    ]


@pytest.mark.parametrize("send", [True, False], ids=["sent", "draft"])
async def test_an_invoice_to_a_known_customer_is_filed_under_them(
    provider: PayfirmaProvider, sandbox: SandboxState, send: bool
) -> None:
    before = {item.id for item in await provider.customer_invoices(5001)}
    assert before == {"212947", "212950"}  # Northwind Traders, dana@northwind.example
    new = draft(line("Hours", "2", "40"), customer_email="Dana@Northwind.example")
    invoice = await provider.create_invoice(new, send=send)
    (body,) = sent_bodies(sandbox)
    assert body["customer_id"] == 5001 and body["recipient_email"] == "Dana@Northwind.example"
    after = {item.id for item in await provider.customer_invoices(5001)}
    assert after == before | {invoice.id}
    assert invoice.id not in {item.id for item in await provider.customer_invoices(5002)}


async def test_a_new_address_goes_without_a_customer(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    invoice = await provider.create_invoice(draft(line("Hours", "1", "80")), send=True)
    (body,) = sent_bodies(sandbox)
    assert "customer_id" not in body
    lists = [await provider.customer_invoices(n) for n in (5001, 5002, 5003)]
    assert invoice.id not in {item.id for found in lists for item in found}


async def test_an_address_shared_by_two_customers_is_not_guessed(
    provider: PayfirmaProvider, sandbox: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    shared = "accounts@shared.example"
    for customer in (5001, 5002):
        await provider.create_invoice(draft(line("Setup", "1", "10")), send=False)
        key = max(sandbox.invoices)
        sandbox.invoices[key] = sandbox.invoices[key].model_copy(
            update={"customer_id": customer, "recipient_email": shared}
        )
    await provider.create_invoice(draft(line("Hours", "1", "80"), customer_email=shared), send=True)
    assert "customer_id" not in sent_bodies(sandbox)[-1]
    assert "under 2 customers (5001, 5002)" in caplog.text


@pytest.mark.parametrize("failing", ["/invoice", "/oauth/token"])
async def test_a_failed_lookup_or_sign_in_before_the_create_says_nothing_was_created(
    provider: PayfirmaProvider, sandbox: SandboxState, failing: str
) -> None:
    """Not `ProviderUnavailable`: that would tell the person the invoice may exist, and
    the form, submitted again, would say it was not confirmed."""
    sandbox.inject("error", count=10, path=failing)
    with pytest.raises(ProviderError) as raised:
        await provider.create_invoice(draft(line("Hours", "1", "80")), send=True)
    assert not isinstance(raised.value, ProviderUnavailable)
    assert sandbox.count("POST", "/invoice") == 0 and sandbox.emails == []
    assert str(raised.value).endswith("Nothing was created. Try again in a few minutes.")


async def test_totals_that_differ_are_rejected(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.tax_rounding = "invoice"  # Payfirma rounds the tax once, we round per line
    new = draft(*(line(f"Widget {n}", "3", "0.33", "12.5") for n in range(1, 12)))
    with pytest.raises(PaymentRejected) as raised:
        await provider.create_invoice(new, send=True)
    assert str(raised.value) == (
        "Payfirma computed different totals for new invoice 212953 (total CA$12.25 instead "
        "of CA$12.21; tax CA$1.36 instead of CA$1.32). It was e-mailed to the customer "
        "anyway: void it in PayHQ and check the lines and tax rates."
    )


async def test_other_currencies_are_refused_before_asking(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    with pytest.raises(PaymentRejected, match="CAD or USD only, not EUR"):
        await provider.create_invoice(
            draft(line("Hours", "1", "80", currency="EUR"), currency="EUR"), send=True
        )
    assert sandbox.requests == type(sandbox.requests)(maxlen=sandbox.requests.maxlen)


async def test_create_is_never_retried(provider: PayfirmaProvider, sandbox: SandboxState) -> None:
    # Faults match paths, not methods, and the customer lookup reads GET /invoice first:
    # the draft route is the same create call on a path nothing else uses.
    sandbox.inject("error", count=3, path="/invoice/draft")
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.create_invoice(draft(line("Hours", "1", "80")), send=False)
    assert sandbox.count("POST", "/invoice/draft") == 1
    assert str(raised.value).endswith(
        "server error (HTTP 500: Internal server error (sandbox fault)). The invoice may "
        "have been created; check PayHQ before trying again."
    )  # not also "try again in a few minutes": a second create bills the customer twice
    assert "few minutes" not in say(raised.value)


async def test_send_to_the_recipient_on_file(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    assert await provider.send_invoice("212949") == "sam@harbourlabs.example"
    assert sandbox.emails == [Email(212949, "sam@harbourlabs.example")]


async def test_send_to_another_address(provider: PayfirmaProvider, sandbox: SandboxState) -> None:
    to = "accounts+payable@harbourlabs.example"
    assert await provider.send_invoice("212949", to) == to
    (seen,) = [seen for seen in sandbox.requests if "/send/" in seen.path]
    assert seen.raw_path == "/invoice/212949/send/accounts%2Bpayable@harbourlabs.example"
    assert sandbox.emails == [Email(212949, to)]


async def test_sending_a_draft_issues_it(provider: PayfirmaProvider) -> None:
    await provider.send_invoice("212952")
    assert (await provider.get_invoice("212952")).status is InvoiceStatus.OPEN


async def test_send_refusals(provider: PayfirmaProvider, sandbox: SandboxState) -> None:
    with pytest.raises(InvoiceNotFound, match="no invoice '404040'"):
        await provider.send_invoice("404040")
    with pytest.raises(ProviderError, match="not an e-mail address"):
        await provider.send_invoice("212949", "not/an@address.example")
    sandbox.inject("error", path="/invoice/212949/send")
    with pytest.raises(ProviderUnavailable, match="The e-mail may have gone out") as raised:
        await provider.send_invoice("212949")
    assert "few minutes" not in say(raised.value)
    assert sandbox.count("POST", "/invoice/212949/send") == 1 and sandbox.emails == []


@pytest.mark.parametrize(
    ("quantity", "text"), [("10", "10"), ("1.50", "1.5"), ("100", "100"), ("0.25", "0.25")]
)
def test_quantities_are_written_as_documented(quantity: str, text: str) -> None:
    assert quantity_text(Decimal(quantity)) == text


def test_names_split_into_first_and_last() -> None:
    assert split_name("Mary Ann Smith") == ("Mary Ann", "Smith")
    assert split_name("Acme") == ("Acme", "")


async def test_a_failed_sign_in_before_sending_says_nothing_was_sent(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=10, path="/oauth/token")
    with pytest.raises(ProviderError) as raised:
        await provider.send_invoice("212949")
    assert not isinstance(raised.value, ProviderUnavailable) and sandbox.emails == []
    assert str(raised.value).endswith("Nothing was sent. Try again in a few minutes.")


async def test_a_create_refused_without_a_reason_speaks_of_creating_not_paying(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    """A 422 with no words read "the invoice may already be paid or not payable this way
    ... try another method", under a form where nobody was paying. (The draft route is
    the create call on a path nothing else uses: faults match paths, not methods.)"""
    sandbox.inject("wordless", path="/invoice/draft")
    with pytest.raises(ProviderError) as raised:
        await provider.create_invoice(draft(line("Hours", "1", "80")), send=False)
    said = str(raised.value)
    assert said.startswith("Payfirma would not create the invoice and gave no reason.")
    assert "paid" not in said and "method" not in said
    assert not isinstance(raised.value, ProviderUnavailable)  # refused: nothing created


async def test_a_sign_in_refused_without_a_reason_says_so(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.expire_tokens()
    sandbox.inject("wordless", count=3, path="/oauth/token")
    with pytest.raises(ProviderError) as raised:
        await provider.create_invoice(draft(line("Hours", "1", "80")), send=True)
    said = str(raised.value)
    assert said.startswith("Payfirma refused to sign invoicebot in and gave no reason.")
    assert said.endswith("Nothing was created. Try again in a few minutes.")
    assert "paid" not in said and "method" not in said
    assert sandbox.count("POST", "/invoice") == 0


async def test_a_send_refused_without_a_reason_says_the_invoice_is_unchanged(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    invoice = await provider.create_invoice(draft(line("Hours", "1", "80")), send=False)
    sandbox.inject("wordless", path=f"/invoice/{invoice.id}/send")
    with pytest.raises(ProviderError) as raised:
        await provider.send_invoice(invoice.id)
    assert str(raised.value).startswith("Payfirma would not e-mail the invoice and gave no reason")
    assert "the invoice itself is unchanged" in str(raised.value)
    assert sandbox.emails == []


async def test_an_invoice_whose_create_answer_was_lost_is_found_by_its_reference(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    """The reference the core sets goes as `order_id`; after a lost answer the list is
    read for it (never a second create), and only the invoice that carries it is taken."""
    new = draft(line("Hours", "3", "3.00"), reference="ib-0123456789abcdef")
    other = draft(line("Hours", "3", "3.00"), reference="ib-fedcba9876543210")
    assert await provider.find_created(new) is None  # not created yet
    await provider.create_invoice(other, send=True)  # the same customer, same total
    made = await provider.create_invoice(new, send=True)
    assert [body["order_id"] for body in sent_bodies(sandbox)] == [other.reference, new.reference]
    posts = sandbox.count("POST", "/invoice")
    found = await provider.find_created(new)
    assert found is not None and (found.id, found.total_incl_vat) == (made.id, new.total)
    assert sandbox.count("POST", "/invoice") == posts  # looked for, never created again
    moved = draft(line("Hours", "3", "3.00"), reference=new.reference, customer_email="x@y.example")
    assert await provider.find_created(moved) is None  # the reference alone is not enough
    assert await provider.find_created(draft(line("Hours", "3", "3.00"))) is None  # none set


async def test_a_lost_create_that_several_invoices_answer_to_names_them_all(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    """Two invoices made from one create: neither is taken as it (the core then says so
    to #billing), and each is named so that a person can check them in PayHQ."""
    new = draft(line("Hours", "3", "3.00"), reference="ib-0123456789abcdef")
    first = await provider.create_invoice(new, send=True)
    second = await provider.create_invoice(new, send=True)
    with pytest.raises(SeveralInvoices) as raised:
        await provider.find_created(new)
    assert sorted(raised.value.ids) == sorted([first.id, second.id])


async def test_a_draft_without_a_reference_sends_no_order_id(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.create_invoice(draft(line("Hours", "1", "80")), send=False)
    (body,) = sent_bodies(sandbox)
    assert "order_id" not in body


async def test_a_lost_create_is_found_on_an_account_of_more_than_a_thousand_invoices(
    provider: PayfirmaProvider,
    sandbox: SandboxState,
    server: TestServer,
    http: aiohttp.ClientSession,
) -> None:
    """The list takes only `?limit=` (at most 1000 here) and the sandbox lists oldest
    first, so a new invoice is not in it; Payfirma files it under the customer the create
    named, whose own list holds it. Two reads at most: the lookup runs every round."""
    async with http.post(server.make_url("/_sandbox/invoices"), json={"count": 1100}) as made:
        assert made.status == 201
    assert len(sandbox.invoices) > MAX_LIMIT
    known = draft(
        line("Hours", "3", "3.00"), customer_email="DANA@northwind.example", reference="ib-1"
    )
    sandbox.inject("lost", path="/invoice", method="POST")
    with pytest.raises(ProviderUnavailable):
        await provider.create_invoice(known, send=True)
    (body,) = sent_bodies(sandbox)
    assert body["customer_id"] == 5001  # filed under the customer its address is known by
    reads = len(sandbox.requests)
    found = await provider.find_created(known)
    assert found is not None and found.total_incl_vat == known.total
    assert found.id == str(max(sandbox.invoices))
    asked = [(seen.method, seen.path) for seen in list(sandbox.requests)[reads:]]
    assert asked == [("GET", "/invoice"), ("GET", "/invoice/customer/5001")]
    assert sandbox.count("POST", "/invoice") == 1  # looked for, never created again
