"""What the schedules remember: which periods ran, and which reminders went out.

Both are claimed by compare-and-set on a unique key before any work, so two processes,
a restart or a double click never do the same one twice. Leases use the real time (they
are about a process being alive), not the schedules' clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from bot.engine import Engine
from bot.store import Store, now_iso

RUN_LEASE = 300.0
"""How long a claimed run is left to the process that claimed it before another may."""

DUE = "due"
CUSTOMER = "customer"


@dataclass(frozen=True)
class Reminder:
    id: int
    kind: str
    provider: str
    invoice_id: str
    invoice_number: str
    day: str
    at: datetime
    user_id: str | None
    automatic: bool
    state: str
    sent_to: str | None
    payment_id: str | None = None
    """The Send by e-mail attempt this reminder was, if it was one."""


class Runs:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def _db(self) -> Engine:
        return self.store.db

    def claim_run(self, schedule: str, team_id: str, period: str) -> bool:
        """True when this process may do the run now: it is new, or an earlier claim
        lapsed without finishing it. False when it is done or being done."""
        now = time.time()
        with self.store.transaction():
            inserted = self._db.execute(
                "INSERT INTO schedule_runs (schedule, team_id, period, claimed_at, "
                "claimed_until) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [schedule, team_id, period, now_iso(), now + RUN_LEASE],
            )
            if inserted.rowcount == 1:
                return True
            taken = self._db.execute(
                "UPDATE schedule_runs SET claimed_until = ?, claimed_at = ? WHERE schedule = ? "
                "AND team_id = ? AND period = ? AND done_at IS NULL AND "
                "(claimed_until IS NULL OR claimed_until < ?)",
                [now + RUN_LEASE, now_iso(), schedule, team_id, period, now],
            )
            return bool(taken.rowcount == 1)

    def finish_run(self, schedule: str, team_id: str, period: str) -> None:
        """Call inside the transaction that queues the run's messages."""
        self._db.execute(
            "UPDATE schedule_runs SET done_at = ?, claimed_until = NULL WHERE schedule = ? "
            "AND team_id = ? AND period = ?",
            [now_iso(), schedule, team_id, period],
        )

    def release_run(self, schedule: str, team_id: str, period: str) -> None:
        """The run failed before it could queue anything: the next round may try again."""
        self._db.execute(
            "UPDATE schedule_runs SET claimed_until = NULL WHERE schedule = ? AND team_id = ? "
            "AND period = ? AND done_at IS NULL",
            [schedule, team_id, period],
        )

    def release_run_claims(self) -> None:
        """At start-up: a sqlite database is served by one process, so no claim is live.
        On PostgreSQL another process may be doing a run now: its lease decides."""
        if not self._db.shared:
            self._db.execute("UPDATE schedule_runs SET claimed_until = NULL WHERE done_at IS NULL")

    def runs(self, schedule: str | None = None) -> list[dict[str, object]]:
        """Every run, oldest first: for tests and the operator's eyes."""
        where, args = ("WHERE schedule = ?", [schedule]) if schedule else ("", [])
        cursor = self._db.execute(
            f"SELECT * FROM schedule_runs {where} ORDER BY claimed_at",  # noqa: S608
            args,
        )
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    # reminders --------------------------------------------------------------------

    def claim_reminder(
        self,
        kind: str,
        team_id: str,
        provider: str,
        invoice_id: str,
        number: str,
        day: str,
        *,
        user_id: str | None = None,
        automatic: bool = False,
        payment_id: str | None = None,
    ) -> int | None:
        """The new reminder's id, or None when this invoice already had one that day.
        `payment_id`: the Send by e-mail attempt that is this reminder."""
        row = self._db.execute(
            "INSERT INTO reminders (kind, team_id, provider, invoice_id, "
            "invoice_number, day, at, user_id, automatic, state, payment_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?) ON CONFLICT DO NOTHING RETURNING id",
            [
                kind,
                team_id,
                provider,
                invoice_id,
                number,
                day,
                now_iso(),
                user_id,
                int(automatic),
                payment_id,
            ],
        ).fetchone()
        return int(row[0]) if row else None

    def reminder_sent(self, reminder_id: int, state: str, sent_to: str | None = None) -> None:
        """`sent`, or `unknown` when the provider's answer was lost (it may have gone)."""
        self._db.execute(
            "UPDATE reminders SET state = ?, sent_to = ? WHERE id = ?",
            [state, sent_to, reminder_id],
        )

    def forget_reminder(self, reminder_id: int) -> None:
        """The provider refused: nothing went out, so the day's reminder is still free."""
        self._db.execute("DELETE FROM reminders WHERE id = ?", [reminder_id])

    def reminders(
        self,
        team_id: str,
        *,
        kind: str | None = None,
        provider: str | None = None,
        invoice_id: str | None = None,
        number: str | None = None,
    ) -> list[Reminder]:
        """Reminders of the team, oldest first, narrowed by what is given; `number` in any
        case, as a person types it."""
        clauses, args = ["team_id = ?"], [team_id]
        for column, value in (
            ("kind", kind),
            ("provider", provider),
            ("invoice_id", invoice_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if number is not None:
            clauses.append("LOWER(invoice_number) = LOWER(?)")
            args.append(number)
        cursor = self._db.execute(
            f"SELECT * FROM reminders WHERE {' AND '.join(clauses)} ORDER BY at, id",  # noqa: S608
            args,
        )
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
        return [
            Reminder(
                id=row["id"],
                kind=row["kind"],
                provider=row["provider"],
                invoice_id=row["invoice_id"],
                invoice_number=row["invoice_number"] or "",
                day=row["day"],
                at=datetime.fromisoformat(row["at"]),
                user_id=row["user_id"],
                automatic=bool(row["automatic"]),
                state=row["state"],
                sent_to=row["sent_to"],
                payment_id=row["payment_id"],
            )
            for row in rows
        ]
