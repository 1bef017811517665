"""Records for a bookkeeper: settlements and the audit log of a date range, as CSV.

One settlement row per invoice paid (credit notes netted off are rows of their own with
a negative amount), so the amount column sums to the money that moved, per currency.
Amounts are plain decimals (`1234.50`) beside an ISO currency code; dates are ISO.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.approvals_record import approvals_for
from bot.approvals_store import ApprovalStore
from bot.clock import in_zone
from bot.models import Emailed, Payment, PaymentState
from bot.store import AuditEntry, Store
from bot.text import plain, shown

SETTLEMENT_COLUMNS = (
    "date",
    "provider",
    "invoice_number",
    "direction",
    "amount",
    "currency",
    "method",
    "who",
    "reference",
    "approvals",
    "settled_at",
    "settlement_id",
    "note",
)
"""`note`: for a settlement, what the provider said to act on beside it (the invoice paid
at another amount, a shortfall to collect), as #billing read it, or empty; for a second
payment of invoices already settled (the bank shows it too), that it is to be checked
and refunded."""
AUDIT_COLUMNS = ("at", "action", "who", "subject", "detail", "invoices")
"""`invoices`: the invoice numbers a row's payment or approval request is about (its
subject is an id a reader cannot look up)."""

Approvals = Callable[[Store, Payment], list[tuple[str, str]]]
APPROVALS: list[Approvals] = [approvals_for]
"""Where approvals of a payment come from (each returns (Slack user id, ISO time)); the
`approvals` column names each approver as the `who` column names the payer."""


CALENDAR_EDGE = (date.min + timedelta(days=2), date.max - timedelta(days=2))
"""The widest days a range's times are taken from: in UTC they stay on the calendar."""


@dataclass(frozen=True)
class Range:
    """Whole days, both ends included, in the workspace's time zone."""

    first: date
    last: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """From the first day's start to the day after the last. A day at either end
        of the calendar (0001-01-01, 9999-12-31) is taken from the days just inside it:
        its times would fall off the calendar in UTC, and nothing is recorded then."""
        first = max(self.first, CALENDAR_EDGE[0])
        after = min(self.last, CALENDAR_EDGE[1]) + timedelta(days=1)
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(after, time(), tzinfo=zone)
        return start, end

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


@dataclass(frozen=True)
class Export:
    settlements_csv: str
    audit_csv: str
    count: int
    totals: dict[tuple[str, str], Decimal]
    """Per direction (`payable`: paid out, `receivable`: collected) and currency."""
    audit_count: int
    twice: int = 0
    """Second payments of invoices already settled: rows of the settlements file (money
    that moved, to refund), not settlements."""


PAID_TWICE = "paid twice: the invoice was already settled; refund this payment"
MAYBE_TWICE = "maybe paid twice: check with the provider before refunding"


def _rows(payment: Payment) -> list[tuple[str, Decimal]]:
    """(invoice number, amount) per invoice, credits negative; the payment's own amount
    when its lines do not add up to it (an older row without lines)."""
    lines = [(line.number, line.amount.amount) for line in payment.lines]
    lines += [(credit.number, -credit.amount.amount) for credit in payment.credits]
    if not lines or sum(amount for _, amount in lines) != payment.amount.amount:
        return [(", ".join(payment.invoice_numbers), payment.amount.amount)]
    return lines


def _method(payment: Payment) -> str:
    if isinstance(payment.start, Emailed):  # paid through it; the provider says not how
        return "e-mailed invoice"
    return (
        f"{payment.method_name} ({payment.issuer_name})"
        if payment.issuer_name
        else (payment.method_name)
    )


def _who(payment: Payment, names: Mapping[str, str]) -> str:
    if payment.direction == "receivable":
        return f"customer {payment.payer_name}" if payment.payer_name else "customer"
    return names.get(payment.user_id, payment.user_id)


CUSTOMER_OPENS = frozenset({"payment.opened", "payment.link_opened"})
"""Audit actions that, about a customer's payment link, whoever held the link did: the
customer it was sent to, as a rule, though nothing proves who opened it. The row says
so, never naming the team member who copied the link (whose Slack id older rows of
`payment.link_opened` carry)."""


def _payment_of(
    store: Store, entry: AuditEntry, payments: dict[str, Payment | None]
) -> Payment | None:
    """The payment `entry` is about, if its subject names one; `payments` caches them."""
    if not entry.subject or not entry.action.startswith(("payment.", "invoice.emailed")):
        return None
    if entry.subject not in payments:
        payments[entry.subject] = store.payment(entry.subject)
    return payments[entry.subject]


def _invoices(
    store: Store, entry: AuditEntry, payments: dict[str, Payment | None], requests: dict[str, str]
) -> str:
    """The invoice numbers of the payment or approval request a row is about; `requests`
    caches the requests' (a request has several rows)."""
    if entry.action.startswith("approval.") and entry.subject:
        if entry.subject not in requests:
            request = ApprovalStore(store).get(entry.subject)
            requests[entry.subject] = ", ".join(request["invoice_numbers"]) if request else ""
        return requests[entry.subject]
    listed = entry.detail.get("invoices")
    if isinstance(listed, list) and listed:  # named when written (a menu shown, a settlement)
        return ", ".join(str(number) for number in listed)
    payment = _payment_of(store, entry, payments) or _credited(store, entry, payments)
    return ", ".join(payment.invoice_numbers) if payment else ""


def _credited(
    store: Store, entry: AuditEntry, payments: dict[str, Payment | None]
) -> Payment | None:
    """The payment an `invoice.settled` row credits: its subject is the settlement, the
    payment is in its detail."""
    if entry.action != "invoice.settled":
        return None
    credited = str(entry.detail.get("payment") or "")
    if credited and credited not in payments:
        payments[credited] = store.payment(credited)
    return payments.get(credited)


def _actor(
    store: Store, entry: AuditEntry, names: Mapping[str, str], payments: dict[str, Payment | None]
) -> str:
    """Who did what `entry` records, as the `who` column writes it; `payments` caches the
    payments looked up."""
    if entry.action in CUSTOMER_OPENS and entry.subject:
        payment = _payment_of(store, entry, payments)
        if payment is not None and payment.direction == "receivable":
            return f"holder of the link sent to {_who(payment, names)}"
    credited = _credited(store, entry, payments)
    if credited is not None and credited.direction == "receivable":
        # The customer paid; who sent the link or e-mailed the invoice is the
        # `payment.started` row's `who`.
        return _who(credited, names)
    return names.get(entry.user_id, entry.user_id) if entry.user_id else ""


PROVIDER_WORDS = {
    "invoice.settled": frozenset({"note"}),
    "payment.refused": frozenset({"reason"}),
    "provider.connect_failed": frozenset({"reason"}),
    "reminder.refused": frozenset({"error"}),
    "reminder.unknown": frozenset({"error"}),
}
"""Detail keys that hold a provider's error, by action; `last_error` does under any."""


def _detail(action: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A row's detail as people read it: a provider's error without HTTP statuses and
    request ids (`bot.text.plain`), as Slack shows it; people's own words (an approver's
    reason, an address) as they were written. The audit table keeps everything."""
    said = PROVIDER_WORDS.get(action, frozenset()) | {"last_error"}
    return {key: _plain(value) if key in said else value for key, value in detail.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def people(store: Store, team_id: str, period: Range, zone: ZoneInfo) -> set[str]:
    """The Slack user ids an export of `period` names, to look their names up first."""
    start, end = period.bounds(zone)
    settled = [p for _, p in store.settlements_between(team_id, start, end)]
    settled += [p for _, p, _ in store.paid_twice_between(team_id, start, end)]
    ids = {p.user_id for p in settled}
    ids |= {user for p in settled for source in APPROVALS for user, _ in source(store, p)}
    ids |= {e.user_id for e in store.audit_between(team_id, start, end) if e.user_id}
    return ids


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def local(moment: datetime | str, zone: ZoneInfo) -> str:
    """A stored time in the workspace's zone, with its offset: the rows are dated in that
    zone, and a reader should not have to convert a time to see its row's day. Text that
    is not a time is given as it is."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(text := moment)
        except ValueError:
            return text
    return in_zone(moment, zone).isoformat(timespec="seconds")


def cell(text: str) -> str:
    """Text from people or providers, made inert for spreadsheets: a cell that starts like
    a formula (`=HYPERLINK(…)` typed as a search) gets a leading apostrophe, which Excel
    and LibreOffice read as "this is text" and do not show. Characters that would reorder
    or hide the text (`shown`) are dropped first, as everywhere else it is shown."""
    text = shown(text)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def export(
    store: Store,
    team_id: str,
    period: Range,
    zone: ZoneInfo,
    titles: Mapping[str, str],
    names: Mapping[str, str] | None = None,
) -> Export:
    """`names`: how to write each Slack user id (`Pat Payer (U123)`); the id otherwise."""
    names = names or {}
    start, end = period.bounds(zone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SETTLEMENT_COLUMNS)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    settled = store.settlements_between(team_id, start, end)
    twice = store.paid_twice_between(team_id, start, end)
    charged = charged_after(store, team_id, [payment for _, payment in settled])
    moved = [
        (at, payment, payment.settlement_id or payment.id, _noted(payment, charged))
        for at, payment in settled
    ]
    moved += [
        (at, payment, doubled or "", twice_note(store, payment)) for at, payment, doubled in twice
    ]
    moved.sort(key=lambda row: row[0])
    for settled_at, payment, settlement, note in moved:
        approvals = "; ".join(
            f"{names.get(user, user)} at {local(at, zone)}"
            for source in APPROVALS
            for user, at in source(store, payment)
        )
        for number, amount in _rows(payment):
            currency = payment.amount.currency
            totals[payment.direction, currency] += amount
            writer.writerow(
                (
                    in_zone(settled_at, zone).date().isoformat(),
                    cell(titles.get(payment.provider, payment.provider)),
                    cell(number),
                    payment.direction,
                    f"{amount:f}",
                    currency,
                    cell(_method(payment)),
                    cell(_who(payment, names)),
                    cell(payment.receipt or payment.provider_reference or ""),
                    cell(approvals),
                    local(settled_at, zone),
                    settlement,
                    cell(note),
                )
            )
    audit = io.StringIO()
    audit_writer = csv.writer(audit, lineterminator="\n")
    audit_writer.writerow(AUDIT_COLUMNS)
    entries = store.audit_between(team_id, start, end)
    payments: dict[str, Payment | None] = {}
    requests: dict[str, str] = {}
    for entry in entries:
        audit_writer.writerow(
            (
                local(entry.at, zone),
                entry.action,
                cell(_actor(store, entry, names, payments)),
                cell(entry.subject or ""),
                cell(
                    json.dumps(
                        _detail(entry.action, entry.detail), sort_keys=True, ensure_ascii=False
                    )
                )
                if entry.detail
                else "",
                cell(_invoices(store, entry, payments, requests)),
            )
        )
    return Export(
        out.getvalue(), audit.getvalue(), len(settled), dict(totals), len(entries), len(twice)
    )


def charged_after(store: Store, team_id: str, settled: list[Payment]) -> dict[str, str]:
    """The note of each settled payment credited on the invoice's word whose own page then
    took a card, told as maybe paid twice (`Settlement._paid_after_credited`): its row
    is that charge, and may double money the invoice was marked paid with."""
    ids = [payment.id for payment in settled if payment.receipt]
    told: dict[str, str] = {}
    for at in range(0, len(ids), 500):  # a month's settlements, in bounded IN lists
        for entry in store.audit_about(team_id, ids[at : at + 500]):
            if entry.action == "payment.paid_twice" and entry.subject:
                told[entry.subject] = (
                    PAID_TWICE if entry.detail.get("certain", True) else MAYBE_TWICE
                )
    return told


def _noted(payment: Payment, charged: Mapping[str, str]) -> str:
    """A settlement row's note: a charge after it was credited (maybe paid twice), and
    the provider's note on the payment (kept as a paid one's `last_error`), as #billing
    read them beside the confirmation. The amount column stays the payment's own: the
    note is where another amount the provider names is told, to check."""
    own = plain(payment.last_error or "").strip() if payment.state is PaymentState.PAID else ""
    return "; ".join(part for part in (charged.get(payment.id, ""), own) if part)


def settlement_note(store: Store, payment: Payment) -> str:
    """A settled payment's `note`, as its export row has it (for the invoice's history)."""
    return _noted(payment, charged_after(store, payment.team_id, [payment]))


def twice_note(store: Store, payment: Payment) -> str:
    """What the paid-twice notice said of it: to refund, or (a settlement on the
    invoice's word alone may be this very money) to check first."""
    told = [
        e
        for e in store.audit_about(payment.team_id, [payment.id])
        if e.action == "payment.paid_twice"
    ]
    certain = bool(told and told[-1].detail.get("certain", True))
    return PAID_TWICE if certain else MAYBE_TWICE
