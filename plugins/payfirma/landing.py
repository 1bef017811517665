"""Judging a payment: what the payer's browser brought back, checked against Payfirma.

The HPP return carries `result`, `lookup_id` and `state` (the documents show no
`transaction_id` or `custom_id` on it, though one named is checked); all of it can be
typed by anyone. Only a transaction looked up at Payfirma,
approved, for this invoice and for exactly this amount makes a payment paid; a return
that does not match is logged and treated as if it never came.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.models import InvoiceStatus, OutcomeStatus, PaymentCheck, PaymentOutcome
from bot.provider import InvoiceNotFound, ProviderError
from plugins.payfirma import convert, errors, listing, wire
from plugins.payfirma.api import PayfirmaApi

log = logging.getLogger(__name__)

DECLINED = frozenset({"DECLINED", "FAILED", "ERROR"})
CHARGES = frozenset({"SALE", "CAPTURE"})
"""Transaction types that take the money; Payfirma documents none for the page, so an
approved one of any other named type (an authorization, a refund) pays nothing."""
CANCELLED = frozenset({"CANCELED", "CANCELLED"})
CLOCK_SLACK = timedelta(minutes=10)
"""How far behind ours Payfirma's clock may run before a transaction stamped earlier than
an attempt began is taken as an earlier attempt's. Servers keep time to a second or so;
ten minutes is far beyond that, and guessing short costs little: only a decline, a cancel
or a pending answer is set aside by its time (leaving the attempt waiting, not failed),
never an approved one, so money is never hidden by it."""
CANCELLED_NOTE = (
    "Payfirma lists the invoice as cancelled: refund the card payment in PayHQ, or restore "
    "the invoice and mark it paid."
)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def state_problem(params: Mapping[str, str], expected: str | None) -> str | None:
    """The return's `state` must be the token we sent, when this process still knows it.
    Payfirma sends back the `state` it was given, so a return without one is not its
    return for this payment: another site sent the browser (and our cookie) there."""
    said = params.get("state")
    if expected is None or (said is None and not params):
        return None
    if said is None:
        return "it carries no state, as Payfirma's return for this payment would"
    if hmac.compare_digest(digest(said), expected):
        return None
    return "its state is not the pay-link token sent with this payment"


def lookup_problem(lookup_id: str) -> str | None:
    """A `lookup_id` that, put after the lookup path, names another of Payfirma's
    resources (`..` its transaction list) instead of a transaction: no return's."""
    if lookup_id in (".", ".."):
        return f"its lookup_id {lookup_id!r} is a path step, not a transaction"
    return None


def mismatch(
    tx: wire.Transaction, check: PaymentCheck, invoice_id: str, params: Mapping[str, str]
) -> str | None:
    """Why this transaction cannot be the one paying this payment, or None if it can."""
    if str(tx.custom_id or "") != invoice_id:
        return f"transaction {tx.lookup_id} is for custom_id {tx.custom_id!r}, not {invoice_id}"
    if params.get("custom_id", invoice_id) != invoice_id:
        return f"the return names custom_id {params['custom_id']!r}, not {invoice_id}"
    said = params.get("transaction_id")
    if said and tx.id is not None and said != str(tx.id):
        return f"the return names transaction {said}, the lookup is transaction {tx.id}"
    with errors.reading("transaction lookup"):
        charged = convert.money(tx.amount, tx.currency.strip().upper())
    if charged != check.amount:
        return f"transaction {tx.lookup_id} is for {charged}, the payment is {check.amount}"
    return earlier(tx, check)


def earlier(tx: wire.Transaction, check: PaymentCheck) -> str | None:
    """Why a transaction that is not approved was an earlier attempt's: Payfirma stamped
    it before this attempt began. Whoever holds the customer's link holds its `state`,
    and could bring back an old decline for the same invoice and amount to fail a page
    that can still take the card. An approved one is never set aside here: a clock
    behind ours must not hide money taken for this invoice. A time that cannot be read,
    or ISO text that names no zone (it could be hours off), sets nothing aside."""
    if check.started_at is None or tx.transaction_result.strip().upper() == "APPROVED":
        return None
    stamp = tx.transaction_time
    if isinstance(stamp, str) and not (stamp.strip().isascii() and stamp.strip().isdigit()):
        try:
            if datetime.fromisoformat(stamp.strip()).tzinfo is None:
                return None
        except ValueError:
            return None
    try:
        when = convert.moment(stamp)
    except (ValueError, ArithmeticError):
        return None
    began = check.started_at
    began = began if began.tzinfo else began.replace(tzinfo=UTC)
    if when is None or when >= began - CLOCK_SLACK:
        return None
    return (
        f"transaction {tx.lookup_id} was made at {when.isoformat()}, before this payment "
        f"began at {began.isoformat()}"
    )


def short(tx: wire.Transaction, invoice: wire.Invoice) -> str | None:
    """Why an approved charge is not what an invoice Payfirma still lists as open asks
    now (its amount changed after the page was made): less, and the rest is to collect,
    or more, and the difference is to refund. None when the invoice's amount cannot be
    read: that alone does not hide a payment."""
    if convert.status_of(invoice) is not InvoiceStatus.OPEN:
        return None
    try:
        charged = convert.money(tx.amount, tx.currency.strip().upper())
        due = convert.money(invoice.total, invoice.currency.strip().upper())
    except (ValueError, TypeError, AttributeError):
        return None
    if due.currency == charged.currency and due.amount == charged.amount:
        return None
    said = (
        f"Payfirma approved a card payment of {charged} for invoice {invoice.invoice_id}, "
        f"but the invoice asks for {due} now"
    )
    if due.currency == charged.currency and due.amount < charged.amount:
        return (
            f"{said}: refund the {charged - due} paid over in PayHQ, and mark the invoice "
            "paid there."
        )
    return f"{said} and Payfirma lists it as unpaid. Collect the rest in PayHQ."


def paid_otherwise(invoice: wire.Invoice, check: PaymentCheck) -> str | None:
    """Why an invoice Payfirma lists as paid may not have been paid the payment's amount:
    it asks another now (changed in PayHQ after it was e-mailed or linked), and with no
    transaction of ours only the invoice says what moved. None when they agree, or when
    its amount cannot be read."""
    try:
        total = convert.money(invoice.total, invoice.currency.strip().upper())
    except (ValueError, TypeError, AttributeError):
        return None
    if total.currency == check.amount.currency and total.amount == check.amount.amount:
        return None
    return (
        f"Payfirma lists invoice {invoice.invoice_id} paid at {total}, not the "
        f"{check.amount} it was sent for: check in PayHQ what was received."
    )


def outcome(tx: wire.Transaction, invoice: wire.Invoice | str) -> PaymentOutcome:
    """What the transaction says; the invoice is read for its status, and for its amount
    only to say when a charge is for less than it asks now (a page opened before the
    amount changed). Money taken is never left unsaid: the payment is paid for what was
    charged, and the shortfall is logged for whoever reconciles PayHQ. An invoice that
    could not be read just now comes as its id: the transaction alone decides then."""
    result = tx.transaction_result.strip().upper()
    kind = (tx.transaction_type or "").strip().upper()
    if result == "APPROVED" and kind and kind not in CHARGES:
        return not_a_charge(tx, invoice, kind)
    if result == "APPROVED":
        if isinstance(invoice, str):
            key, problem = invoice, None
            note: str | None = (
                "Payfirma's invoice could not be read just now; check in PayHQ that it is "
                "marked paid."
            )
        else:
            key, problem = str(invoice.invoice_id), short(tx, invoice)
            note = {
                InvoiceStatus.PAID: None,
                InvoiceStatus.VOID: CANCELLED_NOTE,
            }.get(
                convert.status_of(invoice),
                "Payfirma still lists the invoice as unpaid; mark it paid in PayHQ.",
            )
        if problem:
            log.warning("Payfirma transaction %s is not the amount due: %s", tx.lookup_id, problem)
            note = problem
        booked = f" {note}" if note else ""
        return PaymentOutcome(
            status=OutcomeStatus.PAID,
            message=f"Payfirma approved the card payment for invoice {key}.{booked}",
            paid_at=taken_at(tx),
            reference=str(tx.id) if tx.id is not None else tx.lookup_id,
            attributed=True,
            note=note,
        )
    if result in DECLINED:
        reason = (tx.message or "").strip().rstrip(".") or "no reason given"
        # "Payfirma declined the card: Card declined" says it twice.
        lead = "Payfirma" if "declin" in reason.lower() else "Payfirma declined the card"
        return PaymentOutcome(
            status=OutcomeStatus.FAILED,
            message=f"{lead}: {reason}. Nothing was charged.",
        )
    if result in CANCELLED:
        return cancelled()
    return PaymentOutcome(
        status=OutcomeStatus.PENDING,
        message=f"Payfirma reports the payment as {result.lower() or 'unknown'}; still waiting.",
    )


def taken_at(tx: wire.Transaction) -> datetime:
    """When Payfirma took the card: epoch milliseconds, or ISO 8601 as its invoices show
    times too. The time is only when: one in any other form is logged, and the payment is
    recorded at the moment it was seen, never left unread."""
    try:
        when = convert.moment(tx.transaction_time)
    except (ValueError, ArithmeticError) as error:
        log.warning(
            "Payfirma transaction %s has an unreadable transaction_time (%s); recording now",
            tx.lookup_id,
            error,
        )
        when = None
    return when or datetime.now(UTC)


def not_a_charge(tx: wire.Transaction, invoice: wire.Invoice | str, kind: str) -> PaymentOutcome:
    """An approved transaction that is not a sale: only the invoice can say paid now."""
    log.warning(
        "Payfirma transaction %s has transaction type %r, not a sale; not treating it as paid",
        tx.lookup_id,
        tx.transaction_type,
    )
    key = invoice if isinstance(invoice, str) else str(invoice.invoice_id)
    if not isinstance(invoice, str) and convert.status_of(invoice) is InvoiceStatus.PAID:
        return PaymentOutcome(
            status=OutcomeStatus.PAID, message=f"Payfirma shows invoice {key} as paid."
        )
    return PaymentOutcome(
        status=OutcomeStatus.UNKNOWN,
        message=f"Payfirma approved a {kind} transaction for invoice {key}, which is not a "
        "card payment taken; waiting for Payfirma to show the invoice paid.",
    )


def cancelled() -> PaymentOutcome:
    return PaymentOutcome(
        status=OutcomeStatus.CANCELLED,
        message="The payer left Payfirma's payment page without paying.",
    )


UNLOOKED_NOTE = (
    "The card payment Payfirma's page reported could not be looked up: check in PayHQ that "
    "the invoice was paid once."
)


def unlooked(lookup_id: str, check: PaymentCheck, invoice_id: str, error: ProviderError) -> str:
    """Logged, and what a person reads: a lookup that answered not found (Payfirma's lookup
    may lag behind the return), was refused, or failed."""
    if isinstance(error, InvoiceNotFound):
        log.warning(
            "Payfirma has no transaction %r for payment %s (yet); not treating it as paid",
            lookup_id,
            check.reference,
        )
        return f"Payfirma has not listed the card payment for invoice {invoice_id} yet."
    log.warning("Payfirma transaction %r not looked up: %s", lookup_id, error.message)
    return error.message


async def invoice_word(
    api: PayfirmaApi, check: PaymentCheck, invoice_id: str, said: str
) -> PaymentOutcome:
    """A kept transaction Payfirma does not answer about, asked without a return (the
    poller): the invoice's own PAID decides then, as it would without a kept id; anything
    else is unknown, never failed or cancelled, as a card may have been taken."""
    try:
        invoice = await listing.fetch(api, invoice_id)
    except ProviderError as failed:
        log.warning("Payfirma invoice %s not read: %s", invoice_id, failed.message)
    else:
        if convert.status_of(invoice) is InvoiceStatus.PAID:
            otherwise = paid_otherwise(invoice, check)
            return PaymentOutcome(
                status=OutcomeStatus.PAID,
                message=f"Payfirma shows invoice {invoice.invoice_id} as paid.",
                note=f"{otherwise} {UNLOOKED_NOTE}" if otherwise else UNLOOKED_NOTE,
            )
    return PaymentOutcome(status=OutcomeStatus.UNKNOWN, message=said)


async def judge(
    api: PayfirmaApi, check: PaymentCheck, invoice_id: str, expected_state: str | None
) -> PaymentOutcome:
    """With a `lookup_id`, the transaction decides; otherwise the invoice's own status.

    The return is the only place Payfirma names the transaction, and nothing documents
    that it marks the invoice paid: a return whose transaction is this payment's hands
    its `lookup_id` to the core to keep, and later checks look the transaction up by it;
    one whose lookup fails is kept only where nothing was kept yet.
    """
    params = check.landing_params
    returned = params.get("lookup_id", "").strip()
    problem = state_problem(params, expected_state) or lookup_problem(returned)
    lookup_id = returned if returned and problem is None else check.provider_reference or ""
    if lookup_id:
        keep = lookup_id if lookup_id == returned else None
        try:
            tx = await api.transaction(lookup_id)
            problem = mismatch(tx, check, invoice_id, params)  # or its money is unreadable
        except ProviderError as error:  # not found yet, refused, failing: no answer
            said = unlooked(lookup_id, check, invoice_id, error)
            if keep is None:
                return await invoice_word(api, check, invoice_id, said)
            # Asked with this payment's return, which may be the only place Payfirma names
            # the money (of an attempt already ended, or credited on the invoice's word):
            # unknown, so that the core keeps the return and asks again. Not read, so not
            # checked: its id only fills an empty place, never replacing one that a
            # transaction of this payment's already took.
            unchecked = keep if check.provider_reference is None else None
            return PaymentOutcome(
                status=OutcomeStatus.UNKNOWN, message=said, provider_reference=unchecked
            )
        if problem is None:  # this transaction pays this payment: keep it, whatever
            try:
                invoice: wire.Invoice | str = await listing.fetch(api, invoice_id)
            except ProviderError as error:  # failing, refused, or deleted in PayHQ since
                log.warning("Payfirma invoice %s not read: %s", invoice_id, error.message)
                invoice = invoice_id
            said = outcome(tx, invoice)
            return said.model_copy(update={"provider_reference": keep})
    if problem:
        log.warning(
            "Payfirma return for payment %s does not match (%s); not treating it as paid",
            check.reference,
            problem,
        )
    invoice = await listing.fetch(api, invoice_id)  # its status alone decides, not its amounts
    status = convert.status_of(invoice)
    if status is InvoiceStatus.PAID:
        return PaymentOutcome(
            status=OutcomeStatus.PAID,
            message=f"Payfirma shows invoice {invoice.invoice_id} as paid.",
            note=paid_otherwise(invoice, check),
        )
    if status is InvoiceStatus.VOID:
        # The payment page takes an amount, not an invoice: a link left out would still
        # charge the customer for it. It ends every attempt; a page already open that
        # takes the card all the same is still heard of by its return.
        return PaymentOutcome(
            status=OutcomeStatus.FAILED,
            message=f"Payfirma lists invoice {invoice.invoice_id} as cancelled; it can no "
            "longer be paid.",
            attributed=True,
        )
    # A cancel is only the browser's word, and any other site can send the payer's
    # browser here saying CANCELED (our cookie goes along) while Payfirma's page is still
    # open and can take the money: it counts only on the return that carries this
    # link's own `state`, which only Payfirma's page knows.
    own_return = expected_state is not None and params.get("state") is not None
    cancelled_here = params.get("result", "").strip().upper() in CANCELLED
    if not problem and own_return and cancelled_here:
        return cancelled()
    return PaymentOutcome(
        status=OutcomeStatus.PENDING,
        message=f"Waiting for Payfirma to confirm the payment of invoice {invoice.invoice_id}.",
    )
