"""Starting a payment: every check happens again here, against fresh provider data.

What the Slack message showed (method, issuer, amount) is only what the user saw; the
provider's current options decide. Nothing starts when another payment of the same
invoice is still live, and a provider call that could charge is never retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from bot.approvals import ApprovalNeeded, Approvals, Binding
from bot.clock import in_zone
from bot.connections import Connections
from bot.invoices import PAID_BRIDGE
from bot.kit.checks import is_web_address
from bot.kit.errors import without_retry
from bot.models import (
    Captured,
    Emailed,
    FormPost,
    Invoice,
    InvoiceAmount,
    InvoiceStatus,
    Money,
    Payment,
    PaymentOptions,
    PaymentRequest,
    PaymentState,
    Redirect,
)
from bot.payments import CUSTOMER_LINK_LIFETIME, UNSETTLED, Payments
from bot.provider import (
    Direction,
    NotPayable,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unconfirmed,
)
from bot.reminding import can_remind
from bot.runs import CUSTOMER, Runs
from bot.settlement import IN_FLIGHT_LIMIT, Settlement
from bot.store import Store
from bot.text import escape, one_line, plain

log = logging.getLogger(__name__)


def _invoice_s(numbers: Sequence[str]) -> str:
    """ "invoice INV-1" or "invoices INV-1, INV-2", escaped."""
    return f"invoice{'s' if len(numbers) > 1 else ''} {one_line(', '.join(numbers))}"


def _cancel_hint(holder: Payment, mine: bool) -> str:
    """Where the link holding a credit note can be cancelled, while it can: its own
    message (Pay on its invoices), which has *Cancel that link* for whoever made it."""
    if holder.state is not PaymentState.LINK_ISSUED or not isinstance(
        holder.start, Redirect | FormPost
    ):
        return ""  # being started, its page opened, or a charge: it cannot be cancelled
    numbers = _invoice_s(holder.invoice_numbers)
    where = f"*Pay* on {'any of ' if len(holder.invoice_numbers) > 1 else ''}{numbers}"
    if mine:
        return f" To free the credit sooner, cancel that link: {where} offers *Cancel that link*."
    return f" To free the credit sooner, <@{holder.user_id}> can cancel that link from {where}."


def charge_in_doubt(payment: Payment) -> str | None:
    """Why `payment`, a card charge whose outcome is not known yet, refuses any other
    payment of its invoices; None for any other attempt. However long the provider takes,
    such a charge may still take the money: a link's lifetime says nothing about it."""
    numbers = _invoice_s(payment.invoice_numbers)
    # A charge whose start was cut short (its process killed mid-call) is unknown as soon
    # as no start can still be under way, whether or not a poller round has handed it
    # over yet (on PostgreSQL that comes only at the start of a round).
    cut_short = (
        payment.state is PaymentState.CREATED
        and payment.created_at.timestamp() <= time.time() - IN_FLIGHT_LIMIT
    )
    if (payment.state is PaymentState.UNKNOWN or cut_short) and payment.charges_at_once:
        return (
            f"invoicebot does not know yet whether the payment of {numbers} started "
            f"by <@{payment.user_id}> went through, and is checking with the provider. Do not "
            "pay again: the billing channel hears as soon as it is known."
        )
    if payment.state in UNSETTLED and isinstance(payment.start, Captured):
        return (
            f"A card payment of {numbers} started by <@{payment.user_id}> is waiting "
            "for the provider to confirm it, and invoicebot is checking. Do not pay again: "
            "the billing channel hears as soon as it is confirmed."
        )
    return None


def charges_in_doubt(
    store: Store, team_id: str, invoices: list[Invoice]
) -> dict[tuple[str, str], str]:
    """Why a card charge the provider has confirmed neither way may have paid each of
    these invoices, by (provider, invoice id): the provider still lists them open, so
    their rows say so rather than offer them as if nothing were under way."""
    unpaid: dict[str, list[str]] = {}
    for invoice in invoices:
        if invoice.status is not InvoiceStatus.PAID:
            unpaid.setdefault(invoice.provider, []).append(invoice.id)
    found: dict[tuple[str, str], str] = {}
    for provider, ids in unpaid.items():
        for payment in store.payments_for_invoices(team_id, provider, ids):
            if (doubt := charge_in_doubt(payment)) is not None:
                for invoice_id in payment.invoice_ids:
                    found.setdefault((provider, invoice_id), doubt)
    return found


class CheckoutRefused(ProviderError):
    """The payment was not started; the message says why and what to do.

    The message is invoicebot's own mrkdwn (it mentions people as <@U…>); anything it
    quotes from a provider is escaped where it is written."""

    markup = True


class NeedsApproval(CheckoutRefused):
    """The payment needs an approval it does not have (the policy changed since the
    menu was shown): the pay menu again offers Request approval."""


class OutcomeUnknown(ProviderError):
    """The provider's answer to a call that may have charged was lost: the attempt is
    UNKNOWN and the poller keeps asking. The message tells the payer not to pay again.
    `told`: the same was queued for the payer's message already (`tell_in_doubt`), so
    the click need not spend another of its response URL's five uses on it."""

    markup = True

    def __init__(self, message: str, *, told: bool = False) -> None:
        super().__init__(message)
        self.told = told


def browsable(start: object, title: str) -> None:
    """The page a plugin sends the payer's browser to (`Redirect`, `FormPost`) must be a
    web address: invoicebot's own pay page sends the browser on, and a `javascript:`
    form would run on invoicebot's address. Nothing was charged if not: no browser went."""
    if isinstance(start, Redirect | FormPost) and not is_web_address(start.url):
        raise ProviderError(
            f"{title} named a payment page that is not a web address, so nothing was "
            "charged. Tell whoever runs invoicebot."
        )


@dataclass(frozen=True)
class Started:
    payment: Payment
    token: str
    pay_url: str
    lifetime: float
    """Seconds the pay link works for (from now)."""
    reused: bool = False
    """A customer's link that was already live, shown again instead of a new one."""


def details(options: PaymentOptions) -> dict[str, Any]:
    """What a payment's messages name besides the total: each invoice with its amount,
    the credit notes netted off, and the customer when every invoice names the same one."""
    payers = {invoice.payer for invoice in options.invoices}
    return {
        "lines": tuple(
            InvoiceAmount(number=invoice.number, amount=invoice.amount_due)
            for invoice in options.invoices
        ),
        "credits": tuple(
            InvoiceAmount(number=credit.number, amount=credit.credit_value)
            for credit in options.credits_settled
        ),
        "payer_name": payers.pop() if len(payers) == 1 else None,
    }


OPTIONS_FRESH = 120.0
"""Seconds the offer shown in a pay menu is reused for the next step (one provider call
for Get link); the provider checks the total again when it registers the payment."""
OPTIONS_KEPT = 2_000


@dataclass
class Checkout:
    connections: Connections
    payments: Payments
    settlement: Settlement
    public_url: str
    approvals: Approvals | None = None
    """Payments that need an approval start only with a live one (payables only)."""
    zone: tzinfo = UTC
    """The workspace's time zone (`INVOICEBOT_TIMEZONE`): a day told to a payer is the
    day the list and the pay menu say."""
    _offers: dict[tuple[str, str, tuple[str, ...]], tuple[float, PaymentOptions]] = field(
        default_factory=dict
    )

    @property
    def store(self) -> Store:
        return self.payments.store

    def recent_options(
        self, team_id: str, provider: str, invoice_ids: list[str]
    ) -> PaymentOptions | None:
        """The offer fetched for exactly these invoices in the last `OPTIONS_FRESH` s."""
        kept = self._offers.get((team_id, provider, tuple(invoice_ids)))
        if kept is None or time.monotonic() - kept[0] > OPTIONS_FRESH:
            return None
        return kept[1]

    async def options(
        self, team_id: str, provider: str, invoice_ids: list[str], *, reuse: bool = False
    ) -> PaymentOptions:
        """The provider's current offer (or, with `reuse`, one fetched moments ago)."""
        if reuse and (recent := self.recent_options(team_id, provider, invoice_ids)):
            return recent
        key = (team_id, provider, tuple(invoice_ids))
        try:
            options = await self.connections.get(team_id, provider).payment_options(invoice_ids)
        except BaseException:
            self._offers.pop(key, None)  # what was offered may no longer hold
            raise
        options = options.model_copy(
            update={
                "provider": provider,
                "invoices": [i.model_copy(update={"provider": provider}) for i in options.invoices],
            }
        )
        if sorted(invoice.id for invoice in options.invoices) != sorted(set(invoice_ids)):
            # A provider may read an id loosely ("0212948" as 212948); every check of a
            # live link or a settled invoice compares ids as the provider writes them, so
            # only those may start anything (a forged click could pay an invoice twice).
            log.warning("%s answered for other invoice ids than asked: refused", provider)
            raise NotPayable("Those invoices are not as the provider lists them; list them again.")
        unpayable = [invoice.number for invoice in options.invoices if not invoice.payable]
        if unpayable:
            raise NotPayable(f"Invoice {', '.join(unpayable)} cannot be paid now (not open).")
        currencies = sorted(
            {invoice.currency for invoice in options.invoices if not invoice.is_credit}
        )
        if len(currencies) > 1:  # a stale or forged selection: the list never offers this
            raise NotPayable(
                f"These invoices are in {' and '.join(currencies)}; one payment takes one "
                "currency, so pay each currency's invoices separately."
            )
        if len(self._offers) >= OPTIONS_KEPT:
            del self._offers[next(iter(self._offers))]
        self._offers[(team_id, provider, tuple(invoice_ids))] = (time.monotonic(), options)
        return options

    def _refuse_if_taken(
        self,
        team_id: str,
        provider: str,
        invoice_ids: list[str],
        *,
        receivable: bool,
        total: Money | None = None,
        user_id: str | None = None,
        method: tuple[str, str | None] | None = None,
        credits: tuple[str, ...] = (),
    ) -> Payment | None:
        """Refuse while another attempt could still take the money; inside `claim()`.

        Returns a receivable's live customer link, which is shown again instead of a
        second one, and likewise a payer's own live link for the same invoices and `method`
        (method and bank): a second click on Get link. A start that never produced a link
        refuses only while it is in flight. A link for other than `total` (the provider's
        amount now) is never handed out again: see `_withdraw_outdated`.
        """
        now = time.time()
        if self.store.settlement_of(team_id, provider, invoice_ids):
            paid = self.paid_already(team_id, provider, invoice_ids)
            who = f" by <@{paid.user_id}>" if paid and not receivable else ""
            numbers = _invoice_s(paid.invoice_numbers if paid else invoice_ids)
            were = "were" if (paid.invoice_numbers if paid else invoice_ids)[1:] else "was"
            if total is not None and (
                since := self._listed_open_again(provider, invoice_ids, team_id)
            ):
                # The provider offered to take it (`total`): open again, not still booking.
                title = self.connections.provider_class(provider).title
                it, its, is_ = ("it", "its", "is") if were == "was" else ("them", "their", "are")
                raise CheckoutRefused(
                    f"{numbers[:1].upper()}{numbers[1:]} {were} paid with invoicebot{who} on "
                    f"{since}, and {title} lists {it} open again. Check {its} payments at "
                    f"{title} before paying {it} again. invoicebot takes no second payment of "
                    f"an invoice it saw paid: if {it} {is_} due again, pay at {title}."
                )
            raise CheckoutRefused(
                f"{numbers[:1].upper()}{numbers[1:]} {were} already paid with invoicebot{who}."
            )
        self._refuse_if_credit_taken(team_id, provider, invoice_ids, credits, user_id, now)
        for earlier in self.store.payments_for_invoices(team_id, provider, invoice_ids):
            numbers = _invoice_s(earlier.invoice_numbers)
            several = len(earlier.invoice_numbers) > 1
            if earlier.state is PaymentState.CREATED:
                if (doubt := charge_in_doubt(earlier)) is not None and (
                    earlier.id not in self.settlement.in_flight
                ):
                    raise CheckoutRefused(doubt)
                if (
                    earlier.created_at.timestamp() > now - IN_FLIGHT_LIMIT
                    or earlier.id in self.settlement.in_flight  # a start slower than that
                ):
                    emailing = isinstance(earlier.start, Emailed)
                    doing = (
                        f"{numbers[:1].upper()}{numbers[1:]} "
                        f"{'are' if several else 'is'} being e-mailed to the customer"
                        if emailing
                        else f"A payment of {numbers} is being started"
                    )
                    raise CheckoutRefused(
                        f"{doing} right now (by <@{earlier.user_id}>). Nothing else was "
                        f"{'sent' if emailing else 'started'}; wait a moment."
                    )
            elif (doubt := charge_in_doubt(earlier)) is not None:
                raise CheckoutRefused(doubt)
            elif earlier.state in UNSETTLED and self.store.token_expiry(earlier.id) > now:
                if isinstance(earlier.start, Emailed):
                    continue  # the customer may pay by e-mail or by link: settled once
                if total is not None and outdated(earlier, invoice_ids, total):
                    self._withdraw_outdated(earlier, total)
                    continue
                if receivable and isinstance(earlier.start, Redirect | FormPost):
                    return earlier
                if not receivable:
                    mine = user_id is not None and earlier.user_id == user_id
                    if (
                        mine
                        and set(earlier.invoice_ids) == set(invoice_ids)
                        and (earlier.method_id, earlier.issuer_id) == method
                        and self._token(earlier) is not None
                    ):
                        return earlier
                    holder = "You already have" if mine else f"<@{earlier.user_id}> already has"
                    raise CheckoutRefused(
                        f"{holder} a payment link for {numbers} "
                        "that has not expired. Nothing was started, so nothing is paid twice. "
                        "Pay opens that link's details, where it can be cancelled if its page "
                        "was never opened."
                    )
        return None

    def _refuse_if_credit_taken(
        self,
        team_id: str,
        provider: str,
        invoice_ids: list[str],
        credits: tuple[str, ...],
        user_id: str | None,
        now: float,
    ) -> None:
        """Refuse a payment that would take off a credit note another live attempt (for
        other invoices) already takes off: the provider settles a credit once, so the
        second would be charged another amount than it showed, or fail after paying."""
        if not credits:
            return
        for earlier in self.store.netting_credits(team_id, provider):
            shared = sorted(set(credits) & {credit.number for credit in earlier.credits})
            if not shared or set(earlier.invoice_ids) & set(invoice_ids):
                continue  # none of ours, or the same invoices: told as such below
            if earlier.state is PaymentState.CREATED:
                live = (  # else a stop's
                    earlier.created_at.timestamp() > now - IN_FLIGHT_LIMIT
                    or earlier.id in self.settlement.in_flight
                )
            else:
                live = earlier.state in UNSETTLED and self.store.token_expiry(earlier.id) > now
            if not (live or charge_in_doubt(earlier) is not None):
                continue
            mine = earlier.user_id == user_id
            whose = "your" if mine else f"<@{earlier.user_id}>'s"
            raise CheckoutRefused(
                f"Credit note {one_line(', '.join(shared))} is already taken off {whose} "
                f"payment of {_invoice_s(earlier.invoice_numbers)}, which is still under way. "
                "Nothing was started, so the credit is not used twice: pay this once that "
                f"payment is made, or has ended.{_cancel_hint(earlier, mine)}"
            )

    def _withdraw_outdated(self, link: Payment, total: Money) -> None:
        """Withdraw a link that asks for another amount than the provider does now, or
        refuse if its page was opened (see `withdraw_outdated`)."""
        if self.withdraw_outdated(link, total):
            return
        numbers = _invoice_s(link.invoice_numbers)
        raise CheckoutRefused(
            f"The amount due for {numbers} changed from {link.amount} to {total} "
            f"after <@{link.user_id}> made a payment link for it, and that link's page was "
            "already opened, so it stands until it expires or is paid. Nothing new was "
            "started or sent; try again once that one has ended."
        )

    def withdraw_outdated(self, link: Payment, total: Money) -> bool:
        """Cancel an unopened link made for another amount than `total`, the provider's
        amount now; False if its page was opened (or it ended) meanwhile.

        Its page would charge the old amount, and a charge is held against the payment's
        own amount, so paying it would settle the invoice for what it no longer costs."""
        reason = (
            f"the amount due changed to {total} after this link was made for {link.amount}, "
            "so it was withdrawn before its page was opened"
        )
        if not self.settlement.end_unopened(link, reason):
            return False
        self.store.audit(
            "payment.link_outdated",
            team_id=link.team_id,
            subject=link.id,
            amount=link.amount.format(),
            now_due=total.format(),
        )
        return True

    def charge_in_doubt(self, team_id: str, provider: str, invoice_ids: list[str]) -> str | None:
        """Why no one may pay these invoices while a card charge on them is unconfirmed
        (see `charge_in_doubt`): said before a menu, not after "Charge now"."""
        for earlier in self.store.payments_for_invoices(team_id, provider, invoice_ids):
            if (doubt := charge_in_doubt(earlier)) is not None:
                return doubt
        return None

    def refuse_if_credit_held(
        self,
        team_id: str,
        provider: str,
        invoice_ids: list[str],
        options: PaymentOptions,
        user_id: str | None,
    ) -> None:
        """Refuse as `start` would while a credit note these invoices' offer nets is taken
        off another payment still under way: said by Pay, not after Get link."""
        credits = tuple(credit.number for credit in options.credits_settled)
        now = time.time()
        self._refuse_if_credit_taken(team_id, provider, invoice_ids, credits, user_id, now)

    def _listed_open_again(self, provider: str, invoice_ids: list[str], team_id: str) -> str:
        """The day (in `zone`) of the earliest settlement of these invoices when older than
        `PAID_BRIDGE` at a provider whose invoices show its page's money (so one it
        offers to take again is open again, not still booking the payment); else ""."""
        cls = self.connections.provider_class(provider)
        if not cls.capabilities.invoice_shows_page_payments:
            return ""
        dates = [
            datetime.fromisoformat(when)
            for when in self.store.settled_dates(team_id, provider, invoice_ids).values()
        ]
        settled = [when if when.tzinfo else when.replace(tzinfo=UTC) for when in dates]
        if not settled or min(settled) >= datetime.now(UTC) - PAID_BRIDGE:
            return ""
        return in_zone(min(settled), self.zone).date().isoformat()

    def paid_already(self, team_id: str, provider: str, invoice_ids: list[str]) -> Payment | None:
        """The payment through invoicebot that settled any of these invoices, if one did:
        a stale Pay button is answered from it, without asking the provider. One that
        settled only some of its invoices (see `Store.credited_in_part`) is given as it
        was credited: for those invoices alone."""
        if not self.store.settlement_of(team_id, provider, invoice_ids):
            return None
        attempts = self.store.payments_for_invoices(team_id, provider, invoice_ids)
        paid = next((p for p in attempts if p.state is PaymentState.PAID), None)
        if paid is not None:
            return paid
        for attempt in attempts:
            if attempt.state is not PaymentState.EXPIRED:
                continue  # a watch's end is the one to settle only some of its invoices
            for part in self.store.credited_in_part(attempt.id):
                if set(part.invoice_ids) & set(invoice_ids):
                    return part
        return None

    def live_link(
        self, team_id: str, provider: str, invoice_ids: list[str], total: Money | None = None
    ) -> Payment | None:
        """A payer's unexpired link for any of these invoices, which refuses a second
        start: the pay menu says so (and offers to cancel it) before anyone chooses.

        Given `total`, the provider's amount now, an unopened link for exactly these
        invoices that asks for another amount is withdrawn instead of shown."""
        now = time.time()
        for earlier in self.store.payments_for_invoices(team_id, provider, invoice_ids):
            if (
                earlier.state in UNSETTLED
                and earlier.direction == Direction.PAYABLE.value
                and isinstance(earlier.start, Redirect | FormPost)
                and self.store.token_expiry(earlier.id) > now
            ):
                if (
                    total is not None
                    and earlier.state is PaymentState.LINK_ISSUED
                    and outdated(earlier, invoice_ids, total)
                    and self.withdraw_outdated(earlier, total)
                ):
                    continue
                return earlier
        return None

    def withdraw(self, payment: Payment, user_id: str) -> bool:
        """Cancel a link whose page nobody opened, so its invoices can be paid another way.

        Only from LINK_ISSUED, by compare-and-set: once the payer's browser has opened it
        (OPENED), the provider's page may be taking the money and the link stands. The
        pay page re-checks after its own compare-and-set, so a link cancelled while
        being opened never reaches the provider's page."""
        # Plain words: the reason is shown escaped (history, the payer's message); who
        # cancelled it is in the audit row `payment.link_cancelled`.
        reason = "the link was cancelled in Slack before its page was opened"
        return self.settlement.end_unopened(payment, reason)

    def _token(self, payment: Payment) -> str | None:
        sealed = self.store.sealed_token(payment.id)
        return self.store.open_text(sealed) if sealed else None

    def link_of(self, payment: Payment) -> str | None:
        """A link's own address, for whoever holds it to open it again (the message it
        came in may be gone: Slack does not keep a reply only one person saw)."""
        token = self._token(payment)
        return f"{self.public_url}/pay/{token}" if token else None

    def _again(self, live: Payment) -> Started | None:
        token = self._token(live)
        if token is None:
            return None
        lifetime = self.store.token_expiry(live.id) - time.time()
        return Started(live, token, f"{self.public_url}/pay/{token}", lifetime, reused=True)

    async def start(
        self,
        *,
        team_id: str,
        user_id: str,
        provider: str,
        invoice_ids: list[str],
        method_id: str,
        issuer_id: str | None,
        expected: Money,
        channel_id: str | None = None,
        response_url: str | None = None,
    ) -> Started:
        options = await self.options(team_id, provider, invoice_ids, reuse=True)
        method = options.method(method_id)
        if method is None or not method.selectable:
            reason = method.reason if method else "the provider no longer offers it"
            raise PaymentRejected(f"That payment method cannot be used now: {reason}.")
        if method.issuers and issuer_id not in {issuer.id for issuer in method.issuers}:
            raise PaymentRejected(f"Choose your bank for {method.name} first.")
        if not method.issuers and issuer_id:
            raise PaymentRejected(f"{method.name} takes no bank; choose the method again.")
        if options.total != expected:
            raise CheckoutRefused(
                f"The amount changed from {expected} to {options.total} since the menu was "
                "shown. Nothing was paid; open the invoice again to see the new amount."
            )
        cls = self.connections.provider_class(provider)
        receivable = cls.capabilities.direction is Direction.RECEIVABLE
        lifetime = CUSTOMER_LINK_LIFETIME if receivable else self.payments.token_lifetime
        with self.store.claim():
            # Asked once the lock is held, for the moment recorded as the start: an
            # approval that ran out while another process held the lock is not used.
            began = datetime.now(UTC)
            if self.approvals is not None and not receivable:
                binding = Binding.of(provider, invoice_ids, options.total)
                try:
                    self.approvals.require(team_id, binding, began.timestamp())
                except ApprovalNeeded as refused:
                    raise NeedsApproval(str(refused)) from None
            live = self._refuse_if_taken(
                team_id,
                provider,
                invoice_ids,
                receivable=receivable,
                total=options.total,
                user_id=user_id,
                method=(method.id, issuer_id),
                credits=tuple(credit.number for credit in options.credits_settled),
            )
            again = self._again(live) if live else None
            if again is None:
                payment, token = self.payments.record(
                    Payment(
                        team_id=team_id,
                        provider=provider,
                        direction=cls.capabilities.direction.value,
                        invoice_ids=tuple(invoice.id for invoice in options.invoices),
                        invoice_numbers=tuple(invoice.number for invoice in options.invoices),
                        amount=options.total,
                        method_id=method.id,
                        method_name=method.name,
                        issuer_id=issuer_id,
                        user_id=user_id,
                        channel_id=channel_id,
                        response_url=response_url,
                        charges_at_once=method.saved_card,
                        issuer_name=next(
                            (i.name for i in method.issuers if i.id == issuer_id), None
                        ),
                        **details(options),
                    ),
                    lifetime,
                    # Encrypted, for its holder to open again; a customer's link must be
                    # kept (the team copies it again), a payer's where a key is set.
                    keep_token=receivable or self.store.box is not None,
                    at=began,
                )
        # An offer is used once: the next start (a second Copy link) reads the provider's
        # amount again, so a live link is never shown again at an amount it no longer asks.
        self._offers.pop((team_id, provider, tuple(invoice_ids)), None)
        if again is not None:
            return again
        pay_url = f"{self.public_url}/pay/{token}"
        self.settlement.in_flight.add(payment.id)
        try:
            return await self._start(payment, token, pay_url, lifetime, options, method.id)
        finally:
            self.settlement.in_flight.discard(payment.id)

    async def _start(
        self,
        payment: Payment,
        token: str,
        pay_url: str,
        lifetime: float,
        options: PaymentOptions,
        method_id: str,
    ) -> Started:
        team_id, provider, issuer_id = payment.team_id, payment.provider, payment.issuer_id
        try:
            connected = self.connections.get(team_id, provider)
            started = await connected.start_payment(
                PaymentRequest(
                    invoice_ids=payment.invoice_ids,
                    method_id=method_id,
                    issuer_id=issuer_id,
                    amount=options.total,
                    reference=payment.id,
                    return_url=f"{self.public_url}/landing/{provider}",
                    token=token,
                    options=options,
                )
            )
            browsable(started.start, connected.title)
        except Exception as error:
            self._after_failed_start(payment, error)
            raise
        # One commit: a stop between issuing and scheduling would leave a charged card
        # that no poller asks about (and restarts only look at CREATED attempts).
        with self.store.transaction():
            self.store.update_payment(
                payment.id,
                start=started.start.model_dump_json(),
                provider_reference=started.provider_reference,
            )
            if not self.payments.move(payment.id, PaymentState.LINK_ISSUED):
                log.warning("payment %s changed state while it was being started", payment.id)
            self.settlement.schedule_first_check(payment.id)
        if isinstance(started.start, Captured):
            current = self.store.payment(payment.id)
            assert current is not None
            try:
                await self.settlement.check(current)
            except Exception:
                # The charge is recorded and its check scheduled, so the poller settles
                # it: the payer sees it waiting to be confirmed, not an error.
                log.exception("payment %s: the first check of its charge failed", payment.id)
        current = self.store.payment(payment.id)
        assert current is not None
        return Started(current, token, pay_url, lifetime)

    def _after_failed_start(self, payment: Payment, error: Exception) -> None:
        """A clear refusal ends the attempt; a lost answer to a charge makes it UNKNOWN.

        A start that needs the payer's browser (a link) cannot have taken money without
        a link, so it simply failed; a saved card may have been charged, so we keep asking.
        """
        message = error.message if isinstance(error, ProviderError) else "provider error"
        ambiguous = isinstance(error, ProviderUnavailable) and not isinstance(error, RateLimited)
        if not isinstance(error, ProviderError):
            log.error("provider %s failed while starting a payment", payment.provider)
            ambiguous = True
        if ambiguous and payment.charges_at_once:
            with self.store.transaction():  # unknown, watched and told, or none of them
                moved = self.payments.move(payment.id, PaymentState.UNKNOWN, last_error=message)
                self.settlement.schedule_first_check(payment.id)
                if moved:
                    self._tell_in_doubt(payment.id)
            raise OutcomeUnknown(
                f"{escape(without_retry(plain(message)))} So invoicebot does not know yet whether "
                f"{escape(payment.method_name)} was "
                "charged. It is checking with the provider and will tell you here (later, in "
                "your messages with invoicebot), and the billing channel hears if it went "
                "through. Do not pay again.",
                told=moved,
            ) from error
        self.payments.move(payment.id, PaymentState.FAILED, last_error=message)

    def _tell_in_doubt(self, payment_id: str) -> None:
        """Queue the payer's "not known yet, do not pay again" with the UNKNOWN move (as a
        restart does for a start it cut short): the click's own answer goes over its
        response URL once and is gone if Slack does not take it then (a 5xx, a time-out,
        a stop right after this commit), and the outcome may stay unknown for a day."""
        self.settlement.tell_in_doubt(payment_id)
        for wake in self.settlement.after_settled:
            wake()

    async def _draft(self, team_id: str, provider: str, invoice_id: str) -> PaymentOptions | None:
        """A draft as the offer an e-mail makes (the customer pays its total once it is
        sent); None for anything else, which stays refused in the provider's words."""
        invoice = await self.connections.get(team_id, provider).get_invoice(invoice_id)
        if not invoice.issuable:
            return None
        invoice = invoice.model_copy(update={"provider": provider})
        return PaymentOptions(
            provider=provider, invoices=[invoice], total=invoice.amount_due, methods=[]
        )

    async def send_by_email(
        self,
        *,
        team_id: str,
        user_id: str,
        provider: str,
        invoice_id: str,
        to: str | None,
        expected: Money | None = None,
        today: date | None = None,
    ) -> Payment:
        """E-mail the invoice to its customer and watch for the payment like any other.

        The attempt is recorded before the provider is asked, so an e-mail whose answer
        is lost (or a crash) still leaves something the poller watches. `expected` is the
        amount the person saw: an invoice changed since (a draft edited) is not sent.
        `today`, the workspace's day: an overdue invoice e-mailed is its reminder that day.
        """
        cls = self.connections.provider_class(provider)
        if not cls.capabilities.send_by_email:  # nothing to record: no e-mail can go out
            raise CheckoutRefused(f"{escape(cls.title)} cannot send invoices by e-mail.")
        try:
            options = await self.options(team_id, provider, [invoice_id])
        except NotPayable:
            drafted = await self._draft(team_id, provider, invoice_id)  # sending issues it
            if drafted is None:
                raise
            options = drafted
        if expected is not None and options.total != expected:
            raise CheckoutRefused(
                f"The invoice now comes to {options.total.format()}, not the "
                f"{expected.format()} shown here. Nothing was sent; close this and choose "
                "Send by e-mail again to see it as it is now."
            )
        (invoice,) = options.invoices
        with self.store.claim():
            # A customer's link for another amount goes (or, opened, holds this back):
            # its page would charge the old amount beside the e-mail's new one.
            self._refuse_if_taken(
                team_id, provider, [invoice.id], receivable=True, total=options.total
            )
            payment = self._record_emailed(
                team_id,
                user_id,
                invoice,
                options,
                Emailed(to=to or "the customer's address on file"),
            )
            # Kept from the start: an e-mail may have gone out even if the answer is lost.
            self.store.update_payment(
                payment.id, start=Emailed(to=to or "the address on file").model_dump_json()
            )
            reminder = self._claim_reminder(
                team_id, user_id, provider, invoice, payment.id, today, to
            )
        self.settlement.in_flight.add(payment.id)
        try:
            address = await self.connections.get(team_id, provider).send_invoice(invoice.id, to)
        except ProviderUnavailable as error:
            if isinstance(error, RateLimited):
                self._send_refused(payment.id, reminder, error)
                raise
            with self.store.transaction():  # unknown and watched, or neither
                self.payments.move(payment.id, PaymentState.UNKNOWN, last_error=error.message)
                self.settlement.schedule_first_check(payment.id)
                self._reminder_ended(reminder, "unknown")
            # A provider's Unconfirmed already says it may have gone out, and where to look.
            maybe = "" if isinstance(error, Unconfirmed) else " It may have been sent anyway:"
            raise OutcomeUnknown(
                f"{escape(without_retry(plain(error.message)))}{maybe} invoicebot watches the "
                "invoice and the billing channel hears when the customer pays."
            ) from error
        except ProviderError as error:
            self._send_refused(payment.id, reminder, error)
            raise
        except Exception as error:
            # Not a refusal: the plugin failed after (or while) making the call, so the
            # e-mail may have gone out, as after a lost answer.
            log.exception("provider %s failed while sending an invoice", provider)
            with self.store.transaction():  # unknown and watched, or neither
                self.payments.move(payment.id, PaymentState.UNKNOWN, last_error="provider error")
                self.settlement.schedule_first_check(payment.id)
                self._reminder_ended(reminder, "unknown")
            raise OutcomeUnknown(
                f"{escape(cls.title)} failed while sending it. It may have been sent anyway: "
                "invoicebot watches the invoice and the billing channel hears when the "
                f"customer pays. Check at {escape(cls.title)} before you send it again."
            ) from error
        finally:
            self.settlement.in_flight.discard(payment.id)
        with self.store.transaction():  # issued and watched, or neither
            self.store.update_payment(payment.id, start=Emailed(to=address).model_dump_json())
            self.payments.move(payment.id, PaymentState.LINK_ISSUED)
            self.settlement.schedule_first_check(payment.id)
            self._reminder_ended(reminder, "sent", address)
        current = self.store.payment(payment.id)
        assert current is not None
        return current

    def _claim_reminder(
        self,
        team_id: str,
        user_id: str,
        provider: str,
        invoice: Invoice,
        payment_id: str,
        today: date | None,
        to: str | None,
    ) -> int | None:
        """An overdue invoice e-mailed again to its customer is that day's reminder
        (`bot.reminding`): the reminder loop does not e-mail them once more the same day.
        None: not overdue, sent elsewhere than the address on file (the customer got
        nothing), or already reminded today (the person asked, so it is sent all the same)."""
        cls = self.connections.provider_class(provider)
        if today is None or not can_remind(cls) or not invoice.is_overdue(today):
            return None
        on_file = (invoice.payer_email or "").strip().lower()
        if to is not None and to.strip().lower() != on_file:
            return None
        return Runs(self.store).claim_reminder(
            CUSTOMER,
            team_id,
            provider,
            invoice.id,
            invoice.number,
            today.isoformat(),
            user_id=user_id,
            payment_id=payment_id,
        )

    def _send_refused(self, payment_id: str, reminder: int | None, error: ProviderError) -> None:
        """Nothing went out: the attempt fails and the day's reminder it claimed is free
        again, together; a stop between them would count a reminder never sent."""
        with self.store.transaction():
            self.payments.move(payment_id, PaymentState.FAILED, last_error=error.message)
            self._reminder_ended(reminder, None)

    def _reminder_ended(
        self, reminder: int | None, state: str | None, sent_to: str | None = None
    ) -> None:
        """The e-mail's outcome on the day's reminder it claimed; `state` None: refused,
        nothing went out, so the day's reminder is free again."""
        if reminder is None:
            return
        runs = Runs(self.store)
        if state is None:
            runs.forget_reminder(reminder)
        else:
            runs.reminder_sent(reminder, state, sent_to)

    def _record_emailed(
        self,
        team_id: str,
        user_id: str,
        invoice: Invoice,
        options: PaymentOptions,
        start: Emailed,
    ) -> Payment:
        """The attempt that watches an invoice e-mailed to its customer (one invoice, the
        whole of `options.total`), recorded as a customer's link is."""
        payment, _ = self.payments.record(
            Payment(
                team_id=team_id,
                provider=options.provider,
                direction=Direction.RECEIVABLE.value,
                invoice_ids=(invoice.id,),
                invoice_numbers=(invoice.number,),
                amount=options.total,
                method_id="email",
                method_name="e-mail",
                user_id=user_id,
                **details(options),
                start=start,
            ),
            CUSTOMER_LINK_LIFETIME,
        )
        return payment

    def watch_emailed(
        self, *, team_id: str, user_id: str, provider: str, invoice: Invoice, to: str
    ) -> Payment:
        """Watch an invoice the provider e-mailed as it created it, as `send_by_email`
        watches one it sends: the billing channel hears when the customer pays it."""
        invoice = invoice.model_copy(update={"provider": provider})
        options = PaymentOptions(
            provider=provider, invoices=[invoice], total=invoice.amount_due, methods=[]
        )
        start = Emailed(to=to)
        with self.store.transaction():  # issued and watched, or neither
            payment = self._record_emailed(team_id, user_id, invoice, options, start)
            self.store.update_payment(payment.id, start=start.model_dump_json())
            self.payments.move(payment.id, PaymentState.LINK_ISSUED)
            self.settlement.schedule_first_check(payment.id)
        current = self.store.payment(payment.id)
        assert current is not None
        return current


def outdated(link: Payment, invoice_ids: list[str], total: Money) -> bool:
    """A payment page made for exactly these invoices that asks for another amount than
    `total`, the provider's amount now."""
    return (
        isinstance(link.start, Redirect | FormPost)
        and set(link.invoice_ids) == set(invoice_ids)
        and link.amount != total
    )
