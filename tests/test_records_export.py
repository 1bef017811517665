"""The CSV export opens in spreadsheets: what people typed must stay text there."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.models import Money, Payment
from bot.provider import PaymentRejected
from bot.records import Range, cell, export
from bot.slack.records import _sums
from bot.store import Store
from plugins.pingproxies.errors import PINGPROXIES


def test_a_cell_that_starts_like_a_formula_is_kept_as_text() -> None:
    for typed in ("=1+1", '=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1)"):
        assert cell(typed) == "'" + typed
    assert cell("INV-24-0087") == "INV-24-0087" and cell("") == ""


def test_a_cell_drops_what_would_reorder_or_hide_its_text() -> None:
    """A provider's name or number with a right-to-left override shows reversed in a
    spreadsheet ("INV-7 €08.69" as "INV-7 €96.80"), as Slack and the pages never show
    it; and one hidden before a formula must not carry the formula past the check."""
    assert cell("INV-7 \u202e€08.69\u202c\x07") == "INV-7 €08.69"
    assert cell("\u202e=1+1") == "'=1+1"
    assert cell("two\nlines") == "two\nlines"


def test_the_audit_export_does_not_carry_a_typed_formula(tmp_path: object) -> None:
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        store.audit("payment.menu", team_id="T1", user_id="U1", subject="=1+1")
        store.audit("invoices.listed", team_id="T1", user_id="U1", subject='=HYPERLINK("x")')
        today = datetime.now(UTC).date()
        made = export(store, "T1", Range(today, today), ZoneInfo("UTC"), {}, {"U1": "@Pat"})
    finally:
        store.close()
    rows = list(csv.reader(io.StringIO(made.audit_csv)))[1:]
    assert [row[3] for row in rows] == ["'=1+1", '\'=HYPERLINK("x")']
    assert {row[2] for row in rows} == {"'@Pat"}


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Europe/Amsterdam", "Pacific/Niue"])
def test_an_export_of_the_calendars_first_or_last_days_is_empty_not_an_error(
    tmp_path: object, zone: str
) -> None:
    """East of UTC, 0001-01-01 begins before the calendar does; west of it, the day
    after 9999-12-31 is no day at all."""
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        store.audit("payment.menu", team_id="T1", user_id="U1", subject="INV-1")
        for first, last in ((date.min, date.min), (date.max, date.max), (date.min, date.max)):
            made = export(store, "T1", Range(first, last), ZoneInfo(zone), {}, {})
            assert made.count == 0 and made.audit_count == (first != last)
    finally:
        store.close()


def test_the_exports_summary_keeps_money_paid_and_money_collected_apart() -> None:
    totals = {
        ("payable", "USD"): Decimal("129.00"),
        ("payable", "EUR"): Decimal("1548.80"),
        ("receivable", "USD"): Decimal("321.43"),
    }
    assert _sums(totals) == "paid €1,548.80 + $129.00; collected $321.43"
    assert _sums({("receivable", "CAD"): Decimal("5")}) == "collected CA$5.00"
    assert _sums({}) == ""


def test_the_audit_export_has_the_moves_of_the_teams_payments_only(tmp_path: object) -> None:
    """A payment's state moves are audited without a team (a payment's id is unique
    across teams); the export still lists the team's, failures and cancels included."""
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        for n, team in ((1, "T1"), (2, "T2")):
            payment = _payment(store, n).model_copy(update={"team_id": team})
            store.db.execute("UPDATE payments SET team_id = ? WHERE id = ?", [team, payment.id])
            store.audit("payment.failed", subject=payment.id, last_error="Card declined.")
        today = datetime.now(UTC).date()
        made = export(store, "T1", Range(today, today), ZoneInfo("UTC"), {}, {})
    finally:
        store.close()
    rows = list(csv.reader(io.StringIO(made.audit_csv)))[1:]
    # The last column names the invoices: the subject is an id nobody can look up.
    assert [(row[1], row[3], row[5]) for row in rows] == [("payment.failed", "p1", "INV-1")]


def _payment(store: Store, n: int, direction: str = "payable", payer: str | None = None) -> Payment:
    """Payment `p<n>` of team T1, made by U1."""
    payment = Payment(
        id=f"p{n}",
        team_id="T1",
        provider="x",
        direction=direction,
        invoice_ids=(f"i{n}",),
        invoice_numbers=(f"INV-{n}",),
        amount=Money.of("10.00", "CAD"),
        method_id="card",
        method_name="Card",
        user_id="U1",
        payer_name=payer,
    )
    store.add_payment(payment, token_hash=f"t{n}", token_expires_at=0.0)
    return payment


def test_a_customers_link_opened_is_the_customers_doing_in_older_rows_too(
    tmp_path: object,
) -> None:
    """Rows written before the open named no Slack user carry the copier's id: the export
    still names the customer; a team member's own payment page stays theirs."""
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        for n, direction, payer in ((1, "receivable", "Jordan Lee"), (2, "payable", None)):
            payment = _payment(store, n, direction, payer)
            store.audit("payment.opened", subject=payment.id)
            store.audit("payment.link_opened", team_id="T1", user_id="U1", subject=payment.id)
        today = datetime.now(UTC).date()
        made = export(store, "T1", Range(today, today), ZoneInfo("UTC"), {}, {"U1": "Pat"})
    finally:
        store.close()
    rows = list(csv.reader(io.StringIO(made.audit_csv)))[1:]
    assert [(row[1], row[2], row[3]) for row in rows] == [
        ("payment.opened", "holder of the link sent to customer Jordan Lee", "p1"),
        ("payment.link_opened", "holder of the link sent to customer Jordan Lee", "p1"),
        ("payment.opened", "", "p2"),
        ("payment.link_opened", "Pat", "p2"),
    ]


def test_the_audit_export_says_a_providers_reason_without_http_detail(tmp_path: object) -> None:
    """Every provider error an audit row keeps (a failed payment, a refused start, a
    connection or a reminder refused) reads as the provider's reason; the table itself
    keeps the status and request id for the operator."""
    declined = (
        b'{"error": "Payment Declined", "message": "Your card was declined.", '
        b'"api_request_id": "req_7"}'
    )
    maintenance = b'{"error": "Unavailable", "message": "Down for maintenance."}'
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        store.audit(
            "payment.refused",
            team_id="T1",
            reason=PINGPROXIES.failure(422, declined, refused=PaymentRejected).message,
        )
        store.audit(
            "provider.connect_failed", team_id="T1", reason=PINGPROXIES.failure(401, b"").message
        )
        store.audit(
            "reminder.refused",
            team_id="T1",
            error=[PINGPROXIES.failure(503, maintenance).message],
            amount="$12.00",
        )
        today = datetime.now(UTC).date()
        made = export(store, "T1", Range(today, today), ZoneInfo("UTC"), {}, {})
        kept = [entry.detail for entry in store.audit_log()]
    finally:
        store.close()
    details = [json.loads(row[4]) for row in list(csv.reader(io.StringIO(made.audit_csv)))[1:]]
    assert details == [
        {"reason": "PingProxies refused the request: Your card was declined."},
        {
            "reason": "PingProxies refused the sign-in. Check the application public and "
            "private keys, and the account e-mail and password."
        },
        {
            "amount": "$12.00",
            "error": [
                "PingProxies had a server error: Down for maintenance; try again in a few minutes."
            ],
        },
    ]
    assert "HTTP 503" in str(kept) and "req_7" in str(kept)


def test_the_audit_export_is_in_the_order_things_happened(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By time, then as written. Another process sharing the database holds a listing
    back for its next flush (a fraction of a second), so the listing is written after
    what came next; rows of one second (a payment's moves, which name no team, among
    them) keep the order they were written in."""
    clock = ["2026-12-03T10:00:01+00:00"]
    monkeypatch.setattr("bot.store.now_iso", lambda: clock[0])
    one, other = Store(database), Store(database)
    try:
        one.audit("invoices.listed", team_id="T1", user_id="U1", subject="open", batched=True)
        clock[0] = "2026-12-03T10:00:02+00:00"
        payment = _payment(other, 1)
        other.audit("payment.menu", team_id="T1", user_id="U1", subject="INV-1")
        other.audit("payment.link_issued", subject=payment.id)
        other.audit("payment.started", team_id="T1", user_id="U1", subject=payment.id)
        other.audit("payment.opened", subject=payment.id)
        one.flush_audit()
        day = date(2026, 12, 3)
        made = export(one, "T1", Range(day, day), ZoneInfo("UTC"), {}, {})
    finally:
        one.close()
        other.close()
    rows = list(csv.reader(io.StringIO(made.audit_csv)))[1:]
    assert [(row[0][11:], row[1]) for row in rows] == [
        ("10:00:01+00:00", "invoices.listed"),
        ("10:00:02+00:00", "payment.menu"),
        ("10:00:02+00:00", "payment.link_issued"),
        ("10:00:02+00:00", "payment.started"),
        ("10:00:02+00:00", "payment.opened"),
    ]


def test_peoples_own_words_in_the_audit_export_are_kept_as_written(tmp_path: Any) -> None:
    """Only a provider's error loses its protocol detail: an approver's reason and an
    address read as they were written, parentheses, ids and all."""
    reason = "Duplicate of INV-12 (see request id JIRA-4471 and the TypeError thread)"
    to = "Acme (Terror Films) <ap@acme.example>"
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        store.audit("approval.rejected", team_id="T1", reason=reason)
        store.audit("invoice.emailed", team_id="T1", to=to)
        store.audit("payment.failed", team_id="T1", last_error="Declined (HTTP 402; request id r1)")
        today = datetime.now(UTC).date()
        made = export(store, "T1", Range(today, today), ZoneInfo("UTC"), {}, {})
    finally:
        store.close()
    details = [json.loads(row[4]) for row in list(csv.reader(io.StringIO(made.audit_csv)))[1:]]
    assert details == [{"reason": reason}, {"to": to}, {"last_error": "Declined"}]


def test_times_in_the_export_are_in_the_workspaces_zone(tmp_path: Any) -> None:
    """A row dated 4 December in Vancouver says its time there too, not 5 December UTC."""
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        payment = _payment(store, 1)
        store.add_settlement(
            "s1", payment, evidence="attempt", settled_at="2026-12-05T04:30:00+00:00"
        )
        store.audit("payment.opened", team_id="T1", user_id="U1", subject=payment.id)
        store.db.execute("UPDATE audit SET at = ?", ["2026-12-05T04:29:00+00:00"])
        zone = ZoneInfo("America/Vancouver")
        made = export(store, "T1", Range(date(2026, 12, 4), date(2026, 12, 4)), zone, {}, {})
    finally:
        store.close()
    [row] = list(csv.DictReader(io.StringIO(made.settlements_csv)))
    assert (row["date"], row["settled_at"]) == ("2026-12-04", "2026-12-04T20:30:00-08:00")
    audit = list(csv.DictReader(io.StringIO(made.audit_csv)))
    assert [entry["at"] for entry in audit] == ["2026-12-04T20:29:00-08:00"]


def test_a_menu_shown_names_its_invoices_in_the_audit_export(tmp_path: Any) -> None:
    """A pay menu's row is about invoices by their provider's ids (its subject): the
    invoices column names them as people know them."""
    store = Store(f"{tmp_path}/db.sqlite")
    try:
        store.audit(
            "payment.menu", team_id="T1", user_id="U1", subject="i3d|410001,410002||",
            invoices=["INV-24-0101", "INV-24-0087"],
        )  # fmt: skip
        today = datetime.now(UTC).date()
        made = export(store, "T1", Range(today, today), ZoneInfo("UTC"), {}, {})
    finally:
        store.close()
    [row] = list(csv.DictReader(io.StringIO(made.audit_csv)))
    assert (row["action"], row["invoices"]) == ("payment.menu", "INV-24-0101, INV-24-0087")


async def test_the_exports_message_says_it_holds_payments_through_invoicebot_only(
    tmp_path: Any,
) -> None:
    """A bookkeeper reconciles the file against the provider's paid invoices: one paid at
    the provider directly is not in it, and the message must say so, or it reads as
    missing money."""
    from types import SimpleNamespace

    from bot.slack.records import send_export

    class Client:
        comment = ""

        async def users_info(self, user: str) -> dict[str, Any]:
            return {}

        async def conversations_open(self, users: str) -> dict[str, Any]:
            return {"channel": {"id": "D1"}}

        async def files_upload_v2(self, **kwargs: Any) -> None:
            Client.comment = kwargs["initial_comment"]

    store = Store(f"{tmp_path}/db.sqlite")
    zone = ZoneInfo("UTC")
    svc = SimpleNamespace(
        store=store,
        connections=SimpleNamespace(registry={}),
        settings=SimpleNamespace(timetable=SimpleNamespace(zone=zone)),
    )
    try:
        today = datetime.now(UTC).date()
        await send_export(svc, Client(), "T1", "U1", Range(today, today))  # type: ignore[arg-type]
    finally:
        store.close()
    assert "paid through invoicebot" in Client.comment, Client.comment
    assert "paid at a provider directly" in Client.comment, Client.comment
