"""A conformance suite for provider plugins, for third-party packages as much as ours.

Point it at a provider connected to its sandbox (real HTTP on loopback) and it checks
what the core relies on: listing with paging and a status filter, get by id and by
printed number, payment options, starting a payment, and checking it before and after
the payer pays, plus refusals with the core's error types. Use it from pytest::

    from bot.testing import Conformance

    async def test_my_provider_conforms(my_sandbox_url, http):
        await Conformance(
            make=lambda: MyProvider(MyCredentials(base_url=my_sandbox_url), http),
            make_with_bad_credentials=lambda: MyProvider(MyCredentials(...wrong...), http),
            payable="inv_1",
            method_id="card",
            pay=my_payer,  # be the payer's browser on the sandbox's page
        ).run()

Each check raises `AssertionError` saying what the core would trip over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.models import (
    Captured,
    Emailed,
    FormPost,
    InvoiceQuery,
    InvoiceStatus,
    OutcomeStatus,
    PaymentCheck,
    PaymentRequest,
    Redirect,
    StartedPayment,
)
from bot.provider import BadCredentials, InvoiceNotFound, Provider, ProviderError

Payer = Callable[[StartedPayment, str], Awaitable[dict[str, str]]]
"""Pays on the sandbox's page what `StartedPayment` starts (the second argument is the
pay-link token sent in the request); returns the query the browser brings back."""

RETURN_URL = "http://127.0.0.1:9/landing/conformance"
TOKEN = "conformance-pay-link-token-0123456789"  # noqa: S105 - a test value


@dataclass
class Conformance:
    make: Callable[[], Provider]
    """A provider connected to its sandbox."""
    make_with_bad_credentials: Callable[[], Provider]
    payable: str
    """The id of an open invoice the sandbox lets pay."""
    method_id: str
    issuer_id: str | None = None
    pay: Payer | None = None
    """Needed unless starting with `method_id` charges at once (`Captured`)."""
    page_size: int = 2
    passed: list[str] = field(default_factory=list)

    async def run(self) -> list[str]:
        """Every check, in order; returns the names of those that ran."""
        provider = self.make()
        for check in (
            self.verifies,
            self.refuses_bad_credentials,
            self.lists_every_invoice_once_across_pages,
            self.filters_by_status,
            self.gets_by_id_and_by_number,
            self.says_not_found,
            self.offers_ways_to_pay,
            self.starts_checks_and_confirms,
        ):
            await check(provider)
            self.passed.append(check.__name__)
        return self.passed

    async def verifies(self, provider: Provider) -> None:
        await provider.verify()

    async def refuses_bad_credentials(self, provider: Provider) -> None:
        try:
            await self.make_with_bad_credentials().verify()
        except BadCredentials:
            return
        raise AssertionError("verify() with wrong credentials must raise BadCredentials")

    async def lists_every_invoice_once_across_pages(self, provider: Provider) -> None:
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(1_000):
            page = await provider.list_invoices(InvoiceQuery(limit=self.page_size, cursor=cursor))
            assert len(page.invoices) <= self.page_size, "a page longer than `limit`"
            seen += [invoice.id for invoice in page.invoices]
            cursor = page.next_cursor
            if cursor is None:
                break
        else:
            raise AssertionError("listing never ends: next_cursor is never None")
        assert seen, "the sandbox lists no invoices"
        assert len(seen) == len(set(seen)), "paging repeats invoices"
        every = await provider.list_invoices(InvoiceQuery(limit=1000))
        assert {i.id for i in every.invoices} == set(seen), "paging skips or adds invoices"

    async def filters_by_status(self, provider: Provider) -> None:
        page = await provider.list_invoices(
            InvoiceQuery(statuses=frozenset({InvoiceStatus.OPEN}), limit=1000)
        )
        wrong = [i.number for i in page.invoices if i.status is not InvoiceStatus.OPEN]
        assert not wrong, f"asked for open invoices, got {wrong}"
        assert self.payable in {i.id for i in page.invoices}, "the payable invoice is not open"

    async def gets_by_id_and_by_number(self, provider: Provider) -> None:
        by_id = await provider.get_invoice(self.payable)
        assert by_id.id == self.payable
        by_number = await provider.get_invoice(by_id.number)
        assert by_number.id == by_id.id, "get_invoice by printed number finds another invoice"

    async def says_not_found(self, provider: Provider) -> None:
        try:
            await provider.get_invoice("no-such-invoice-4711")
        except InvoiceNotFound:
            return
        raise AssertionError("an unknown invoice must raise InvoiceNotFound")

    async def offers_ways_to_pay(self, provider: Provider) -> None:
        invoice = await provider.get_invoice(self.payable)
        options = await provider.payment_options([self.payable])
        assert options.total.currency == invoice.currency, "the total is in another currency"
        # Credit notes or account credit may be netted off, never added.
        assert 0 < options.total.amount <= invoice.amount_due.amount, (
            f"the total to pay {options.total} is not within the amount due {invoice.amount_due}"
        )
        method = options.method(self.method_id)
        assert method is not None and method.selectable, f"{self.method_id} is not offered"

    async def starts_checks_and_confirms(self, provider: Provider) -> None:
        options = await provider.payment_options([self.payable])
        started = await provider.start_payment(
            PaymentRequest(
                invoice_ids=(self.payable,),
                method_id=self.method_id,
                issuer_id=self.issuer_id,
                amount=options.total,
                reference="conformance-1",
                return_url=RETURN_URL,
                token=TOKEN,
            )
        )
        assert isinstance(started.start, Redirect | FormPost | Captured | Emailed)
        check = PaymentCheck(
            invoice_ids=(self.payable,),
            amount=options.total,
            reference="conformance-1",
            provider_reference=started.provider_reference,
        )
        if not isinstance(started.start, Captured):
            before = await provider.check_payment(check)
            assert before.status in (OutcomeStatus.PENDING, OutcomeStatus.UNKNOWN), (
                f"before the payer paid, check_payment said {before.status}"
            )
            assert self.pay is not None, "give `pay` to be the payer on the sandbox's page"
            landing = await self.pay(started, TOKEN)
            check = check.model_copy(update={"landing_params": landing})
        after = await provider.check_payment(check)
        assert after.status is OutcomeStatus.PAID, f"after paying, check_payment said {after}"
        try:
            await provider.payment_options([self.payable])
        except ProviderError:
            return  # a paid invoice may no longer be offered: the core expects that
