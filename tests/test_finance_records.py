"""The export as a bookkeeper reconciles it against the bank statement."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.models import OutcomeStatus, PaymentOutcome
from bot.records import MAYBE_TWICE, PAID_TWICE, Range, export
from bot.settlement import Settlement
from tests.test_late_returns import Lookup
from tests.test_settlement import Recorder, S, attempt, recorder, settlement, store  # noqa: F401


def test_a_second_payment_of_a_settled_invoice_is_in_the_settlements_file(
    settlement: Settlement,  # noqa: F811
) -> None:
    first = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(
        first,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True),
    )
    late = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.apply(
        late,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r2", attributed=True),
    )
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {"i3d": "i3D.net"})
    rows = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    # The bank shows two debits of 12.50, under r1 and r2: both are in the file, the
    # second saying it is to be refunded, and the sums are the money that moved.
    by_reference = {row["reference"]: row for row in rows}
    assert sorted(by_reference) == ["r1", "r2"]
    assert by_reference["r1"]["note"] == ""
    assert by_reference["r2"]["note"] == PAID_TWICE
    assert by_reference["r2"]["settlement_id"] == by_reference["r1"]["settlement_id"]
    assert by_reference["r2"]["amount"] == "12.50"
    assert done.totals["payable", "EUR"] == Decimal("25.00")
    assert (done.count, done.twice) == (1, 1)  # one settlement, one second payment


def test_the_audit_row_of_a_settlement_names_its_invoices(
    settlement: Settlement,  # noqa: F811
) -> None:
    """`invoice.settled` is the row a bookkeeper looks for: its subject is a settlement
    id nobody can look up, so its `invoices` column must name what was settled."""
    paid = attempt(settlement, S.OPENED, opened_minutes_ago=1, invoices=("1001", "1002"))
    settlement.apply(
        paid,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True),
    )
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {})
    rows = list(csv.DictReader(io.StringIO(done.audit_csv)))
    (settled,) = [row for row in rows if row["action"] == "invoice.settled"]
    assert settled["invoices"] == "INV-1001, INV-1002"


def test_a_page_credited_on_the_invoices_word_that_then_took_a_card_is_noted_to_check(
    settlement: Settlement,  # noqa: F811
    recorder: Recorder,  # noqa: F811
) -> None:
    """Marked paid at the provider by other means, then charged on the page still open:
    #billing reads "maybe paid twice", and so must the row a bookkeeper reconciles."""
    settlement.connections = Lookup({})  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PAID, message="invoice paid"))
    charged = datetime.now(UTC) + timedelta(minutes=10)
    settlement.apply(
        page,
        PaymentOutcome(
            status=OutcomeStatus.PAID,
            message="ok",
            reference="r9",
            attributed=True,
            paid_at=charged,
        ),
    )
    assert len(recorder.paid_twice) == 1
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {"i3d": "i3D"})
    (row,) = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    assert (row["reference"], row["note"]) == ("r9", MAYBE_TWICE)


def test_a_settlement_the_provider_noted_carries_the_note_to_the_bookkeeper(
    settlement: Settlement,  # noqa: F811
) -> None:
    """Confirmed on the invoice's word at another amount than the attempt's: #billing
    reads what the provider lists it paid at, and so must the row a bookkeeper reconciles
    (its amount column stays the attempt's, which is all invoicebot asked for)."""
    said = "Lists invoice 1001 paid at €151.00, not the €12.50 it was sent for: check it."
    page = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PAID, message="ok", note=said))
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {})
    (row,) = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    assert (row["amount"], row["note"]) == ("12.50", said)
    audit = list(csv.DictReader(io.StringIO(done.audit_csv)))
    (settled,) = [row for row in audit if row["action"] == "invoice.settled"]
    assert json.loads(settled["detail"])["note"] == said  # the audit's row says it too


def test_a_note_read_from_the_invoice_stays_with_whichever_attempt_is_credited(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The invoice's word (no transaction of the attempt asked about) credits the invoice's
    most recent attempt: the provider's note is about the invoice, and goes with it."""
    said = "Lists invoice 1001 paid at €151.00, not the €12.50 it was sent for: check it."
    older = attempt(settlement, S.OPENED, opened_minutes_ago=5)
    newer = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.apply(older, PaymentOutcome(status=OutcomeStatus.PAID, message="ok", note=said))
    credited = settlement.store.payment(newer.id)
    assert credited is not None and credited.state is S.PAID
    assert credited.last_error == said  # what #billing's confirmation shows beside it
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {})
    (row,) = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    assert row["note"] == said


def test_a_note_read_for_another_amount_does_not_pass_as_the_credited_payments(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The invoice's word, read while checking an older attempt for another amount (an
    e-mail sent before the invoice was changed), credits the newest attempt: the note
    compares the invoice with the older attempt's amount, and must say so rather than
    read as a doubt about the payment credited."""
    said = "Lists invoice 1001 paid at €151.00, not the €12.50 it was sent for: check it."
    older = attempt(settlement, S.OPENED, opened_minutes_ago=5)
    newer = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.store.db.execute("UPDATE payments SET amount = '151.00' WHERE id = ?", [newer.id])
    settlement.apply(older, PaymentOutcome(status=OutcomeStatus.PAID, message="ok", note=said))
    credited = settlement.store.payment(newer.id)
    assert credited is not None and credited.state is S.PAID
    assert credited.amount.format() == "€151.00"
    assert credited.last_error is not None and said in credited.last_error
    assert credited.last_error.startswith("About the attempt for €12.50")


class _Titled:
    """Connections as far as a note needs them: the provider's title."""

    title = "i3D.net"

    def provider_class(self, name: str) -> _Titled:
        return self


@pytest.mark.parametrize(
    "said",
    [
        datetime(1970, 1, 21, 18, 24, tzinfo=UTC),  # seconds read as milliseconds
        datetime(2099, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59),  # no zone: taken as UTC
        datetime(2050, 1, 1, 4, tzinfo=timezone(timedelta(hours=5))),  # 2049-12-31 in UTC
        datetime(1, 1, 1, 2, tzinfo=timezone(timedelta(hours=5))),  # no UTC time at all
    ],
)
def test_a_paid_time_that_cannot_be_true_is_recorded_as_learned_and_noted(
    settlement: Settlement,  # noqa: F811
    said: datetime,
) -> None:
    """A provider's paid time from before any payment through invoicebot, or from days
    ahead, put the settlement outside every export period a bookkeeper asks for: it is
    recorded when the bot learned of it, and the note says what the provider gave."""
    settlement.connections = _Titled()  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    settlement.apply(
        page,
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", paid_at=said),
    )
    paid = settlement.store.payment(page.id)
    assert paid is not None and paid.state is S.PAID and paid.paid_at is not None
    assert abs(paid.paid_at - datetime.now(UTC)) < timedelta(minutes=1)
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {"i3d": "i3D"})
    (row,) = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    assert row["reference"] == "r1"
    if said.year == 1:
        shown = said.isoformat()
    else:
        shown = f"{said.astimezone(UTC) if said.tzinfo else said:%Y-%m-%d %H:%M} UTC"
    assert f"i3D.net gave {shown} as the time" in row["note"], row["note"]


def test_a_paid_time_from_this_century_stands(settlement: Settlement) -> None:  # noqa: F811
    settlement.connections = _Titled()  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, opened_minutes_ago=1)
    when = datetime(2001, 3, 4, 5, 6, 7, tzinfo=UTC)
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PAID, message="ok", paid_at=when))
    paid = settlement.store.payment(page.id)
    assert paid is not None and paid.paid_at == when and paid.last_error is None


def test_a_charge_time_without_a_zone_is_read_as_utc_against_the_settlement(
    settlement: Settlement,  # noqa: F811
    recorder: Recorder,  # noqa: F811
) -> None:
    """A plugin's transaction time without a zone, on a page credited on the invoice's
    word: compared with the settlement's (stored in UTC) it raised on every check. It is
    taken as UTC, and a charge from before the settlement is that very money."""
    settlement.connections = Lookup({})  # type: ignore[assignment]
    page = attempt(settlement, S.OPENED, opened_minutes_ago=2)
    settlement.apply(page, PaymentOutcome(status=OutcomeStatus.PAID, message="invoice paid"))
    charged = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    settlement.apply(
        page,
        PaymentOutcome(
            status=OutcomeStatus.PAID,
            message="ok",
            reference="r9",
            attributed=True,
            paid_at=charged,
        ),
    )
    adopted = settlement.store.payment(page.id)
    assert adopted is not None and adopted.receipt == "r9"
    assert recorder.paid_twice == []


def test_an_invoice_paid_alone_of_a_page_that_ended_is_one_row_for_its_own_amount(
    settlement: Settlement,  # noqa: F811
) -> None:
    """A watch that ended with the provider listing one of its two invoices paid: the
    settlements file has that invoice, for what was due on it, and not the other."""
    from tests.test_settlement import _Shows

    settlement.connections = _Shows(True)  # type: ignore[assignment]
    settlement.give_up_after = -3600
    page = attempt(settlement, S.OPENED, opened_minutes_ago=40, invoices=("1001", "1002"))
    lines = [["INV-1001", "10.00", "EUR"], ["INV-1002", "2.50", "EUR"]]
    settlement.store.db.execute(
        "UPDATE payments SET lines = ? WHERE id = ?", [json.dumps(lines), page.id]
    )
    settlement.apply(
        settlement.store.payment(page.id),  # type: ignore[arg-type]
        PaymentOutcome(status=OutcomeStatus.PENDING, paid_invoices=("1001",)),
    )
    today = datetime.now(UTC).date()
    done = export(settlement.store, "T1", Range(today, today), ZoneInfo("UTC"), {})
    rows = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    assert [(row["invoice_number"], row["amount"], row["note"]) for row in rows] == [
        ("INV-1001", "10.00", "")
    ]
    assert done.totals["payable", "EUR"] == Decimal("10.00")
