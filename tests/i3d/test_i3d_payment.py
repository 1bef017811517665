"""Paying i3D.net invoices end to end: prepare, register, the payment page, the outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import pytest

from bot.models import FormPost, Money, OutcomeStatus, PaymentCheck, PaymentRequest
from bot.provider import InvoiceNotFound, NotPayable, PaymentRejected
from plugins.i3d import I3DProvider
from plugins.i3d.sandbox import SandboxState
from tests.i3d.conftest import RETURN_URL

REGISTER = "/v3/account/invoice/pay/register"


class PageForm(HTMLParser):
    """The one form on the sandbox's payment page, as a browser would read it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.hidden: list[tuple[str, str]] = []
        self.buttons: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = found["action"]
        elif tag == "input" and found.get("type") == "hidden":
            self.hidden.append((found["name"], found["value"]))
        elif tag == "button":
            self.buttons.append(found["value"])


async def open_payment_page(http: aiohttp.ClientSession, start: FormPost) -> tuple[str, PageForm]:
    async with http.post(start.url, data=start.fields) as page:
        assert page.status == 200 and page.content_type == "text/html"
        html = await page.text()
    return html, PageForm(html)


async def click(http: aiohttp.ClientSession, start: FormPost, form: PageForm, button: str) -> str:
    """Submit the page's form with `button`; returns where the browser is sent."""
    target = urljoin(start.url, form.action)
    data = [*form.hidden, ("action", button)]
    async with http.post(target, data=data, allow_redirects=False) as answer:
        assert answer.status == 303
        return answer.headers["Location"]


def request_for(
    ids: tuple[str, ...], amount: Money, method: str = "10", issuer: str | None = "INGBNL2A"
) -> PaymentRequest:
    return PaymentRequest(
        invoice_ids=ids,
        method_id=method,
        issuer_id=issuer,
        amount=amount,
        reference="pay_42",
        return_url=RETURN_URL,
    )


def check_for(ids: tuple[str, ...], amount: Money, **landing: str) -> PaymentCheck:
    return PaymentCheck(invoice_ids=ids, amount=amount, reference="pay_42", landing_params=landing)


async def test_options_for_one_invoice(provider: I3DProvider) -> None:
    options = await provider.payment_options(["410005"])
    assert [item.number for item in options.invoices] == ["INV-24-0102"]
    assert options.total == Money.of("1234.56", "USD")
    assert options.account_credit == Money.zero("USD")
    ideal = options.method("10")
    assert ideal is not None and not ideal.selectable  # iDEAL is for euros only
    # one invoice or several: "these invoices" would not fit a single one
    assert ideal.reason == "i3D.net does not offer this method for this payment"
    assert [m.name for m in options.selectable_methods] == ["Credit card", "PayPal"]


async def test_options_for_several_invoices_net_off_open_credits(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    options = await provider.payment_options(["410001", "410002"])
    assert sandbox.requests[-1].raw_path.endswith("?invoiceIds=410001%2C410002")
    assert [item.id for item in options.invoices] == ["410001", "410002"]
    assert [item.number for item in options.credits_settled] == ["CRN-24-0003"]
    gross = Money.total((item.amount_due for item in options.invoices), "EUR")
    credits = Money.total((item.amount_due for item in options.credits_settled), "EUR")
    assert gross == Money.of("484.00", "EUR")
    assert options.total == gross - credits == Money.of("459.80", "EUR")
    ideal = options.method("10")
    assert ideal is not None and ideal.selectable
    assert [issuer.name for issuer in ideal.issuers] == ["ABN AMRO", "ING", "Rabobank", "SNS Bank"]
    sepa = options.method("40")
    assert sepa is not None and not sepa.selectable and sepa.reason


async def test_pay_on_the_payment_page_then_paid(
    provider: I3DProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    ids = ("410001", "410002")
    options = await provider.payment_options(list(ids))
    started = await provider.start_payment(request_for(ids, options.total))
    start = started.start
    assert isinstance(start, FormPost)
    assert urlsplit(start.url).path == "/psp/pay"
    assert [name for name, _ in start.fields] == ["transactionId", "locale"]
    assert started.provider_reference == sandbox.last_transaction

    pending = await provider.check_payment(check_for(ids, options.total))
    assert pending.status is OutcomeStatus.PENDING and pending.paid_at is None
    assert pending.invoice_unpaid  # nothing under way: a page left now took nothing

    html, form = await open_payment_page(http, start)
    assert "INV-24-0101" in html and "INV-24-0087" in html and "CRN-24-0003" in html
    assert "€459.80" in html and "iDEAL (ING)" in html
    assert form.buttons == ["pay", "decline", "cancel"]
    back = await click(http, start, form, "pay")
    assert back.startswith(RETURN_URL + "?")
    assert parse_qs(urlsplit(back).query)["status"] == ["success"]

    outcome = await provider.check_payment(check_for(ids, options.total))
    assert outcome.status is OutcomeStatus.PAID
    assert outcome.message == "i3D.net shows INV-24-0101, INV-24-0087 as paid."
    assert outcome.paid_at is not None
    assert (await provider.get_invoice("410004")).amount_due.is_zero()  # the credit was settled


@pytest.mark.parametrize(
    ("button", "status", "message"),
    [
        ("cancel", OutcomeStatus.CANCELLED, "You cancelled the payment."),
        ("decline", OutcomeStatus.FAILED, "PayPal declined the payment."),
    ],
)
async def test_not_paying_is_never_paid(
    provider: I3DProvider,
    http: aiohttp.ClientSession,
    button: str,
    status: OutcomeStatus,
    message: str,
) -> None:
    ids = ("410006",)
    options = await provider.payment_options(list(ids))
    started = await provider.start_payment(request_for(ids, options.total, "30", None))
    assert isinstance(started.start, FormPost)
    _, form = await open_payment_page(http, started.start)
    await click(http, started.start, form, button)
    outcome = await provider.check_payment(check_for(ids, options.total, status="success"))
    assert (outcome.status, outcome.message) == (status, message)
    assert (await provider.get_invoice("410006")).payable


async def test_landing_params_never_prove_payment(provider: I3DProvider) -> None:
    ids = ("410001",)
    options = await provider.payment_options(list(ids))
    await provider.start_payment(request_for(ids, options.total, "20", None))
    forged = check_for(ids, options.total, status="success", transactionId="tx_forged")
    outcome = await provider.check_payment(forged)
    assert outcome.status is OutcomeStatus.PENDING


async def test_landing_about_other_invoices_is_ignored(
    provider: I3DProvider, http: aiohttp.ClientSession
) -> None:
    options = await provider.payment_options(["410005"])
    started = await provider.start_payment(request_for(("410005",), options.total, "20", None))
    assert isinstance(started.start, FormPost)
    _, form = await open_payment_page(http, started.start)
    await click(http, started.start, form, "cancel")
    other = await provider.check_payment(check_for(("410006",), Money.of("9.99", "USD")))
    assert other.status is OutcomeStatus.PENDING


async def test_form_inputs_as_a_plain_map(provider: I3DProvider, sandbox: SandboxState) -> None:
    sandbox.form_style = "map"
    options = await provider.payment_options(["410006"])
    started = await provider.start_payment(request_for(("410006",), options.total, "20", None))
    assert isinstance(started.start, FormPost)
    assert dict(started.start.fields) == {
        "transactionId": sandbox.last_transaction,
        "locale": "en_GB",
    }


@pytest.mark.parametrize("button", ["pay", "cancel"])
async def test_register_and_landing_wrapped_in_an_array(
    provider: I3DProvider, sandbox: SandboxState, http: aiohttp.ClientSession, button: str
) -> None:
    """Register's and paymentLanding's schemas say one object, every other v3 answer is
    an array: either way a payment starts once and ends as the invoice says."""
    sandbox.answer_style = "array"
    ids = ("410006",)
    options = await provider.payment_options(list(ids))
    started = await provider.start_payment(request_for(ids, options.total, "20", None))
    assert isinstance(started.start, FormPost)
    assert started.provider_reference == sandbox.last_transaction
    async with http.get(
        str(provider.api.base_url) + "/v3/account/invoice/pay/paymentLanding",
        headers={"PRIVATE-TOKEN": sandbox.token},
    ) as landing:
        assert isinstance(await landing.json(), list)
    _, form = await open_payment_page(http, started.start)
    await click(http, started.start, form, button)
    outcome = await provider.check_payment(check_for(ids, options.total))
    expected = OutcomeStatus.PAID if button == "pay" else OutcomeStatus.CANCELLED
    assert outcome.status is expected
    assert sum(seen.path == REGISTER for seen in sandbox.requests) == 1


async def test_return_url_changes_at_runtime(
    provider: I3DProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    sandbox.return_url = "http://127.0.0.1:9/elsewhere?keep=1"
    options = await provider.payment_options(["410006"])
    started = await provider.start_payment(request_for(("410006",), options.total, "20", None))
    assert isinstance(started.start, FormPost)
    _, form = await open_payment_page(http, started.start)
    back = await click(http, started.start, form, "pay")
    query = parse_qs(urlsplit(back).query)
    assert back.startswith("http://127.0.0.1:9/elsewhere?")
    assert query["keep"] == ["1"] and query["transactionId"] == [sandbox.last_transaction]


@pytest.mark.parametrize(
    ("method", "issuer", "amount", "expected"),
    [
        (
            "10",
            "INGBNL2A",
            "459.81",
            "The amount changed: you confirmed €459.81 but i3D.net now asks €459.80",
        ),
        (
            "40",
            None,
            "459.80",
            "SEPA Direct Debit cannot be used: i3D.net does not offer this method",
        ),
        (
            "99",
            None,
            "459.80",
            "i3D.net does not offer payment method '99' for these invoices; "
            "methods offered now: iDEAL, Credit card, PayPal.",
        ),
        (
            "10",
            None,
            "459.80",
            "Choose your bank for iDEAL (one of: ABN AMRO, ING, Rabobank, SNS Bank).",
        ),
        ("10", "XXXXNL2A", "459.80", "Choose your bank for iDEAL"),
        ("20", "INGBNL2A", "459.80", "Credit card takes no bank"),
    ],
)
async def test_a_stale_or_tampered_request_is_refused_before_registering(
    provider: I3DProvider,
    sandbox: SandboxState,
    method: str,
    issuer: str | None,
    amount: str,
    expected: str,
) -> None:
    request = request_for(("410001", "410002"), Money.of(amount, "EUR"), method, issuer)
    with pytest.raises(PaymentRejected) as raised:
        await provider.start_payment(request)
    assert str(raised.value).startswith(expected)
    assert sandbox.count("POST", REGISTER) == 0


async def test_already_paid_invoice_is_not_payable(provider: I3DProvider) -> None:
    with pytest.raises(NotPayable) as raised:
        await provider.payment_options(["410003"])
    assert str(raised.value) == (
        "i3D.net refused the request (HTTP 422: Invoice INV-24-0055 is already paid)."
    )


async def test_unknown_invoice_in_options_is_not_found(provider: I3DProvider) -> None:
    with pytest.raises(InvoiceNotFound) as raised:
        await provider.payment_options(["410001", "999999"])
    assert str(raised.value) == "i3D.net could not find it (HTTP 422: Invoice 999999 not found)."


async def test_invoices_paid_meanwhile_fail_the_second_payment(
    provider: I3DProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    ids = ("410006",)
    options = await provider.payment_options(list(ids))
    first = await provider.start_payment(request_for(ids, options.total, "20", None))
    second = await provider.start_payment(request_for(ids, options.total, "30", None))
    assert isinstance(first.start, FormPost) and isinstance(second.start, FormPost)
    _, first_form = await open_payment_page(http, first.start)
    _, second_form = await open_payment_page(http, second.start)
    await click(http, first.start, first_form, "pay")
    await click(http, second.start, second_form, "pay")
    first_tx, second_tx = sandbox.transactions.values()
    assert (first_tx.status, second_tx.status) == ("success", "failed")
    assert (
        second_tx.message == "Invoice INV-24-0103 was settled in the meantime; nothing was charged."
    )
    outcome = await provider.check_payment(check_for(ids, options.total))
    assert outcome.status is OutcomeStatus.PAID  # i3D's list says paid, whatever the landing says
    assert options.total.amount == Decimal("9.99")


async def test_landing_success_alone_is_not_paid(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    ids = ("410006",)
    options = await provider.payment_options(list(ids))
    await provider.start_payment(request_for(ids, options.total, "20", None))
    transaction = sandbox.transactions[sandbox.last_transaction or ""]
    transaction.status = "success"  # the PSP said yes, but i3D has not booked it yet
    outcome = await provider.check_payment(check_for(ids, options.total))
    assert outcome.status is OutcomeStatus.PENDING
    assert outcome.message == (
        "i3D.net reports the payment went through; waiting for the invoices to show paid."
    )
    assert not outcome.invoice_unpaid  # its money is on its way


async def test_some_invoices_paid_is_not_unpaid(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    """One of two invoices shows paid: money moved, so the wait is not "unpaid" and a
    page whose watch ends on it is told as never confirmed."""
    ids = ("410001", "410002")
    options = await provider.payment_options(list(ids))
    await provider.start_payment(request_for(ids, options.total))
    first = sandbox.invoices["410001"]
    sandbox.invoices["410001"] = first.model_copy(
        update={"paymentStatus": 1, "remainingAmount": "0", "paymentDate": 1_700_000_000}
    )
    outcome = await provider.check_payment(check_for(ids, options.total))
    assert outcome.status is OutcomeStatus.PENDING
    assert not outcome.invoice_unpaid
    assert outcome.paid_invoices == ("410001",)  # the one i3D lists paid, and only it


@pytest.mark.parametrize("said", ["cancelled", "failed"])
async def test_a_cancel_or_failure_beside_an_invoice_listed_paid_is_a_wait_naming_it(
    provider: I3DProvider, sandbox: SandboxState, said: str
) -> None:
    """paymentLanding says the payment was cancelled (or failed) while i3D lists one of
    its invoices paid: that one is paid whatever the landing says, so the outcome is a
    wait naming it (a watch ending on it records it), not an end that would lose it."""
    ids = ("410001", "410002")
    options = await provider.payment_options(list(ids))
    await provider.start_payment(request_for(ids, options.total))
    sandbox.transactions[sandbox.last_transaction or ""].status = said
    first = sandbox.invoices["410001"]
    sandbox.invoices["410001"] = first.model_copy(
        update={"paymentStatus": 1, "remainingAmount": "0", "paymentDate": 1_700_000_000}
    )
    outcome = await provider.check_payment(check_for(ids, options.total))
    assert outcome.status is OutcomeStatus.PENDING
    assert outcome.paid_invoices == ("410001",)
    assert not outcome.invoice_unpaid


async def test_an_invoice_paid_alone_carries_i3ds_own_payment_date(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    """The one invoice i3D lists paid is recorded with i3D's paymentDate, not with the
    time invoicebot happened to learn of it (a day later, at the watch's end)."""
    ids = ("410001", "410002")
    options = await provider.payment_options(list(ids))
    await provider.start_payment(request_for(ids, options.total))
    first = sandbox.invoices["410001"]
    sandbox.invoices["410001"] = first.model_copy(
        update={"paymentStatus": 1, "remainingAmount": "0", "paymentDate": 1_700_000_000}
    )
    outcome = await provider.check_payment(check_for(ids, options.total))
    assert outcome.paid_invoices == ("410001",)
    assert outcome.paid_at == datetime.fromtimestamp(1_700_000_000, UTC)
