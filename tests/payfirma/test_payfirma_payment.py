"""A customer pays a Payfirma invoice on the hosted payment page, and we judge the return."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import InvoiceStatus, Money, OutcomeStatus, Redirect
from bot.provider import NotPayable, PaymentRejected, ProviderUnavailable
from plugins.payfirma import PayfirmaProvider, wire
from plugins.payfirma.api import _parse
from plugins.payfirma.landing import outcome
from plugins.payfirma.sandbox import SandboxState
from plugins.payfirma.sandbox.payment_page import ISSUER_DECLINE, PAY_ROUTE
from tests.payfirma.conftest import (
    HPP_INIT,
    TOKEN,
    check_for,
    open_page,
    pay_on_page,
    pay_request,
)


async def start(provider: PayfirmaProvider, invoice_id: str, **changes: object) -> str:
    options = await provider.payment_options([invoice_id])
    started = await provider.start_payment(pay_request(invoice_id, options.total, **changes))
    assert isinstance(started.start, Redirect)
    return started.start.url


async def test_one_method_for_an_open_invoice(provider: PayfirmaProvider) -> None:
    options = await provider.payment_options(["212948"])
    assert [(m.id, m.name, m.selectable) for m in options.methods] == [
        ("hpp", "Card on Payfirma's payment page", True)
    ]
    assert options.total == Money.of("57.75", "CAD") and options.provider == "payfirma"
    assert [invoice.id for invoice in options.invoices] == ["212948"]


@pytest.mark.parametrize(("key", "status"), [("212951", "paid"), ("212952", "draft")])
async def test_only_open_invoices_are_payable(
    provider: PayfirmaProvider, key: str, status: str
) -> None:
    with pytest.raises(NotPayable) as raised:
        await provider.payment_options([key])
    assert str(raised.value) == (
        f"Payfirma invoice {key} is {status}; only unpaid invoices can be paid."
    )


async def test_one_invoice_at_a_time(provider: PayfirmaProvider) -> None:
    with pytest.raises(NotPayable, match="one invoice at a time"):
        await provider.payment_options(["212947", "212948"])


async def test_hpp_init_carries_total_state_and_invoice(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    url = await start(provider, "212949")
    (seen,) = [seen for seen in sandbox.requests if seen.path == HPP_INIT]
    body = json.loads(seen.body, parse_float=Decimal)
    assert body == {
        "amount": Decimal("321.43"),
        "currency": "USD",
        "domain": "http://127.0.0.1:9",
        "state": "link-token-0f3a",
        "custom_id": "212949",
        "first_name": "Sam",
        "last_name": "Okafor",
        "email": "sam@harbourlabs.example",
    }  # exactly the documented fields: the return URL is a PayHQ setting
    assert b'"amount":321.43,' in seen.body
    (session,) = sandbox.sessions.values()
    assert url.endswith(f"/hpp/{session.id}")


async def test_approved_on_the_page_is_paid(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    url = await start(provider, "212948")  # $57.75: odd whole dollars are approved
    html, page = await open_page(http, url)
    assert "CA$57.75" in html and "invoice 212948" in html
    assert page.fields["card_number"] == "4111 1111 1111 1111"
    assert page.buttons == ["pay", "cancel"]
    before = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD")))
    assert before.status is OutcomeStatus.PENDING

    back = await pay_on_page(http, url)
    (tx,) = sandbox.transactions.values()
    assert back == {"result": "success", "lookup_id": tx.lookup_id, "state": "link-token-0f3a"}
    outcome = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert outcome.status is OutcomeStatus.PAID
    assert outcome.message == (
        "Payfirma approved the card payment for invoice 212948. Payfirma still lists the "
        "invoice as unpaid; mark it paid in PayHQ."
    )
    assert outcome.paid_at is not None and outcome.attributed
    assert (await provider.get_invoice("212948")).status is InvoiceStatus.OPEN
    assert sandbox.count("GET", f"/transaction-service/transaction/lookup/{tx.lookup_id}") == 1


async def test_declined_on_the_page_is_failed_with_the_reason(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    url = await start(provider, "212947")  # $102.50: even whole dollars are declined
    back = await pay_on_page(http, url)
    assert back["result"] == "failure"
    outcome = await provider.check_payment(check_for("212947", Money.of("102.50", "CAD"), **back))
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.message == (
        "Payfirma: Card declined (sandbox rule: the whole-dollar part is even). "
        "Nothing was charged."
    )
    invoice = await provider.get_invoice("212947")
    assert invoice.status is InvoiceStatus.OPEN and invoice.payable


async def test_the_poller_sees_paid_from_the_invoice_alone(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    sandbox.card_payments_mark_paid = True  # were Payfirma to mark it, as it may
    url = await start(provider, "212949")
    await pay_on_page(http, url)
    outcome = await provider.check_payment(check_for("212949", Money.of("321.43", "USD")))
    assert (outcome.status, outcome.message) == (
        OutcomeStatus.PAID,
        "Payfirma shows invoice 212949 as paid.",
    )


async def test_cancelling_on_the_page(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    url = await start(provider, "212948")
    back = await pay_on_page(http, url, "cancel")
    assert back == {"result": "CANCELED", "state": "link-token-0f3a"}
    outcome = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert outcome.status is OutcomeStatus.CANCELLED
    assert sandbox.transactions == {}
    async with http.get(url) as again:
        assert again.status == 409


async def test_a_bad_card_stays_on_the_page(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    url = await start(provider, "212948")
    _, page = await open_page(http, url)
    data = {**page.fields, "card_number": "4111 1111 1111 1112", "action": "pay"}
    async with http.post(url + "/pay", data=data, allow_redirects=False) as answer:
        assert answer.status == 422 and "Check the card number." in await answer.text()
    assert sandbox.transactions == {}
    assert (await pay_on_page(http, url))["result"] == "success"


LANDING_FORGERIES = [
    # Not found may be Payfirma's lookup lagging behind the return: unknown, asked again.
    pytest.param(
        {"lookup_id": "no-such-lookup"},
        "Payfirma has no transaction",
        OutcomeStatus.UNKNOWN,
        id="no-tx",
    ),
    pytest.param(
        {"state": "somebody-elses-token"},
        "its state is not the pay-link",
        OutcomeStatus.PENDING,
        id="state",
    ),
    pytest.param(
        {"custom_id": "212950"},
        "the return names custom_id '212950'",
        OutcomeStatus.PENDING,
        id="custom",
    ),
    pytest.param(
        {"transaction_id": "1"},
        "the return names transaction 1",
        OutcomeStatus.PENDING,
        id="tx-id",
    ),
]


@pytest.mark.parametrize(("forged", "logged", "status"), LANDING_FORGERIES)
async def test_a_forged_return_is_never_paid(
    provider: PayfirmaProvider,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    forged: dict[str, str],
    logged: str,
    status: OutcomeStatus,
) -> None:
    url = await start(provider, "212947")  # declined on the page: the invoice stays unpaid
    back = await pay_on_page(http, url)
    landing = back | {"result": "APPROVED"} | forged
    with caplog.at_level(logging.WARNING, logger="plugins.payfirma"):
        outcome = await provider.check_payment(
            check_for("212947", Money.of("102.50", "CAD"), **landing)
        )
    assert outcome.status is status
    assert logged in caplog.text and "not treating it as paid" in caplog.text


async def test_an_approved_payment_of_another_invoice_is_not_ours(
    provider: PayfirmaProvider, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The payer pays a cheaper invoice and brings its lookup id to this one's landing."""
    cheap = await start(provider, "212948", reference="pay_2", token="other-link")
    paid = await pay_on_page(http, cheap)
    await start(provider, "212949")
    landing = {**paid, "state": "link-token-0f3a", "custom_id": "212949"}
    with caplog.at_level(logging.WARNING, logger="plugins.payfirma"):
        outcome = await provider.check_payment(
            check_for("212949", Money.of("321.43", "USD"), **landing)
        )
    assert outcome.status is OutcomeStatus.PENDING
    assert "is for custom_id '212948', not 212949" in caplog.text


async def test_a_transaction_for_another_amount_is_not_ours(
    provider: PayfirmaProvider,
    sandbox: SandboxState,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.transactions[back["lookup_id"]].amount = Decimal("1.01")  # a $1.01 sale, same id
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": "UNPAID"})
    with caplog.at_level(logging.WARNING, logger="plugins.payfirma"):
        outcome = await provider.check_payment(
            check_for("212948", Money.of("57.75", "CAD"), **back)
        )
    assert outcome.status is OutcomeStatus.PENDING
    assert "is for CA$1.01, the payment is CA$57.75" in caplog.text


@pytest.mark.parametrize("kind", ["AUTHORIZE", "refund"])
async def test_an_approved_transaction_that_takes_no_money_is_not_paid(
    provider: PayfirmaProvider,
    sandbox: SandboxState,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """Payfirma documents no transaction types for the page: an approved authorization
    (a hold, not yet captured) or refund is not the money, so the payment is unknown
    until the invoice says paid."""
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.transactions[back["lookup_id"]].kind = kind
    check = check_for("212948", Money.of("57.75", "CAD"), **back)
    with caplog.at_level(logging.WARNING, logger="plugins.payfirma"):
        outcome = await provider.check_payment(check)
    assert outcome.status is OutcomeStatus.UNKNOWN and not outcome.attributed
    assert outcome.message == (
        f"Payfirma approved a {kind.upper()} transaction for invoice 212948, which is not a "
        "card payment taken; waiting for Payfirma to show the invoice paid."
    )
    assert f"transaction type {kind!r}" in caplog.text
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": "PAID"})
    assert (await provider.check_payment(check)).status is OutcomeStatus.PAID


@pytest.mark.parametrize("kind", ["SALE", "Sale", "CAPTURE"])
async def test_an_approved_sale_or_capture_is_paid(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession, kind: str
) -> None:
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.transactions[back["lookup_id"]].kind = kind
    outcome = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert outcome.status is OutcomeStatus.PAID and outcome.attributed


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"amount": Money.of("57.76", "CAD")}, "The amount changed: you confirmed CA$57.76"),
        ({"method_id": "card"}, "Payfirma does not offer payment method 'card'"),
        ({"issuer_id": "BANK"}, "Card on Payfirma's payment page takes no bank"),
    ],
)
async def test_a_stale_or_tampered_request_is_refused_before_init(
    provider: PayfirmaProvider, sandbox: SandboxState, changes: dict[str, object], expected: str
) -> None:
    request = pay_request("212948", Money.of("57.75", "CAD")).model_copy(update=changes)
    with pytest.raises(PaymentRejected) as raised:
        await provider.start_payment(request)
    assert str(raised.value).startswith(expected)
    assert sandbox.count("POST", HPP_INIT) == 0


async def test_the_dashboard_return_url_wins(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    sandbox.return_url = "http://127.0.0.1:9/elsewhere?keep=1"
    url = await start(provider, "212948")
    _, page = await open_page(http, url)
    async with http.post(
        url + "/pay", data={**page.fields, "action": "pay"}, allow_redirects=False
    ) as answer:
        assert answer.headers["Location"].startswith("http://127.0.0.1:9/elsewhere?keep=1&")


async def test_without_a_return_url_in_payhq_nothing_starts(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.return_url = None
    with pytest.raises(PaymentRejected, match="No return URL is configured"):
        await start(provider, "212948")


async def test_a_separate_hpp_token_is_used_for_init(
    make_provider: Callable[..., PayfirmaProvider], sandbox: SandboxState
) -> None:
    sandbox.hpp_token = "hpp-token-51aa"
    provider = make_provider(hpp_token="hpp-token-51aa")
    await start(provider, "212948")
    (seen,) = [seen for seen in sandbox.requests if seen.path == HPP_INIT]
    assert seen.header("Authorization") == "Bearer hpp-token-51aa"
    assert sandbox.count("POST", TOKEN) == 1  # for reading the invoice only


async def test_without_the_hpp_token_no_page_is_asked_for_and_an_admin_is_told(
    make_provider: Callable[..., PayfirmaProvider], sandbox: SandboxState, server: TestServer
) -> None:
    """HPP init takes the Hosted Pay Page's token (`Bearer <HPP token>`), never an API
    token: the sandbox refuses one, and without the token no menu is offered."""
    provider = make_provider(hpp_token=None)
    with pytest.raises(NotPayable, match="Hosted Pay Page, and its token is not set"):
        await provider.payment_options(["212948"])
    with pytest.raises(NotPayable, match="an admin adds it with `/invoices connect payfirma`"):
        await provider.start_payment(pay_request("212948", Money.of("57.75", "CAD")))
    assert sandbox.count("POST", HPP_INIT) == 0
    token = await make_provider().tokens.token()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            str(server.make_url(HPP_INIT)),
            json={},
            headers={"Authorization": f"Bearer {token}"},
        ) as refused,
    ):
        assert refused.status == 401


@pytest.mark.parametrize(
    ("said", "told"),
    [
        ("Insufficient funds.", "Payfirma declined the card: Insufficient funds."),
        ("DECLINED", "Payfirma: DECLINED."),  # the reason already says so: once
        ("", "Payfirma declined the card: no reason given."),
    ],
)
def test_a_decline_names_its_reason_once(said: str, told: str) -> None:
    tx = wire.Transaction(
        lookup_id="L1", amount=10, currency="CAD", transaction_result="DECLINED", message=said
    )
    invoice = wire.Invoice(invoice_id=1, status="UNPAID", currency="cad", total=10)
    assert outcome(tx, invoice).message == f"{told} Nothing was charged."


async def test_a_declined_page_takes_no_second_card(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    """Payfirma documents no second card on a page after a decline: the sandbox offers
    none, and at an even amount a new page declines again (its processor decides by
    amount, not by card)."""
    url = await start(provider, "212947")
    assert (await pay_on_page(http, url))["result"] == "failure"
    async with http.get(url) as again:
        assert again.status == 409
    async with http.post(url + "/pay", data={"action": "pay"}) as again:
        assert again.status == 409
    assert len(sandbox.transactions) == 1
    fresh = await start(provider, "212947")
    assert fresh != url and (await pay_on_page(http, fresh))["result"] == "failure"


async def test_an_issuer_decline_then_another_page_is_paid(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    sandbox.inject("decline", path=PAY_ROUTE)
    url = await start(provider, "212948")  # $57.75: approved, but this card's issuer says no
    back = await pay_on_page(http, url)
    assert back["result"] == "failure"
    (declined,) = sandbox.transactions.values()
    assert (declined.result, declined.message) == ("DECLINED", ISSUER_DECLINE)
    assert sandbox.invoices[212948].status == "UNPAID"
    assert (await pay_on_page(http, await start(provider, "212948")))["result"] == "success"
    assert [tx.result for tx in sandbox.transactions.values()] == ["DECLINED", "APPROVED"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"url": "https://hpp.example/p/1"}',  # as the official demo reads it
        b'{"data": {"url": "https://hpp.example/p/1"}}',
        b'{"data": {}, "url": "https://hpp.example/p/1"}',
    ],
)
def test_the_page_address_is_read_where_payfirma_may_put_it(body: bytes) -> None:
    assert wire.HppAnswer.model_validate_json(body).link() == "https://hpp.example/p/1"


async def test_a_return_not_read_never_replaces_a_transaction_already_kept(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    """A return whose lookup fails is unchecked: anyone holding the link can send one."""
    await start(provider, "212948")
    sandbox.inject("error", count=5, path="/transaction-service/transaction/lookup/X")
    check = check_for("212948", Money.of("57.75", "CAD"), lookup_id="X", state="link-token-0f3a")
    first = await provider.check_payment(check)
    assert first.status is OutcomeStatus.UNKNOWN and first.provider_reference == "X"
    sandbox.inject("error", count=5, path="/transaction-service/transaction/lookup/X")
    kept = check.model_copy(update={"provider_reference": "GOOD"})
    second = await provider.check_payment(kept)
    assert second.status is OutcomeStatus.UNKNOWN and second.provider_reference is None


@pytest.mark.parametrize(
    ("stamp", "when"),
    [
        ('"2026-12-05T07:00:00Z"', "2026-12-05T07:00:00+00:00"),
        ('"1796455061590"', "2026-12-05T07:17:41.590000+00:00"),
        ('"yesterday at noon"', None),
        ("1796455061590.5", None),
    ],
)
def test_an_approved_transaction_whose_time_reads_oddly_is_paid_all_the_same(
    stamp: str, when: str | None
) -> None:
    """The time is only when the card was taken (the lookup's shape is our inference, and
    Payfirma's invoices show times both ways): an odd one never withholds the payment."""
    body = (
        '{"lookup_id": "L1", "amount": 57.75, "currency": "CAD", "id": 7, '
        '"transaction_result": "APPROVED", "transaction_type": "SALE", '
        f'"custom_id": "212948", "transaction_time": {stamp}}}'
    ).encode()
    said = outcome(_parse(wire.Transaction, body, "transaction lookup"), "212948")
    assert said.status is OutcomeStatus.PAID and said.attributed
    assert said.paid_at is not None
    if when is not None:
        assert said.paid_at.isoformat() == when


def test_an_approved_transaction_whose_id_is_text_is_paid_under_that_id() -> None:
    """`id` is our inference from the sale response: text there is still the receipt."""
    body = (
        b'{"lookup_id": "L1", "amount": 57.75, "currency": "CAD", "id": "tx_7", '
        b'"transaction_result": "APPROVED", "transaction_type": "SALE", "custom_id": "212948"}'
    )
    said = outcome(_parse(wire.Transaction, body, "transaction lookup"), "212948")
    assert (said.status, said.reference) == (OutcomeStatus.PAID, "tx_7")


@pytest.mark.parametrize("invoice_read", ["forbidden", "gone"])
async def test_an_approved_card_payment_is_paid_though_its_invoice_cannot_be_read(
    provider: PayfirmaProvider,
    sandbox: SandboxState,
    http: aiohttp.ClientSession,
    invoice_read: str,
) -> None:
    """The transaction is this payment's, approved, for this invoice and amount: the money
    was taken. An invoice that cannot be read then (refused, or deleted in PayHQ) only
    adds a note to check; it never leaves the payment unknown until the watch gives up."""
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    if invoice_read == "gone":
        del sandbox.invoices[212948]
    else:
        sandbox.inject("forbidden", count=5, path=f"{provider.api.invoice_path}/212948")
    said = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert said.status is OutcomeStatus.PAID and said.attributed
    assert said.note is not None and "PayHQ" in said.note


async def test_an_answer_about_another_invoice_never_says_this_one_is_paid(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    """Asked about one invoice, Payfirma (or a cache before it) answers with another,
    paid one: that is no word on this invoice, and it is not recorded as paid."""
    await start(provider, "212949")
    sandbox.drift["212949"] = {"invoice_id": 212951, "status": "PAID"}
    check = check_for("212949", Money.of("321.43", "USD"))
    with pytest.raises(ProviderUnavailable, match="212951"):
        await provider.check_payment(check)
