"""What a provider's evidence means: each invoice is settled once, credited to one attempt.

Attempts (links, charges, e-mailed invoices) are evidence. When a provider says an
invoice is paid, `Settlement.settle` decides, in one write-locked transaction, which
attempt the money is credited to, records the settlement under a key per invoice (a
second settlement of the same invoice is refused by the database itself), ends every
other live attempt of those invoices as SUPERSEDED, and has the plugins enqueue the
confirmation in the same transaction. The landing route and the poller both end here,
so a payment that lands while both are looking is still settled once.

Which attempt is credited:
1. the one the provider's record names (`PaymentOutcome.attributed`: a transaction
   carrying our reference), even if we had marked it failed or expired, or cancelled
   and still watched;
2. otherwise, among the live attempts for exactly these invoices that can have taken
   money (a link the payer opened, a saved-card charge, an e-mailed invoice), the one
   most recently opened or started. A link nobody opened, or a start that never
   produced a link, is never credited; an ended attempt only while it is still watched
   (`WATCHABLE`: a decline or cancel that may not be the provider's last word on it).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.connections import Connections, NotConnected
from bot.models import (
    Captured,
    Emailed,
    FormPost,
    OutcomeStatus,
    Payment,
    PaymentCheck,
    PaymentOutcome,
    PaymentState,
    Redirect,
)
from bot.payments import LIVE, Payments
from bot.plugins import each_plugin
from bot.provider import ProviderError
from bot.singleflight import SingleFlight
from bot.store import Store, utc_text

log = logging.getLogger(__name__)

REPLAYS = 5
"""Checks in one process that ask with a kept return (see `Settlement._replayed`)."""

S = PaymentState

CHECKED = frozenset({S.LINK_ISSUED, S.OPENED, S.UNKNOWN})
"""States the poller asks about; CREATED is its starter's until it is interrupted."""

LATE_EVIDENCE = frozenset({S.FAILED, S.EXPIRED, S.CANCELLED})
"""States a landing may still ask about: only money tied to this very attempt counts (a
page can take the money after its Cancel, and after the cancel's watch has ended)."""

IN_FLIGHT_LIMIT = 90.0
"""A start still CREATED after this long was cut short: longer than any provider call."""

CLOCK_SLACK = 5.0
"""Seconds a provider's clock may run ahead of ours: a charge stamped later than this
after its invoice was recorded paid came after it (see `Settlement._paid_after_credited`)."""

QUIET_ENDS = frozenset({S.EXPIRED, S.SUPERSEDED, S.PAID})
"""Ends whose next check means only that a kept return is still to be asked about (so
does a failed or cancelled end the provider confirmed; an unconfirmed one is watched,
see `_watched`)."""

LATE_RETURN_TRIES = 300
"""Checks that ask again about an ended attempt's return the provider could not answer
about: about a day, at the longest delay between checks."""

EARLIEST_PAID = datetime(2000, 1, 1, tzinfo=UTC)
"""No payment through invoicebot is older: a provider's paid time before it is a misread
(seconds taken for milliseconds), as is one more than a day ahead of our clock."""

EMAILED_WATCH = 90 * 24 * 3600.0
"""An e-mailed invoice may be paid weeks later (net-30 and worse): watched this long."""


def settlement_id(team_id: str, provider: str, invoice_ids: tuple[str, ...]) -> str:
    """Deterministic per invoice set, so every path to the same settlement names it alike."""
    key = "|".join([team_id, provider, *sorted(invoice_ids)])
    return "s" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _noted(note: str | None) -> dict[str, Any]:
    """A settlement's audit detail for what the provider said to act on beside it (the
    invoice paid at another amount); nothing when it said nothing."""
    return {"note": note} if note else {}


def _of_the_same(payment: Payment, invoice_ids: list[str], said: str) -> str:
    """ "invoice INV-1 of the same payment was …", `said` with {is} and {was} agreeing."""
    numbers = [
        number
        for key, number in zip(payment.invoice_ids, payment.invoice_numbers, strict=False)
        if key in invoice_ids
    ]
    one = len(numbers) == 1
    verbs = {"is": "is" if one else "are", "was": "was" if one else "were"}
    noun = "invoice" if one else "invoices"
    return f"{noun} {', '.join(numbers)} of the same payment {said.format(**verbs)}"


def _activity(payment: Payment) -> datetime:
    return payment.opened_at or payment.created_at


WATCHABLE = frozenset({S.FAILED, S.CANCELLED})
"""Ends that may rest on evidence that is not the provider's record of this attempt: a
failure judged by the invoice's last error, a cancel the payer's browser reported (the
provider's page can still take the money after its Back or Cancel button)."""


def _ended(payment: Payment) -> bool:
    """An attempt no poller asks about any more: only a return can still ask about it."""
    return payment.state not in LIVE and not _watched(payment)


def _watched(payment: Payment) -> bool:
    """An end concluded from ambiguous evidence, still asked about (see `apply`). A check
    due on an end the provider confirmed (a decline on the page) is only its kept return's
    (`_ask`): that end is not watched, and the invoice's word alone credits nothing to it."""
    return (
        payment.state in WATCHABLE and payment.unconfirmed_end and payment.next_check_at is not None
    )


class Settlement:
    def __init__(
        self,
        payments: Payments,
        connections: Connections,
        *,
        first_delay: float = 5.0,
        max_delay: float = 300.0,
        give_up_after: float = 24 * 3600.0,  # after the link expires: money may land late
    ) -> None:
        self.payments = payments
        self.connections = connections
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.give_up_after = give_up_after
        self.after_settled: list[Callable[[], None]] = []
        """Called after a settlement commits, e.g. to wake the outbox sender."""
        self.in_flight: set[str] = set()
        """Starts this process is making right now: never handed over as interrupted."""
        self._checks: SingleFlight[Payment | None] = SingleFlight()
        self._replays: dict[str, int] = {}  # payment id: kept returns asked with here

    @property
    def store(self) -> Store:
        return self.payments.store

    def schedule_first_check(self, payment_id: str, delay: float | None = None) -> None:
        self.store.update_payment(
            payment_id,
            next_check_at=time.time() + (self.first_delay if delay is None else delay),
            check_attempts=0,
        )

    def reconcile_interrupted(self, started_before: float) -> int:
        """Hand starts that were cut short (kill -9 mid-call) to the poller as UNKNOWN.

        Whether the provider acted on the call is not known; the poller asks. One that
        never produced a link and cannot have charged ends after that one question. An
        attempt out with the provider that has no check due gets one.
        """
        interrupted = [
            p for p in self.store.interrupted(started_before) if p.id not in self.in_flight
        ]
        for payment in interrupted:
            # The move and the payer's notice commit together: a stop between them
            # would leave the payment unknown and its payer reading "Asking…".
            with self.store.transaction():
                if not self.payments.force(
                    payment.id,
                    {S.CREATED},
                    S.UNKNOWN,
                    last_error="the start was interrupted before the provider's answer arrived",
                    next_check_at=time.time(),
                    check_attempts=0,
                ):
                    continue
                log.warning("payment %s was interrupted mid-start; checking it", payment.id)
                self.tell_in_doubt(payment.id)
        for payment in self.store.unscheduled():
            log.warning("payment %s had no check scheduled; checking it", payment.id)
            self.schedule_first_check(payment.id, delay=0)
        return len(interrupted)

    def _names_transactions(self, provider: str) -> bool:
        return self._capability(provider, "names_transactions")

    def _capability(self, provider: str, name: str) -> bool:
        """A provider's declared capability; False for one no longer installed."""
        try:
            return bool(getattr(self.connections.provider_class(provider).capabilities, name))
        except NotConnected:
            return False

    def paid_page_final(self, payment: Payment) -> bool:
        """Whether a return to a paid attempt's page can tell nothing more about it: its
        own transaction is known, or its provider's return names none. Otherwise (credited
        on the invoice's word) a later return may still name its own card charge."""
        return payment.receipt is not None or not self._names_transactions(payment.provider)

    def tell_in_doubt(self, payment_id: str) -> None:
        """Queue what the plugins say of an attempt now UNKNOWN (`payment_in_doubt`): its
        payer may still read "Asking…"."""
        doubtful = self.store.payment(payment_id)
        assert doubtful is not None
        try:
            with self.store.transaction():  # a failing plugin loses only its own
                self.payments.pm.hook.payment_in_doubt(payment=doubtful, outbox=self.store)
        except Exception:
            log.exception("a plugin failed in payment_in_doubt")

    async def check(
        self, payment: Payment, landing_params: dict[str, str] | None = None
    ) -> Payment:
        """Ask the provider, apply what it says, and return the payment as it is now.

        Only attempts whose outcome can still change are asked about (and, from a
        landing, a failed or expired one whose money the provider may tie to it).
        Identical checks in flight at once share one question to the provider.
        """
        replay = None if landing_params else self._replayed(payment)
        params = landing_params or replay or {}
        landed = bool(params)  # the provider's return said something about this page
        askable = CHECKED | (LATE_EVIDENCE if landed else frozenset())
        # A page opened before another payment settled its invoices can still be paid
        # (once: a second payment already told is all that can be said of it).
        second = (
            landed
            and payment.state is S.SUPERSEDED
            and payment.could_have_taken_money
            and payment.paid_at is None
        )
        # A page credited on the invoice's word alone (no transaction of its own: marked
        # paid at the provider by hand, say) can still take the card afterwards, which
        # only a provider whose return names the transaction can tell.
        own_late = (
            landed
            and payment.state is S.PAID
            and payment.receipt is None
            and payment.could_have_taken_money
            and self._names_transactions(payment.provider)
        )
        if not (payment.state in askable or _watched(payment) or second or own_late):
            if replay is not None or (_ended(payment) and payment.next_check_at is not None):
                # A kept return that can no longer change anything, or one that cannot be
                # read (its key is gone): no check is due for an attempt nothing can change.
                self.store.update_payment(payment.id, kept_return=None, next_check_at=None)
            return payment  # nothing can change it: no need to read it again
        asked = (payment.id, landed, tuple(sorted(params.items())))
        again = replay is not None
        current = await self._checks.run(asked, lambda: self._ask(payment, params, landed, again))
        assert current is not None
        return current

    async def _ask(
        self, payment: Payment, landing_params: dict[str, str], landed: bool, replayed: bool
    ) -> Payment | None:
        """The provider's word applied; the payment as it is now, read once for everyone
        who asked at the same time (a thousand payers landing at once).

        A return is kept from before the provider is asked until it has answered: it can
        be the only place the provider names the transaction (Payfirma's lookup id)."""
        quiet = _ended(payment)  # no poller asks about it: only its return can
        if landed:
            with self.store.transaction():
                self.store.keep_return(payment.id, landing_params)
                if quiet and not replayed:
                    # Nothing else asks about it: a stop mid-ask leaves it due, not lost.
                    self.schedule_first_check(payment.id)
        outcome = await self._ask_and_apply(payment, landing_params, landed, quiet)
        now = self.store.payment(payment.id)
        answered = outcome.status is not OutcomeStatus.UNKNOWN
        if landed and now is not None and not answered and now.state not in LIVE:
            self._ask_again_later(now, landing_params, replayed)
            now = self.store.payment(payment.id)
        elif landed and (answered or now is None or now.state not in LIVE):
            self.store.drop_return(payment.id, landing_params)
            ended_still = now is not None and (
                now.state in QUIET_ENDS or (quiet and now.state is payment.state)
            )
            if ended_still and now is not None and now.next_check_at is not None:
                self.store.update_payment(now.id, next_check_at=None)
                now = self.store.payment(payment.id)
        return now

    def _ask_again_later(
        self, payment: Payment, landing_params: dict[str, str], replayed: bool
    ) -> None:
        """A return for an attempt that had ended (given up on, superseded, failed) whose
        provider could not be asked just then: no poller asks about an ended attempt, so
        the return is kept and asked about again, for about a day, or late money (or a
        second payment) would go unsaid."""
        _, attempts = self.store.payment_schedule(payment.id)
        if not replayed:
            self.schedule_first_check(payment.id)
        elif attempts < LATE_RETURN_TRIES:
            if not _watched(payment):  # a watched end's check was scheduled by its watch
                self._schedule_next(payment)
        else:
            log.warning("payment %s: a late return could not be asked about; giving up", payment.id)
            # Told before the return is dropped: a stop in between gives up again on
            # the next round, and the notice's key keeps it to one.
            try:
                with self.store.transaction():
                    self.payments.pm.hook.payment_return_unanswered(
                        payment=payment, outbox=self.store, settled=self._settled(payment)
                    )
            except Exception:
                log.exception("a plugin failed in payment_return_unanswered")
            self.store.drop_return(payment.id, landing_params)
            if not _watched(payment):  # a watched end's own schedule ends its watch
                self.store.update_payment(payment.id, next_check_at=None)

    def _settled(self, payment: Payment) -> bool:
        """Whether all its invoices are settled: by it, or (a failed or expired attempt)
        since through another attempt or on the invoice's word. One still open may be
        paid again, and the page may have paid it: not a second payment alone. Superseded
        says only that one of them was paid through another attempt."""
        if payment.state is S.PAID:
            return True
        team, provider = payment.team_id, payment.provider
        return all(
            self.store.settlement_of(team, provider, [invoice]) is not None
            for invoice in payment.invoice_ids
        )

    def _replayed(self, payment: Payment) -> dict[str, str] | None:
        """A return whose ask a stop cut short, to ask about again as if just landed:
        while the provider's reference for the payment is still unknown (the return may
        be the only place it is named), and a few times at most in a process, so that a
        return the provider keeps failing to answer about does not stand in for the
        invoice's own word for ever. An ended attempt's return is asked about on its own
        schedule (`_ask_again_later`): no other check asks about that attempt."""
        # Any end, watched or not: its reference may be an earlier transaction's (the
        # decline before a retry on the same page), and only the return names the retry.
        ended = payment.state not in LIVE
        if payment.provider_reference is not None and not ended:
            return None
        kept = self.store.kept_return(payment.id)
        if kept is None:
            return None
        if ended:  # only its return can still ask; its schedule bounds the tries
            return kept
        tries = self._replays.get(payment.id, 0)
        if tries >= REPLAYS:
            return None
        if len(self._replays) >= 10_000:
            self._replays.clear()
        self._replays[payment.id] = tries + 1
        return kept

    async def _ask_and_apply(
        self, payment: Payment, landing_params: dict[str, str], landed: bool, ended: bool
    ) -> PaymentOutcome:
        try:
            provider = self.connections.get(payment.team_id, payment.provider)
            outcome = await provider.check_payment(
                PaymentCheck(
                    invoice_ids=payment.invoice_ids,
                    amount=payment.amount,
                    reference=payment.id,
                    provider_reference=payment.provider_reference,
                    landing_params=landing_params,
                    token_hash=payment.token_hash,
                    started_at=payment.created_at,
                )
            )
        except ProviderError as error:
            log.warning("could not check payment %s: %s", payment.id, error.message)
            outcome = PaymentOutcome(status=OutcomeStatus.UNKNOWN, message=error.message)
        except Exception:
            log.exception("provider %s failed while checking a payment", payment.provider)
            outcome = PaymentOutcome(status=OutcomeStatus.UNKNOWN, message="provider error")
        self.apply(payment, outcome, landed=landed, ended=ended)
        return outcome

    def apply(
        self,
        payment: Payment,
        outcome: PaymentOutcome,
        *,
        landed: bool = False,
        ended: bool = False,
    ) -> None:
        """`landed`: asked as the payer's browser came back from this attempt's page, so
        a failure the provider reports then is this attempt's. `ended`: no watch was on
        it before this ask (the check due now is only its return's, see `_ask`): only
        money the provider ties to it counts, not the invoice's word."""
        current = self.store.payment(payment.id) or payment
        outcome = self._plausible(current, outcome)
        if outcome.provider_reference and outcome.provider_reference != current.provider_reference:
            # The one trace of the money may be what the payer's browser brought back; a
            # later return (one that passed the plugin's checks) replaces an earlier one.
            self.store.update_payment(current.id, provider_reference=outcome.provider_reference)
            current = current.model_copy(update={"provider_reference": outcome.provider_reference})
        if current.state is S.SUPERSEDED:
            if outcome.status is OutcomeStatus.PAID and outcome.attributed:
                self._paid_twice(current, outcome)
            return
        if current.state is S.PAID:
            if outcome.status is OutcomeStatus.PAID and outcome.attributed:
                self._paid_after_credited(current, outcome)
            return
        if _watched(current) and not ended:
            self._watch_failed(current, outcome)
            return
        if current.state not in LIVE:
            late_paid = outcome.status is OutcomeStatus.PAID and outcome.attributed
            if not (late_paid and current.state in LATE_EVIDENCE):
                return
        if outcome.status is OutcomeStatus.PAID:
            self.settle(current, outcome)
        elif (
            outcome.status is OutcomeStatus.FAILED
            and not outcome.attributed
            and not landed
            and not current.could_have_taken_money
        ):
            # Read from the invoice, for a link nobody has opened: it is an earlier
            # attempt's failure (a card declined before), and this link can still be paid.
            self._not_yet(current, outcome)
        elif outcome.status is OutcomeStatus.FAILED:
            # A failure the provider does not tie to this attempt (read from the
            # invoice) may be another card's: an attempt that can have taken money (a
            # charge, a page the payer opened and may still pay on) stays watched.
            ambiguous = not outcome.attributed and (
                current.state is S.UNKNOWN
                or isinstance(current.start, Captured)
                or (current.could_have_taken_money and not landed)
            )
            self._end(current, S.FAILED, outcome.message, keep_watching=ambiguous)
        elif outcome.status is OutcomeStatus.CANCELLED:
            self._end(current, S.CANCELLED, outcome.message, keep_watching=not outcome.attributed)
        else:
            self._not_yet(current, outcome)

    def _plausible(self, payment: Payment, outcome: PaymentOutcome) -> PaymentOutcome:
        """The outcome with its paid time in UTC, or one that cannot be true (see
        `EARLIEST_PAID`) taken as unknown: the payment is then recorded when invoicebot
        learned of it, not in 1970, outside every export's period, and its note says what
        the provider gave."""
        when = outcome.paid_at
        if when is None:
            return outcome
        try:
            utc = when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)
        except OverflowError:  # year 1 east of UTC: before the calendar begins in UTC
            utc = None
        if utc is not None and EARLIEST_PAID <= utc <= datetime.now(UTC) + timedelta(days=1):
            # In UTC from here on: it is compared with times the store gives back in UTC.
            return outcome if when.tzinfo is UTC else outcome.model_copy(update={"paid_at": utc})
        log.warning("payment %s: the provider's paid time %s is not plausible", payment.id, when)
        shown = f"{utc:%Y-%m-%d %H:%M} UTC" if utc is not None else when.isoformat()
        said = (
            f"{self._title(payment.provider)} gave {shown} as the time it was paid, which "
            "cannot be right: recorded when invoicebot learned of it instead."
        )
        note = f"{outcome.note} {said}" if outcome.note else said
        return outcome.model_copy(update={"paid_at": None, "note": note})

    def _title(self, provider: str) -> str:
        try:
            return self.connections.provider_class(provider).title
        except NotConnected:
            return provider

    def _watch_failed(self, payment: Payment, outcome: PaymentOutcome) -> None:
        """A failure read from evidence that may not be this attempt's (a charge whose
        answer was lost, judged by the invoice's last error) is asked about again: a late
        "paid" still settles it. The watch ends with the usual give-up window."""
        if outcome.status is OutcomeStatus.PAID:
            self.settle(payment, outcome)
            return
        if time.time() > self.store.token_expiry(payment.id) + self.give_up_after:
            # Some of its invoices listed paid by now: recorded, as when a live one ends.
            some_paid = outcome.status is OutcomeStatus.PENDING and outcome.paid_invoices
            if some_paid and self._end_in_part(payment, outcome):
                return
            self.store.update_payment(payment.id, next_check_at=None)
            return
        self._schedule_next(payment)

    def _not_yet(self, payment: Payment, outcome: PaymentOutcome) -> None:
        """PENDING or UNKNOWN: ask again later, unless nothing can come of this attempt."""
        expires_at = self.store.token_expiry(payment.id)
        now = time.time()
        if payment.start is None and not payment.could_have_taken_money:
            self._end(
                payment,
                S.EXPIRED,
                "the start was interrupted before a payment link was made; nothing can be "
                "paid through it",
            )
        elif (
            payment.state is S.LINK_ISSUED
            and isinstance(payment.start, Redirect | FormPost)
            and payment.opened_at is None
            and now > expires_at
        ):
            # Only from LINK_ISSUED: another process's pay page may open it this moment,
            # and its provider page may then be taking the money (asked about as scheduled).
            self._end(
                payment, S.EXPIRED, "the payment link expired unused", sources={S.LINK_ISSUED}
            )
        elif now > expires_at + (
            EMAILED_WATCH if isinstance(payment.start, Emailed) else self.give_up_after
        ):
            # A page its payer reached may have taken money: unless the provider's last
            # word was that its invoice is unpaid (not merely still waiting: a payment it
            # has not booked yet is money), and the invoice would show such money.
            reached = (
                isinstance(payment.start, Redirect | FormPost) and payment.could_have_taken_money
            )
            unsaid = reached and not (
                outcome.status is OutcomeStatus.PENDING
                and outcome.invoice_unpaid
                and self._capability(payment.provider, "invoice_shows_page_payments")
            )
            some_paid = outcome.status is OutcomeStatus.PENDING and outcome.paid_invoices
            if some_paid and self._end_in_part(payment, outcome):
                return
            self._end(
                payment,
                S.EXPIRED,
                f"the provider never confirmed this payment ({outcome.message or 'no answer'})",
                unconfirmed=unsaid,
            )
        else:
            self._schedule_next(payment)

    def _end_in_part(self, payment: Payment, outcome: PaymentOutcome) -> bool:
        """A watch over with the provider showing only some of its invoices paid: those
        are settled on the invoice's word (credited to this attempt, confirmed to
        #billing), and the attempt ends as never confirmed for the rest alone, the end
        naming what became of the paid ones. One settled meanwhile through another
        attempt, or that another attempt still asked about may have paid, is not
        credited here: the end says so of it. False (nothing done) when the paid ones
        cannot be told apart (no line per invoice) or this attempt cannot have paid."""
        paid_ids = [key for key in payment.invoice_ids if key in outcome.paid_invoices]
        rest_ids = [key for key in payment.invoice_ids if key not in outcome.paid_invoices]
        if not paid_ids or not rest_ids or payment.only(paid_ids) is None:
            return False
        if payment.only(rest_ids) is None:
            return False
        if not payment.could_have_taken_money:
            return False  # the invoice's word credits no attempt that cannot have paid
        store = self.store
        team, provider = payment.team_id, payment.provider
        paid_at = utc_text(outcome.paid_at)
        with store.claim():
            elsewhere = [key for key in paid_ids if store.settlement_of(team, provider, [key])]
            # Another attempt that may have paid one is still asked about: its own check
            # credits that invoice as `settle` chooses, not this one on the invoice's word.
            rivalled = [
                key
                for key in paid_ids
                if key not in elsewhere
                and any(
                    other.id != payment.id
                    and (other.state in LIVE or _watched(other))
                    and other.could_have_taken_money
                    for other in store.payments_for_invoices(team, provider, [key])
                )
            ]
            own = [key for key in paid_ids if key not in elsewhere and key not in rivalled]
            reason = "; ".join(
                _of_the_same(payment, keys, said)
                for keys, said in (
                    (own, "{was} confirmed paid, and {is} recorded paid"),
                    (elsewhere, "{was} recorded paid through another payment"),
                    (rivalled, "{is} listed paid, perhaps through another payment still checked"),
                )
                if keys
            )
            # A watched cancel or failure too: the browser's word, or an earlier error,
            # is no end for money the provider lists.
            current = store.payment(payment.id)
            sources = set(LIVE) | ({current.state} if current and _watched(current) else set())
            if not store.compare_and_set_state(
                payment.id, sources, S.EXPIRED, last_error=reason, next_check_at=None
            ):
                return True  # settled or ended meanwhile: that end stands
            store.audit(f"payment.{S.EXPIRED.value}", subject=payment.id, last_error=reason)
            ended = store.payment(payment.id)
            assert ended is not None
            part = payment.only(own)
            if part is not None:
                # Its payer hears of it in the end told just below, which names it; told
                # apart, its own message would be replaced at once, and would take the
                # payer's one notice of a settlement (see `_settle_rest`).
                self._credit_part(payment, part.model_copy(update={"response_url": None}), paid_at)
            narrowed = ended.only(rest_ids)
            assert narrowed is not None
            try:
                with store.transaction():
                    self.payments.pm.hook.payment_ended(payment=narrowed, outbox=store)
            except Exception:
                log.exception("a plugin failed in payment_ended")
        for wake in self.after_settled:
            wake()
        return True

    def _settle_rest(self, payment: Payment, outcome: PaymentOutcome) -> bool:
        """Its own money confirmed for an attempt the end of whose watch credited it with
        some of its invoices (`_end_in_part`): the others, told as never confirmed, are
        settled to it now and confirmed once; a replay of that money does nothing. False
        (nothing done) for any other attempt: `settle` decides."""
        if not outcome.attributed or payment.state is not S.EXPIRED:
            return False
        store = self.store
        team, provider = payment.team_id, payment.provider
        with store.claim():
            current = store.payment(payment.id) or payment
            ids = list(current.invoice_ids)
            if current.state is not S.EXPIRED or store.credited_with(team, provider, ids) != {
                current.id
            }:
                return False
            rest = [key for key in ids if not store.settlement_of(team, provider, [key])]
            part = current.only(rest) if rest else None
            if part is None:
                if rest:
                    log.warning(
                        "payment %s, credited with some of its invoices, was confirmed for "
                        "all of them: the rest cannot be told apart and are not recorded paid",
                        current.id,
                    )
                return True
            receipt = current.receipt or outcome.reference
            if receipt != current.receipt:
                store.update_payment(current.id, receipt=receipt)
            part = part.model_copy(update={"receipt": receipt})
            self._credit_part(current, part, utc_text(outcome.paid_at), evidence="attempt")
        for wake in self.after_settled:
            wake()
        return True

    def _credit_part(
        self, payment: Payment, part: Payment, paid_at: str, *, evidence: str = "invoice"
    ) -> None:
        """Settle `part` (some of `payment`'s invoices) on the invoice's word (or, with
        `evidence="attempt"`, on the attempt's own money), credited to `payment`, and
        confirm it (inside the caller's claim)."""
        store = self.store
        key = settlement_id(payment.team_id, payment.provider, part.invoice_ids)
        store.add_settlement(key, part, evidence=evidence, settled_at=paid_at)
        credited = part.model_copy(
            update={
                "state": S.PAID,
                "paid_at": datetime.fromisoformat(paid_at),
                "settlement_id": key,
                "last_error": None,
            }
        )
        others = store.payments_for_invoices(
            payment.team_id, payment.provider, list(part.invoice_ids)
        )
        superseded = self._supersede(
            [p for p in others if p.id != payment.id and p.state in LIVE], credited, key
        )
        store.audit(
            "invoice.settled",
            team_id=payment.team_id,
            user_id=payment.user_id,
            subject=key,
            payment=payment.id,
            invoices=list(part.invoice_numbers),
            amount=part.amount.format(),
            evidence=evidence,
            superseded=[p.id for p in superseded],
        )
        self._announce(credited, superseded)

    def _schedule_next(self, payment: Payment) -> None:
        _, attempts = self.store.payment_schedule(payment.id)
        delay = min(self.max_delay, self.first_delay * 2**attempts)
        self.store.update_payment(
            payment.id, next_check_at=time.time() + delay, check_attempts=attempts + 1
        )

    def end_unopened(self, payment: Payment, reason: str) -> bool:
        """Cancel a link nobody opened (see `Checkout.withdraw`); False if it was opened,
        paid or ended meanwhile."""
        return self._end(payment, S.CANCELLED, reason, sources={S.LINK_ISSUED})

    def _end(
        self,
        payment: Payment,
        state: PaymentState,
        reason: str,
        *,
        keep_watching: bool = False,
        sources: set[PaymentState] | None = None,
        unconfirmed: bool = False,
    ) -> bool:
        """End a live attempt without money; tell its payer where they are waiting.
        `unconfirmed`: an expiry whose money the provider never ruled out (see `_not_yet`)."""
        watch = time.time() + self.first_delay if keep_watching else None
        with self.store.transaction():
            if not self.payments.force(
                payment.id,
                sources or set(LIVE),
                state,
                last_error=reason,
                next_check_at=watch,
                unconfirmed_end=int(keep_watching),
            ):
                return False
            ended = self.store.payment(payment.id)
            assert ended is not None
            # An unused link, or a page whose invoice stayed unpaid, just expires; a
            # charge, or a page that may have taken money, is told (#billing reads it as
            # never confirmed).
            charged = isinstance(payment.start, Captured)
            at_stake = (
                unconfirmed
                and payment.could_have_taken_money
                and not isinstance(payment.start, Emailed)
            )
            if payment.state is S.UNKNOWN or state is not S.EXPIRED or charged or at_stake:
                try:
                    with self.store.transaction():
                        self.payments.pm.hook.payment_ended(payment=ended, outbox=self.store)
                except Exception:
                    log.exception("a plugin failed in payment_ended")
        for wake in self.after_settled:
            wake()
        return True

    def settle(self, payment: Payment, outcome: PaymentOutcome) -> Payment | None:
        """Settle `payment`'s invoices once; return the attempt credited (None if none)."""
        if self._settle_rest(payment, outcome):
            return None
        store = self.store
        paid_at = utc_text(outcome.paid_at)
        key = settlement_id(payment.team_id, payment.provider, payment.invoice_ids)
        with store.claim():
            current = store.payment(payment.id) or payment
            invoice_ids = list(current.invoice_ids)
            others = store.payments_for_invoices(current.team_id, current.provider, invoice_ids)
            if store.settlement_of(current.team_id, current.provider, invoice_ids):
                holders = store.credited_with(current.team_id, current.provider, invoice_ids)
                if outcome.attributed and current.state is S.EXPIRED and holders == {current.id}:
                    # Its own money, some of whose invoices the end of its watch credited
                    # to it (`_end_in_part`), settled in part as `_settle_rest` read it
                    # moments ago: no second payment to refund.
                    return None
                self._supersede([p for p in others if p.state in LIVE], current, None)
                if outcome.attributed and current.state in LATE_EVIDENCE:
                    store.compare_and_set_state(current.id, set(LATE_EVIDENCE), S.SUPERSEDED)
                # Superseded too: another process may have settled the invoices (and
                # superseded this attempt) after `apply` read it live, and no check asks
                # about a superseded attempt again unless its page is reloaded.
                if outcome.attributed and current.state in LIVE | LATE_EVIDENCE | {S.SUPERSEDED}:
                    self._record_paid_twice(current.id, outcome)  # its own money, too late
                return None
            credited = self._credited(current, outcome, others)
            if credited is None:
                log.warning(
                    "%s says invoice(s) %s are paid, through none of invoicebot's attempts",
                    current.provider,
                    ", ".join(current.invoice_numbers),
                )
                self._supersede([current] if current.state in LIVE else [], current, None)
                return None
            sources = set(LIVE) | (LATE_EVIDENCE if outcome.attributed else set())
            if _watched(credited):
                sources.add(credited.state)
            own = credited.id == current.id
            receipt = outcome.reference if own else None
            # A note read from the invoice (not from the checked attempt's own money) is
            # about the invoice, and goes with whichever attempt is credited with it.
            note = outcome.note if own or not outcome.attributed else None
            if note and not own and credited.amount != current.amount:
                # The provider compared the invoice with the attempt asked about (paid at
                # another amount than it was sent for): said of that one, not of this.
                note = f"About the attempt for {current.amount.format()}: {note}"
            if not store.compare_and_set_state(
                credited.id,
                sources,
                S.PAID,
                paid_at=paid_at,
                settlement_id=key,
                receipt=receipt,
                last_error=note,  # a paid one's error is its note
            ):
                return None
            store.add_settlement(
                key,
                credited,
                evidence="attempt" if outcome.attributed else "invoice",
                settled_at=paid_at,
            )
            paid = store.payment(credited.id)
            assert paid is not None
            store.audit("payment.paid", team_id=paid.team_id, subject=paid.id, settlement=key)
            unwatched = []  # their payers were told invoicebot keeps checking: no longer
            for watched in others:
                if watched.id != credited.id and _watched(watched):
                    store.update_payment(watched.id, next_check_at=None)
                    unwatched.append(store.payment(watched.id) or watched)
            superseded = self._supersede(
                [p for p in others if p.id != credited.id and p.state in LIVE], paid, key
            )
            superseded += unwatched
            store.audit(
                "invoice.settled",
                team_id=paid.team_id,
                user_id=paid.user_id,
                subject=key,
                payment=paid.id,
                invoices=list(paid.invoice_numbers),
                amount=paid.amount.format(),
                evidence="attempt" if outcome.attributed else "invoice",
                superseded=[p.id for p in superseded],
                **_noted(note),
            )
            self._announce(paid, superseded)
        for wake in self.after_settled:
            wake()
        return paid

    def _paid_twice(self, payment: Payment, outcome: PaymentOutcome) -> None:
        """Money the provider ties to an attempt whose invoices were settled through
        another: recorded on the attempt (it stays superseded, the settlement stands) and
        told once, to be checked and refunded (see `_record_paid_twice`)."""
        with self.store.claim():
            self._record_paid_twice(payment.id, outcome)
        for wake in self.after_settled:
            wake()

    def _paid_after_credited(self, payment: Payment, outcome: PaymentOutcome) -> None:
        """Money the provider ties to an attempt that was credited on the invoice's word
        alone (no transaction of its own). It may be that very money, seen on the invoice
        before the return came, or a second payment (the invoice was marked paid by other
        means while the page stayed open): its reference is kept, and a charge made after
        the invoice was recorded paid is told as something to check, never silently."""
        with self.store.claim():
            current = self.store.payment(payment.id)
            if current is None or current.state is not S.PAID or current.receipt is not None:
                return  # its own transaction is known already: told, or the settlement's
            reference = outcome.reference
            if not reference:
                return
            if self._anothers(current, reference):
                return
            self.store.update_payment(current.id, receipt=reference)
            settled, charged = current.paid_at, outcome.paid_at
            if settled and charged and charged <= settled + timedelta(seconds=CLOCK_SLACK):
                # Charged before the invoice was seen paid: the money the invoice showed.
                log.info("payment %s: its own transaction %s adopted", current.id, reference)
                return
            twice = self.store.payment(current.id)
            assert twice is not None
            log.warning(
                "payment %s, credited on the invoice's word, took money of its own (%s)",
                twice.id,
                reference,
            )
            self._tell_paid_twice(twice, certain=False)
        for wake in self.after_settled:
            wake()

    def _record_paid_twice(self, payment_id: str, outcome: PaymentOutcome) -> None:
        """Inside the caller's claim."""
        current = self.store.payment(payment_id)
        if current is None or current.state is not S.SUPERSEDED or current.paid_at:
            return  # told already
        reference = outcome.reference
        if reference and self._anothers(current, reference):
            return
        others = [
            other
            for other in self.store.payments_for_invoices(
                current.team_id, current.provider, list(current.invoice_ids)
            )
            if other.id != current.id
        ]
        # Certain only when both payments are known transactions: a settlement made on
        # the invoice's word alone (no receipt) may be this very money, credited to
        # another attempt, so that is said as something to check, not to refund.
        credited = next((o for o in others if o.state is S.PAID), None)
        certain = bool(reference) and credited is not None and credited.receipt is not None
        paid_at = utc_text(outcome.paid_at)
        self.store.update_payment(
            current.id, paid_at=paid_at, receipt=outcome.reference or current.receipt
        )
        twice = self.store.payment(current.id)
        assert twice is not None
        log.warning("payment %s took money after its invoices were settled", twice.id)
        self._tell_paid_twice(twice, certain=certain)

    def _anothers(self, payment: Payment, reference: str) -> bool:
        """Whether `reference` is another attempt's own transaction (replayed on this
        one's return): no news about this one."""
        others = self.store.payments_for_invoices(
            payment.team_id, payment.provider, list(payment.invoice_ids)
        )
        known = {
            mark
            for other in others
            if other.id != payment.id
            for mark in (other.receipt, other.provider_reference)
            if mark
        }
        if reference not in known:
            return False
        log.warning(
            "payment %s: a paid answer naming another attempt's transaction %s; ignored",
            payment.id,
            reference,
        )
        return True

    def _tell_paid_twice(self, twice: Payment, *, certain: bool) -> None:
        """Audit a second payment and queue what the plugins say of it (inside a claim)."""
        self.store.audit(
            "payment.paid_twice",
            team_id=twice.team_id,
            user_id=twice.user_id,
            subject=twice.id,
            amount=twice.amount.format(),
            reference=twice.receipt,
            certain=certain,
        )
        for name, caller in each_plugin(self.payments.pm, "payment_paid_twice"):
            try:
                with self.store.transaction():
                    caller(payment=twice, outbox=self.store, certain=certain)
            except Exception:
                log.exception("plugin %s failed in payment_paid_twice", name)

    def _credited(
        self, checked: Payment, outcome: PaymentOutcome, attempts: list[Payment]
    ) -> Payment | None:
        # A watched cancel too: the provider's page took the money after its Cancel, and
        # a newer attempt (a link made since) must not be credited with it.
        if outcome.attributed and (
            checked.state in LIVE or checked.state in LATE_EVIDENCE or _watched(checked)
        ):
            return checked
        same = [
            p
            for p in attempts
            if set(p.invoice_ids) == set(checked.invoice_ids)
            and (p.state in LIVE or _watched(p))
            and p.could_have_taken_money
        ]
        return max(same, key=_activity, default=None)

    def _supersede(
        self, attempts: list[Payment], winner: Payment, key: str | None
    ) -> list[Payment]:
        reason = (
            f"the invoice was paid through payment {winner.id}"
            if key
            else "the provider shows the invoice paid, not through this attempt"
        )
        ended = []
        for attempt in attempts:
            if self.store.compare_and_set_state(
                attempt.id, set(LIVE), S.SUPERSEDED, last_error=reason
            ):
                self.store.audit(
                    "payment.superseded",
                    team_id=attempt.team_id,
                    user_id=attempt.user_id,
                    subject=attempt.id,
                    settlement=key,
                    credited=winner.id if key else None,
                )
                ended.append(self.store.payment(attempt.id) or attempt)
        return ended

    def _announce(self, paid: Payment, superseded: list[Payment]) -> None:
        """The plugins enqueue their messages inside the settling transaction.

        Each plugin runs in a savepoint of its own: one that fails is logged and rolled
        back alone, and the settlement and the other plugins' messages still commit.
        """
        for name, caller in each_plugin(self.payments.pm, "payment_confirmed"):
            try:
                with self.store.transaction():
                    caller(payment=paid, outbox=self.store, superseded=superseded)
            except Exception:
                log.exception("plugin %s failed in payment_confirmed", name)
