"""Each failure reaches the caller as the core's error type, with words a person can act on."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import InvoiceQuery, Money, OutcomeStatus, PaymentCheck, PaymentRequest
from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from plugins.i3d import I3DCredentials, I3DProvider, errors
from plugins.i3d.sandbox import SandboxState
from tests.i3d.conftest import RETURN_URL, TOKEN

LIST = "/v3/account/invoice"
PREPARE = "/v3/account/invoice/pay/prepare"
REGISTER = "/v3/account/invoice/pay/register"
LANDING = "/v3/account/invoice/pay/paymentLanding"


async def test_bad_key_is_bad_credentials_and_never_shown(
    make_provider: Callable[..., I3DProvider], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-key-3c1d77"
    provider = make_provider(secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(BadCredentials) as raised:
        await provider.verify()
    message = str(raised.value)
    assert message.startswith("i3D.net refused the API key (HTTP 403: Invalid credentials).")
    assert "IP address is on the key's whitelist" in message
    assert secret not in message and secret not in caplog.text
    assert secret not in repr(provider.api.api_key) and secret not in repr(provider.credentials)


async def test_good_key_verifies_with_one_cheap_call(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    assert [(seen.path, seen.header("RANGED-DATA")) for seen in sandbox.requests] == [
        (LIST, "start=0,results=1")
    ]


async def test_one_server_error_on_a_read_is_retried(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=1, path=LIST)
    page = await provider.list_invoices(InvoiceQuery())
    assert len(page.invoices) == 8
    assert sandbox.count("GET", LIST) == 2


async def test_a_read_refused_without_words_is_not_told_as_a_refused_payment(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    """A bodiless 4xx on the list asked for no payment: it is not worded as one."""
    sandbox.inject("wordless", count=3, path=LIST)
    with pytest.raises(ProviderError) as raised:
        await provider.list_invoices(InvoiceQuery())
    said = str(raised.value)
    assert said.startswith("i3D.net refused to answer and gave no reason. Try again")
    assert "payment" not in said and "method" not in said


async def test_persistent_server_error_is_unavailable_with_i3ds_words(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("error", count=3)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.payment_options(["410001"])
    assert str(raised.value) == (
        "i3D.net had a server error (HTTP 500: Internal server error (sandbox fault)); "
        "try again in a few minutes."
    )
    assert sandbox.count("GET", PREPARE) == 3


async def test_timeout_is_unavailable_and_reads_are_retried(
    make_provider: Callable[..., I3DProvider], sandbox: SandboxState
) -> None:
    sandbox.inject("hang", count=3, path=LIST)
    provider = make_provider(timeout=0.2)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value) == ("i3D.net did not answer within 0.2 s; try again in a few minutes.")
    assert sandbox.count("GET", LIST) == 3


async def test_a_hang_then_an_answer_is_fine(
    make_provider: Callable[..., I3DProvider], sandbox: SandboxState
) -> None:
    sandbox.inject("hang", count=1, path=LIST)
    page = await make_provider(timeout=0.2).list_invoices(InvoiceQuery(limit=2))
    assert len(page.invoices) == 2


async def test_an_unreadable_answer_is_unavailable(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("malformed", path=LIST)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value) == (
        "i3D.net's invoice list answer could not be read (not valid JSON); "
        "if this keeps happening, i3D.net may have changed its API."
    )
    assert sandbox.count("GET", LIST) == 1


async def test_an_entry_that_is_no_invoice_is_set_aside_not_fatal(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("shape", path=LIST)
    page = await provider.list_invoices(InvoiceQuery())
    assert page.invoices == [] and page.unreadable == [""]


async def test_nonsense_amounts_are_unreadable(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    item = sandbox.invoices["410001"]
    sandbox.invoices["410001"] = item.model_copy(update={"remainingAmount": "121.00"})
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.get_invoice("410001")
    assert "not a whole number of minor units: '121.00'" in str(raised.value)
    page = await provider.list_invoices(InvoiceQuery(limit=100))
    assert page.unreadable == [item.invoiceNumber]
    assert len(page.invoices) == len(sandbox.invoices) - 1


async def test_rate_limit_says_when_to_come_back(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    provider.api.http.longest_wait = 1.0  # i3D asks for 2 s: longer than a read may wait
    sandbox.inject("rate_limit", path=PREPARE)
    with pytest.raises(RateLimited) as raised:
        await provider.payment_options(["410001"])
    assert raised.value.retry_after == 2.0
    assert str(raised.value).endswith("; try again in 2 s.")


async def test_a_short_rate_limit_on_a_read_is_waited_out(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    sandbox.inject("rate_limit", path=PREPARE)
    started = time.monotonic()
    options = await provider.payment_options(["410001"])
    assert options.methods and time.monotonic() - started >= 2.0


@pytest.mark.parametrize("kind", ["error", "hang", "malformed"])
async def test_register_is_never_retried(
    make_provider: Callable[..., I3DProvider], sandbox: SandboxState, kind: str
) -> None:
    provider = make_provider(timeout=0.3)
    options = await provider.payment_options(["410006"])
    sandbox.inject(kind, count=5, path=REGISTER)  # type: ignore[arg-type]
    request = PaymentRequest(
        invoice_ids=("410006",),
        method_id="20",
        amount=options.total,
        reference="pay_7",
        return_url=RETURN_URL,
    )
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.start_payment(request)
    assert sandbox.count("POST", REGISTER) == 1
    assert str(raised.value).endswith(
        " No money moved: i3D.net charges only once the payer confirms on its payment page."
    )


async def test_a_payment_landing_that_refuses_leaves_the_payment_waiting(
    make_provider: Callable[..., I3DProvider], sandbox: SandboxState
) -> None:
    """paymentLanding takes no parameters and how it finds a payment is not documented: a
    refusal there says nothing about our payment, and only the invoice list can."""
    provider = make_provider(timeout=0.3)
    options = await provider.payment_options(["410006"])
    request = PaymentRequest(
        invoice_ids=("410006",),
        method_id="20",
        amount=options.total,
        reference="pay_7",
        return_url=RETURN_URL,
    )
    await provider.start_payment(request)
    sandbox.inject("wordless", path=LANDING)  # 422, no body
    check = PaymentCheck(invoice_ids=("410006",), amount=options.total, reference="pay_7")
    outcome = await provider.check_payment(check)
    assert outcome.status is OutcomeStatus.PENDING
    assert outcome.message == "Waiting for i3D.net to confirm the payment."
    assert sandbox.count("GET", LANDING) == 1


async def test_nobody_listening_is_unavailable(http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = I3DCredentials(api_key=TOKEN, base_url=f"http://127.0.0.1:{port}")
    provider = I3DProvider(credentials, http, retry_delay=0.01)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.verify()
    assert str(raised.value) == (
        "Could not reach i3D.net: nothing answered there; "
        "check the address, or try again in a few minutes."
    )


async def test_amounts_are_compared_exactly(provider: I3DProvider, sandbox: SandboxState) -> None:
    options = await provider.payment_options(["410005"])
    assert options.total == Money.from_minor("123456", "USD")
    assert options.total != Money.of("1234.55", "USD")
    assert sandbox.count("GET", PREPARE) == 1


async def test_wrong_base_url_fails_verification(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    credentials = I3DCredentials(api_key=TOKEN, base_url=str(server.make_url("/api/")))
    with pytest.raises(BadCredentials) as raised:
        await I3DProvider(credentials, http).verify()
    assert str(raised.value) == (
        "i3D.net has no invoice list at the API address used; check it "
        "(normally https://api.i3d.net)."
    )


def test_base_url_must_be_a_web_address() -> None:
    with pytest.raises(ValueError, match=r"The address must look like https://api\.i3d\.net"):
        I3DCredentials(api_key=TOKEN, base_url="api.i3d.net")


ERROR_BODY = b'{"errorCode": 10002, "errorMessage": "Nope", "errors": []}'


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, b"", BadCredentials, "i3D.net refused the API key (HTTP 401)."),
        (404, ERROR_BODY, InvoiceNotFound, "i3D.net could not find it (HTTP 404: Nope)."),
        (409, ERROR_BODY, NotPayable, "i3D.net refused the request (HTTP 409: Nope)."),
        (429, b"<html>", RateLimited, "i3D.net is limiting requests (HTTP 429); try again in 5 s."),
        (503, b"down", ProviderUnavailable, "i3D.net had a server error (HTTP 503); try again"),
        (418, ERROR_BODY, ProviderUnavailable, "i3D.net answered with an unexpected status"),
    ],
)
def test_status_codes_map_to_core_errors(
    status: int, body: bytes, kind: type[Exception], message: str
) -> None:
    error = errors.for_status(status, body, retry_after_header="5")
    assert type(error) is kind
    assert str(error).startswith(message)


def test_error_details_are_quoted_once() -> None:
    body = (
        b'{"errorCode": 10004, "errorMessage": "Invalid input", "errors": '
        b'[{"property": "issuerId", "message": "Unknown bank"}]}'
    )
    error = errors.for_status(422, body)
    assert (
        str(error)
        == "i3D.net refused the request (HTTP 422: Invalid input (issuerId: Unknown bank))."
    )


@pytest.mark.parametrize("status", [400, 409, 422])
def test_a_refusal_without_a_body_still_says_what_to_do(status: int) -> None:
    """i3D's spec documents 4xx answers with no body: the person still gets a next step."""
    from plugins.i3d import errors

    said = str(errors.for_status(status, b""))
    assert "Open the invoice again" in said and f"HTTP {status}" in said


async def test_several_offers_from_prepare_are_refused_with_the_reason(
    provider: I3DProvider, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.i3d.sandbox import endpoints

    real = endpoints.ok
    monkeypatch.setattr(
        endpoints,
        "ok",
        lambda payload, **h: real(payload * 2 if isinstance(payload, list) else payload, **h),
    )
    with pytest.raises(PaymentRejected, match="2 different offers"):
        await provider.payment_options(["410001"])


@pytest.mark.parametrize("drifted", [False, True], ids=["documented page", "drifted page"])
async def test_an_invoice_without_a_number_goes_by_its_id(
    provider: I3DProvider, sandbox: SandboxState, drifted: bool
) -> None:
    """Whether the page is read whole or entry by entry (drift elsewhere on it)."""
    item = sandbox.invoices["410001"]
    sandbox.invoices["410001"] = item.model_copy(update={"invoiceNumber": ""})
    if drifted:  # a number where the documents say a string: forgiven, read one by one
        other = sandbox.invoices["410002"]
        sandbox.invoices["410002"] = other.model_copy(update={"totalPaidAmount": 0})
    page = await provider.list_invoices(InvoiceQuery(limit=100))
    numbers = {invoice.id: invoice.number for invoice in page.invoices}
    assert numbers["410001"] == "410001"
    assert page.unreadable == []
    assert len(page.invoices) == len(sandbox.invoices)


async def test_an_amount_too_big_to_be_real_sets_its_invoice_aside(
    provider: I3DProvider, sandbox: SandboxState
) -> None:
    """Thirty digits of cents once became a different amount, silently, and failed the
    list's sums; now that invoice alone is unreadable and the others are listed."""
    item = sandbox.invoices["410001"]
    huge = "9" * 30
    update = {"amountIncVAT": huge, "remainingAmount": huge, "amountExclVAT": huge}
    sandbox.invoices["410001"] = item.model_copy(update=update)
    page = await provider.list_invoices(InvoiceQuery(limit=100))
    assert page.unreadable == [item.invoiceNumber]
    assert len(page.invoices) == len(sandbox.invoices) - 1
