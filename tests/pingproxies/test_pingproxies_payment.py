"""Paying PingProxies invoices end to end: pay options, redirect and saved cards, the outcome."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import pytest

from bot.models import Captured, Money, OutcomeStatus, Redirect
from bot.provider import NotPayable, PaymentRejected, ProviderUnavailable
from plugins.pingproxies import PingProxiesProvider, wire
from plugins.pingproxies.sandbox import SandboxState
from tests.pingproxies.conftest import (
    RETURN_URL,
    PageForm,
    check_for,
    pay_path,
    request_for,
)


async def click(http: aiohttp.ClientSession, start: Redirect, button: str) -> str:
    """Open the payment page like a browser, press `button`; returns where it sends us."""
    async with http.get(start.url) as page:
        assert page.status == 200 and page.content_type == "text/html"
        html = await page.text()
    form = PageForm(html)
    assert form.buttons == ["pay", "cancel"]
    target = urljoin(start.url, form.action)
    async with http.post(target, data={"action": button}, allow_redirects=False) as answer:
        assert answer.status == 303
        return answer.headers["Location"]


async def test_options_list_cards_redirects_and_a_refused_method(
    provider: PingProxiesProvider,
) -> None:
    options = await provider.payment_options(["inv_sbx0102"])
    assert [item.number for item in options.invoices] == ["PING-0102"]
    assert options.total == Money.of("19.99", "USD")
    assert [(m.id, m.name, m.saved_card) for m in options.selectable_methods] == [
        ("pm_sbxVisa4242", "Visa •••• 4242", True),
        ("pm_sbxVisa0002", "Visa •••• 0002", True),
        ("stripe", "Card (Stripe Checkout)", False),
        ("bitpay", "Crypto (Bitpay)", False),
    ]
    coinpayments = options.method("coinpayments")
    assert coinpayments is not None and not coinpayments.selectable
    assert coinpayments.reason == "Coinpayments minimum is $50.00"


async def test_big_enough_invoices_may_use_coinpayments(provider: PingProxiesProvider) -> None:
    options = await provider.payment_options(["inv_sbx0101"])
    assert options.total == Money.of("129.00", "USD")
    assert all(method.selectable for method in options.methods)


async def test_redirect_payment_through_the_payment_page(
    provider: PingProxiesProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    options = await provider.payment_options(["inv_sbx0101"])
    started = await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    assert isinstance(started.start, Redirect)
    assert urlsplit(started.start.url).path == f"/checkout/{started.provider_reference}"
    check = check_for("inv_sbx0101", options.total, started.provider_reference)
    pending = await provider.check_payment(check)
    assert (pending.status, pending.message) == (
        OutcomeStatus.PENDING,
        "Waiting for PingProxies to confirm the payment of PING-0101.",
    )
    assert pending.invoice_unpaid  # its invoice open: a page left now took nothing

    back = await click(http, started.start, "pay")
    assert back.startswith(RETURN_URL + "?")
    assert parse_qs(urlsplit(back).query)["status"] == ["paid"]
    outcome = await provider.check_payment(check)
    assert (outcome.status, outcome.message) == (
        OutcomeStatus.PAID,
        "PingProxies shows PING-0101 as paid.",
    )
    assert outcome.paid_at is not None
    assert (await provider.get_invoice("inv_sbx0101")).amount_due.is_zero()


async def test_cancelling_on_the_payment_page_is_never_paid(
    provider: PingProxiesProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    options = await provider.payment_options(["inv_sbx0087"])
    started = await provider.start_payment(request_for("inv_sbx0087", options.total, "bitpay"))
    assert isinstance(started.start, Redirect)
    back = await click(http, started.start, "cancel")
    landing = {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
    assert landing["status"] == "cancelled"
    outcome = await provider.check_payment(
        check_for("inv_sbx0087", options.total, started.provider_reference, landing)
    )
    assert outcome.status is OutcomeStatus.CANCELLED
    # Not tied to the attempt, so still watched: /invoices history shows these words
    # and must not promise that nothing was charged.
    assert not outcome.attributed
    assert outcome.message == "The payment for PING-0087 was cancelled on the payment page."
    assert (await provider.get_invoice("inv_sbx0087")).payable


async def test_landing_params_never_prove_payment(provider: PingProxiesProvider) -> None:
    options = await provider.payment_options(["inv_sbx0101"])
    await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    forged = check_for("inv_sbx0101", options.total, landing={"status": "paid"})
    assert (await provider.check_payment(forged)).status is OutcomeStatus.PENDING


async def test_saved_card_is_charged_at_once(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    options = await provider.payment_options(["inv_sbx0087"])
    started = await provider.start_payment(
        request_for("inv_sbx0087", options.total, "pm_sbxVisa4242")
    )
    assert isinstance(started.start, Captured)
    assert started.provider_reference and started.provider_reference.startswith("txn_")
    assert sandbox.invoices["inv_sbx0087"].invoice_status == "paid"
    outcome = await provider.check_payment(
        check_for("inv_sbx0087", options.total, started.provider_reference)
    )
    assert outcome.status is OutcomeStatus.PAID and outcome.paid_at is not None
    assert sandbox.count("POST", pay_path("inv_sbx0087")) == 1


@pytest.mark.parametrize(
    ("invoice_id", "method", "start"),
    [("inv_sbx0087", "pm_sbxVisa4242", Captured), ("inv_sbx0101", "stripe", Redirect)],
)
async def test_pay_answered_as_a_create(
    provider: PingProxiesProvider,
    sandbox: SandboxState,
    invoice_id: str,
    method: str,
    start: type[Captured | Redirect],
) -> None:
    """PingProxies answers 201 with `created` when something is made; Pay may count."""
    sandbox.pay_created = True
    options = await provider.payment_options([invoice_id])
    started = await provider.start_payment(request_for(invoice_id, options.total, method))
    assert isinstance(started.start, start) and started.provider_reference
    assert sandbox.count("POST", pay_path(invoice_id)) == 1


async def test_declined_card_is_rejected_with_the_reason(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    options = await provider.payment_options(["inv_sbx0101"])
    with pytest.raises(PaymentRejected) as raised:
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa0002"))
    message = str(raised.value)
    assert message.startswith(
        "PingProxies could not take the payment (HTTP 422: Payment Declined: Your card was "
        "declined; "
        "request id "
    )
    assert message.endswith("). Nothing was charged.")
    assert (await provider.get_invoice("inv_sbx0101")).payable
    outcome = await provider.check_payment(check_for("inv_sbx0101", options.total))
    assert (outcome.status, outcome.message) == (
        OutcomeStatus.FAILED,
        "PingProxies could not take the payment: Your card was declined.",
    )
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1


async def test_after_a_restart_an_invoices_last_error_is_waited_on_not_taken_as_failure(
    provider: PingProxiesProvider,
    make_provider: Callable[..., PingProxiesProvider],
    sandbox: SandboxState,
) -> None:
    """A process that did not see the attempt start cannot tell whose error it is: it
    waits, saying what it sees, even when a return naming the attempt's checkout says it
    failed (only the browser's word)."""
    options = await provider.payment_options(["inv_sbx0101"])
    started = await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    item = sandbox.invoices["inv_sbx0101"]
    update = {"invoice_last_payment_error": "Your card was declined."}
    sandbox.invoices["inv_sbx0101"] = item.model_copy(update=update)
    restarted = make_provider()
    check = check_for("inv_sbx0101", options.total, started.provider_reference)
    waiting = await restarted.check_payment(check)
    assert waiting.status is OutcomeStatus.PENDING and "Your card was declined" in waiting.message
    back = {"invoice_id": "inv_sbx0101", "checkout_id": started.provider_reference or ""}
    told = check.model_copy(update={"landing_params": back | {"status": "failed"}})
    still = await restarted.check_payment(told)
    assert still.status is OutcomeStatus.PENDING
    assert "said the payment of PING-0101 failed, but PingProxies does not show" in still.message


async def test_an_old_decline_stays_on_the_invoice_and_is_not_a_new_pages_outcome(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    """A new link does not wipe the invoice's last error (nothing says it would): the one
    standing when the page was made is an earlier attempt's, and only a new one counts."""
    options = await provider.payment_options(["inv_sbx0101"])
    with pytest.raises(PaymentRejected):
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa0002"))
    started = await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    check = check_for("inv_sbx0101", options.total, started.provider_reference)
    assert (await provider.check_payment(check)).status is OutcomeStatus.PENDING
    back = {"invoice_id": "inv_sbx0101", "checkout_id": started.provider_reference or ""}
    cancelled = check.model_copy(update={"landing_params": back | {"status": "cancelled"}})
    assert (await provider.check_payment(cancelled)).status is OutcomeStatus.CANCELLED
    item = sandbox.invoices["inv_sbx0101"]
    declined_again = {"invoice_last_payment_error": "Insufficient funds."}
    sandbox.invoices["inv_sbx0101"] = item.model_copy(update=declined_again)
    failed = await provider.check_payment(check)
    assert failed.status is OutcomeStatus.FAILED and "Insufficient funds" in failed.message
    sandbox.invoices["inv_sbx0101"] = item.model_copy(update={"invoice_status": "void"})
    void = await provider.check_payment(check)
    assert void.status is OutcomeStatus.FAILED and void.attributed  # ends every attempt


async def test_a_paid_invoice_is_not_payable(provider: PingProxiesProvider) -> None:
    with pytest.raises(NotPayable) as raised:
        await provider.payment_options(["inv_sbx0064"])
    assert str(raised.value).startswith(
        "PingProxies refused the request (HTTP 422: Invoice Not Payable: Invoice PING-0064 is "
        "paid; only open invoices can be paid; request id "
    )


async def test_paying_an_invoice_paid_meanwhile_is_not_payable(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    with pytest.raises(NotPayable) as raised:
        await provider.api.pay("inv_sbx0064", wire.PayRequest(payment_method_id="pm_sbxVisa4242"))
    assert "(HTTP 422: Invoice Not Payable: Invoice PING-0064 is paid;" in str(raised.value)
    assert sandbox.invoices["inv_sbx0064"].invoice_amount_paid == 7_550  # charged once, long ago


@pytest.mark.parametrize(
    ("method", "amount", "expected"),
    [
        ("stripe", "19.98", "The amount changed: you confirmed $19.98 but PingProxies now asks "),
        ("coinpayments", "19.99", "Crypto (Coinpayments) cannot be used: Coinpayments minimum"),
        ("pm_gone", "19.99", "PingProxies does not offer payment method 'pm_gone' for this"),
    ],
)
async def test_a_stale_request_is_refused_before_paying(
    provider: PingProxiesProvider,
    sandbox: SandboxState,
    method: str,
    amount: str,
    expected: str,
) -> None:
    request = request_for("inv_sbx0102", Money.of(amount, "USD"), method)
    with pytest.raises(PaymentRejected) as raised:
        await provider.start_payment(request)
    assert str(raised.value).startswith(expected)
    assert str(raised.value).endswith("Nothing was charged.")
    assert sandbox.count("POST", pay_path("inv_sbx0102")) == 0


async def test_one_invoice_at_a_time(provider: PingProxiesProvider) -> None:
    with pytest.raises(NotPayable) as raised:
        await provider.payment_options(["inv_sbx0101", "inv_sbx0087"])
    assert str(raised.value) == (
        "PingProxies pays one invoice at a time; choose one of inv_sbx0101, inv_sbx0087."
    )


async def test_return_url_changes_at_runtime(
    provider: PingProxiesProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    sandbox.return_url = "http://127.0.0.1:9/elsewhere?keep=1"
    options = await provider.payment_options(["inv_sbx0102"])
    started = await provider.start_payment(request_for("inv_sbx0102", options.total, "stripe"))
    assert isinstance(started.start, Redirect)
    back = await click(http, started.start, "pay")
    query = parse_qs(urlsplit(back).query)
    assert back.startswith("http://127.0.0.1:9/elsewhere?")
    assert query["keep"] == ["1"] and query["invoice_id"] == ["inv_sbx0102"]


@pytest.mark.parametrize(
    "stamp",
    [
        "01/06/2024 12:00",
        "yesterday",
        "2024-06-01 12:00:00 UTC",
        "0001-01-01T00:00:00+05:00",  # a placeholder date: before UTC's first moment
    ],
)
async def test_a_paid_invoice_whose_paid_time_cannot_be_read_is_still_paid(
    provider: PingProxiesProvider, sandbox: SandboxState, stamp: str
) -> None:
    """The status and the cents remaining say paid; the time is only when (its field is
    our guess, and so is its form): an odd one never holds back the confirmation."""
    options = await provider.payment_options(["inv_sbx0101"])
    started = await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    item = sandbox.invoices["inv_sbx0101"]
    paid = {"invoice_status": "paid", "invoice_amount_remaining": 0}
    sandbox.invoices["inv_sbx0101"] = item.model_copy(
        update=paid | {"invoice_paid_datetime": stamp}
    )
    check = check_for("inv_sbx0101", options.total, started.provider_reference)
    outcome = await provider.check_payment(check)
    assert outcome.status is OutcomeStatus.PAID and outcome.paid_at is None


async def test_an_answer_about_another_invoice_never_says_this_one_is_paid(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    """Asked about one invoice, PingProxies (or a cache before it) answers with another,
    paid one: that is no word on this invoice, and it is not recorded as paid."""
    options = await provider.payment_options(["inv_sbx0101"])
    started = await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    sandbox.drift["inv_sbx0101"] = {
        "invoice_id": "inv_sbx0064",
        "invoice_status": "paid",
        "invoice_amount_remaining": 0,
    }
    check = check_for("inv_sbx0101", options.total, started.provider_reference)
    with pytest.raises(ProviderUnavailable, match="inv_sbx0064"):
        await provider.check_payment(check)
