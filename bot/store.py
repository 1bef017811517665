"""Everything invoicebot remembers: a sqlite file (WAL), or PostgreSQL (`bot.engine`).

Calls are short and synchronous and run on the event loop thread. State changes are
single compare-and-set UPDATE statements, atomic on either engine (PostgreSQL's row lock
makes a racing UPDATE wait and then test the state afresh), so a duplicate landing, a
racing poller or a second process can never apply the same transition twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from bot.credentials import CredentialBox, SecretKeyError
from bot.engine import Cursor, Engine, open_engine
from bot.models import InvoiceAmount, Money, Payment, PaymentState

log = logging.getLogger(__name__)

SEALED = "sealed:"
SECRET_BODY = "secret_body"  # noqa: S105 - the name of a flag, not a secret
"""An outbox row's `args[SECRET_BODY] = True`: its `body` (a payment's link) is sealed at
rest like a response URL (plain only where no secret key is configured)."""
AUDIT_FLUSH_SECONDS = 0.5
AuditRow = tuple[str, str | None, str | None, str, str | None, str]
"""One audit row waiting for its flush: at, team_id, user_id, action, subject, detail."""
AUDIT_BATCH_LIMIT = 50_000  # written at once past this, to bound memory in a flood
EVENT_MEMORY = 6 * 3600.0
"""Seconds an event id is remembered: Slack retries a delivery three times within about
an hour (at once, after a minute, after five), so a repeat never outlives this."""

Migration = Callable[[Engine], None]
Outcome = Literal["created", "created_differently", "failed", "running", "unknown"]
"""What a submission that acts once did at the provider: still `running` for up to
`SUBMISSION_RUNNING` seconds after its claim, `unknown` when no answer was recorded."""
LOOKUP_PENDING = "pending"
"""A create that e-mails its invoice, not yet watched nor told: see `Store.claim_submission`."""
SUBMISSION_RUNNING = 120.0
"""Longer than any provider call a submission makes; a claim older than this with no
outcome lost its answer (or its process)."""


def _m001_initial(db: Engine) -> None:
    db.table("payments").create(
        {
            "id": str,
            "team_id": str,
            "provider": str,
            "direction": str,
            "invoice_ids": str,
            "invoice_numbers": str,
            "amount": str,
            "currency": str,
            "method_id": str,
            "method_name": str,
            "issuer_id": str,
            "user_id": str,
            "channel_id": str,
            "message_ts": str,
            "response_url": str,
            "state": str,
            "provider_reference": str,
            "start": str,
            "token_hash": str,
            "token_expires_at": float,
            "created_at": str,
            "updated_at": str,
            "paid_at": str,
            "next_check_at": float,
            "check_attempts": int,
            "last_error": str,
        },
        pk="id",
        not_null={"team_id", "provider", "state", "amount", "currency", "created_at"},
        defaults={"check_attempts": 0},
    )
    db.table("payments").create_index(["token_hash"], unique=True)
    db.table("payments").create_index(["state", "next_check_at"])
    db.table("outbox").create(
        {
            "id": int,
            "key": str,
            "method": str,
            "args": str,
            "created_at": str,
            "attempts": int,
            "next_attempt_at": float,
            "sent_at": str,
            "gave_up_at": str,
            "last_error": str,
        },
        pk="id",
        not_null={"key", "method", "args"},
        defaults={"attempts": 0},
    )
    db.table("outbox").create_index(["key"], unique=True)
    db.table("outbox").create_index(["sent_at", "next_attempt_at"])
    db.table("audit").create(
        {
            "id": int,
            "at": str,
            "team_id": str,
            "user_id": str,
            "action": str,
            "subject": str,
            "detail": str,
        },
        pk="id",
    )
    db.table("connections").create(
        {
            "team_id": str,
            "provider": str,
            "sealed": bytes,
            "connected_by": str,
            "connected_at": str,
        },
        pk=("team_id", "provider"),
    )


def _m002_settlements(db: Engine) -> None:
    """Attempts become evidence; the settlement of an invoice is a row of its own.

    `settled_invoices` has one row per (team, provider, invoice): its primary key is what
    makes a second settlement of the same invoice impossible, in any number of processes.
    """
    payments = db.table("payments")
    payments.add_column("charges_at_once", int, not_null_default=0)
    payments.add_column("opened_at", str)
    payments.add_column("created_ts", float)
    payments.add_column("sealed_token", bytes)
    payments.add_column("settlement_id", str)
    for payment_id, created_at in db.execute(
        "SELECT id, created_at FROM payments WHERE created_ts IS NULL"
    ).fetchall():
        db.execute(
            "UPDATE payments SET created_ts = ? WHERE id = ?",
            [datetime.fromisoformat(created_at).timestamp(), payment_id],
        )
    db.table("settlements").create(
        {
            "id": str,
            "team_id": str,
            "provider": str,
            "payment_id": str,
            "invoice_ids": str,
            "evidence": str,
            "settled_at": str,
        },
        pk="id",
        not_null={"team_id", "provider", "payment_id", "invoice_ids", "settled_at"},
    )
    db.table("settlements").create_index(["payment_id"], unique=True)
    db.table("settled_invoices").create(
        {"team_id": str, "provider": str, "invoice_id": str, "settlement_id": str},
        pk=("team_id", "provider", "invoice_id"),
        not_null={"settlement_id"},
    )
    outbox = db.table("outbox")
    outbox.add_column("attempted_at", float)
    outbox.add_column("ts", str)
    outbox.add_column("adopted", int, not_null_default=0)
    # Backfill: a payment already paid before this migration is its own settlement.
    for row in db.execute(
        "SELECT id, team_id, provider, invoice_ids, paid_at FROM payments WHERE state = 'paid'"
    ).fetchall():
        payment_id, team_id, provider, invoice_ids, paid_at = row
        db.execute(
            "INSERT INTO settlements (id, team_id, provider, payment_id, invoice_ids, evidence, "
            "settled_at) VALUES (?, ?, ?, ?, ?, 'invoice', ?)",
            [payment_id, team_id, provider, payment_id, invoice_ids, paid_at or now_iso()],
        )
        for invoice_id in json.loads(invoice_ids):
            db.execute(
                "INSERT INTO settled_invoices VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [team_id, provider, invoice_id, payment_id],
            )
        db.execute("UPDATE payments SET settlement_id = ? WHERE id = ?", [payment_id, payment_id])


def _m003_outbox_claims(db: Engine) -> None:
    """A sender claims a row before calling Slack, so two senders never post it both."""
    db.table("outbox").add_column("claimed_until", float)


def _m004_payment_details(db: Engine) -> None:
    """What a finance person reads about a payment: the bank, the customer, each invoice
    with its amount and the credit notes netted off (JSON lists of number and amount)."""
    payments = db.table("payments")
    for column in ("issuer_name", "payer_name", "lines", "credits", "receipt"):
        payments.add_column(column, str)


def _m005_submissions(db: Engine) -> None:
    """Dialog submissions that act once (creating an invoice), keyed by the dialog."""
    db.table("submissions").create(
        {"key": str, "team_id": str, "user_id": str, "at": str}, pk="key"
    )


def _m006_approvals(db: Engine) -> None:
    """Team settings (a small generic key/value table, reusable for any per-workspace
    choice), approval requests, each person's decision, and the messages to update."""
    db.table("team_settings").create(
        {"team_id": str, "key": str, "value": str, "updated_by": str, "updated_at": str},
        pk=("team_id", "key"),
        not_null={"value"},
    )
    db.table("approval_requests").create(
        {
            "id": str,
            "team_id": str,
            "provider": str,
            "invoice_ids": str,
            "invoice_numbers": str,
            "invoices_key": str,
            "binding_key": str,
            "amount": str,
            "currency": str,
            "requester": str,
            "note": str,
            "due": str,
            "needed": int,
            "approvers": str,
            "state": str,
            "created_at": float,
            "expires_at": float,
            "decided_at": float,
            "reason": str,
            "rejected_by": str,
            "billing_ts": str,
            "delivered_at": float,
        },
        pk="id",
        not_null={"team_id", "provider", "invoices_key", "binding_key", "state", "requester"},
    )
    db.execute(
        "CREATE UNIQUE INDEX approval_one_pending ON approval_requests (team_id, invoices_key) "
        "WHERE state = 'pending'"
    )
    db.table("approval_requests").create_index(["team_id", "invoices_key", "created_at"])
    db.table("approval_requests").create_index(["state", "expires_at"])
    db.table("approval_requests").create_index(["state", "delivered_at"])
    db.table("approval_decisions").create(
        {"request_id": str, "user_id": str, "decision": str, "reason": str, "at": str},
        pk=("request_id", "user_id"),
        not_null={"decision"},
    )
    db.table("approval_messages").create(
        {"request_id": str, "user_id": str, "channel": str, "ts": str},
        pk=("request_id", "user_id"),
        not_null={"channel", "ts"},
    )


def _m007_schedules(db: Engine) -> None:
    """Scheduled runs and reminders, each under a unique key so that it happens once.

    A run is (schedule, team, period): claimed by compare-and-set before it works and
    marked done in the transaction that queues its messages. A reminder is (kind, team,
    provider, invoice, day): at most one a day for an invoice, whoever asks.
    """
    db.table("schedule_runs").create(
        {
            "schedule": str,
            "team_id": str,
            "period": str,
            "claimed_at": str,
            "claimed_until": float,
            "done_at": str,
        },
        pk=("schedule", "team_id", "period"),
    )
    db.table("reminders").create(
        {
            "id": int,
            "kind": str,
            "team_id": str,
            "provider": str,
            "invoice_id": str,
            "invoice_number": str,
            "day": str,
            "at": str,
            "user_id": str,
            "automatic": int,
            "state": str,
            "sent_to": str,
        },
        pk="id",
        not_null={"kind", "team_id", "provider", "invoice_id", "day", "at", "state"},
    )
    db.table("reminders").create_index(
        ["kind", "team_id", "provider", "invoice_id", "day"], unique=True
    )


def _m008_installations(db: Engine) -> None:
    """Workspaces that installed by OAuth, OAuth states in flight, and who sends each
    queued Slack call.

    An installation's tokens are one sealed value (`sealed`); `refresh_until` is the
    lease of the process refreshing them, so a single-use refresh token is spent once.
    A workspace installed by OAuth keeps its billing channel, admins and payers in
    `team_settings` (made by `006_approvals`) instead of environment variables.
    """
    db.table("installations").create(
        {
            "enterprise_id": str,
            "team_id": str,
            "team_name": str,
            "app_id": str,
            "bot_id": str,
            "bot_user_id": str,
            "bot_scopes": str,
            "installer_user_id": str,
            "is_enterprise_install": int,
            "sealed": bytes,
            "installed_at": float,
            "token_issued_at": float,
            "refresh_holder": str,
            "refresh_until": float,
        },
        pk=("enterprise_id", "team_id"),
        not_null={"enterprise_id", "team_id", "sealed"},
    )
    db.table("oauth_states").create({"state": str, "expires_at": float}, pk="state")
    db.table("outbox").add_column("team_id", str)


def _m009_slack_events(db: Engine) -> None:
    """Slack's event ids seen lately, so that a delivery Slack repeats is handled once by
    whichever process receives it first."""
    db.table("slack_events_seen").create(
        {"event_id": str, "team_id": str, "seen_at": float},
        pk="event_id",
        not_null={"seen_at"},
    )
    db.table("slack_events_seen").create_index(["seen_at"])


def _m010_channel_pacing(db: Engine) -> None:
    """When each channel may next be posted to, shared by every process: Slack takes one
    message a second per channel."""
    db.table("channel_pacing").create({"channel": str, "next_post_at": float}, pk="channel")


def _m011_submission_outcomes(db: Engine) -> None:
    """What became of each act-once submission: created (and which invoice), failed, or
    unknown, so a form submitted again says what the first submit did."""
    db.table("submissions").add_column("outcome", str)
    db.table("submissions").add_column("subject", str)


def _m012_audit_lookups(db: Engine) -> None:
    """The audit table grows for as long as the bot runs, and history and export read it
    by subject (as stored and as a person typed a number) and by time. No index leads with
    `team_id`: one workspace's rows are nearly all of them, and without statistics
    sqlite would pick that index over the subject ones and scan the team."""
    audit = db.table("audit")
    audit.create_index(["subject"])
    audit.create_index(["at"])
    db.execute("CREATE INDEX idx_audit_subject_lower ON audit ((LOWER(subject)))")


def _m014_unconfirmed_ends(db: Engine) -> None:
    """Whether a failed or cancelled end rests on evidence that is not the provider's
    record of the attempt, so its pages never say that nothing was charged, also once
    the watch over it has ended. Ends watched now are such ends; ones whose watch ended
    before cannot be told apart and keep their wording. (013 was used by a change that
    was reverted: that name stays unused.)"""
    db.table("payments").add_column("unconfirmed_end", int, not_null_default=0)
    db.execute(
        "UPDATE payments SET unconfirmed_end = 1 WHERE state IN ('failed', 'cancelled') "
        "AND next_check_at IS NOT NULL"
    )


def _m015_approval_redelivery(db: Engine) -> None:
    """When to try again an approval's DMs that Slack refused for now (rate-limited,
    busy): before, a refused DM counted as sent and the request waited for nobody."""
    db.table("approval_requests").add_column("deliver_after", float)


def _m016_approval_rules(db: Engine) -> None:
    """The bracket each approval request was asked under, so an approval given before
    an admin made the rule stricter no longer lets the payment through."""
    db.table("approval_requests").add_column("rule", str)


def _m017_kept_returns(db: Engine) -> None:
    """The provider's return for a payment, kept (sealed) from before it is asked about
    until it has been: only the return names some transactions (Payfirma's lookup id),
    and a stop mid-ask lost it, leaving the payment to expire unconfirmed."""
    db.table("payments").add_column("kept_return", str)


def _m018_approval_billing_channel(db: Engine) -> None:
    """The channel an approval request's billing post went to: its thread is there, and
    a reply sent to another channel with that post's ts is taken by Slack and shown
    nowhere (the billing channel may change while the request waits)."""
    db.table("approval_requests").add_column("billing_channel", str)


def _m019_kept_return_checks(db: Engine) -> None:
    """An ended payment whose kept return is still to be asked about is due for a check
    (`CHECK_DUE`): the poller's query reads those through this index, not by reading
    every payment ever made each second."""
    db.execute(
        "CREATE INDEX idx_payments_kept_return_checks ON payments (next_check_at) "
        "WHERE kept_return IS NOT NULL"
    )


def _m020_settled_in_utc(db: Engine) -> None:
    """Payment times in UTC: a provider's own offset (Payfirma's transaction time can
    carry one) was stored as given, and the newest settlements, ordered as text, then
    came in the wrong order on App Home."""
    for table, column in (("settlements", "settled_at"), ("payments", "paid_at")):
        rows = db.execute(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608 - fixed names
        for row_id, text in rows.fetchall():
            moment = _moment(text)
            if moment is not None and (fixed := utc_text(moment)) != text:
                db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [fixed, row_id])  # noqa: S608


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # not a time: left as it is, for a person to see
        return None


def _m021_approval_netted(db: Engine) -> None:
    """How a request's amount is made when credit notes are netted off it, so that an
    approver checking the invoice (€1,452.00) reads why less is asked for (€1,427.80)."""
    db.table("approval_requests").add_column("netted", str)


def _m022_approval_times_kept(db: Engine) -> None:
    """An approval that expired had its approval time overwritten with the expiry's, so
    the payments made under it no longer found it (the export's `approvals` column read
    empty a day later): give it back the time of its last approval."""
    expired = db.execute(
        "SELECT id, needed FROM approval_requests WHERE state = 'expired'"
    ).fetchall()
    for request_id, needed in expired:
        approved = db.execute(
            "SELECT at FROM approval_decisions WHERE request_id = ? AND decision = 'approve'",
            [request_id],
        ).fetchall()
        if approved and len(approved) >= (needed or 0):
            given = max(datetime.fromisoformat(str(row[0])).timestamp() for row in approved)
            db.execute(
                "UPDATE approval_requests SET decided_at = ? WHERE id = ?", [given, request_id]
            )


def _m023_reminder_sent_by_email(db: Engine) -> None:
    """The Send by e-mail attempt that was an overdue invoice's reminder for its day:
    the invoice's story tells that e-mail once, as the attempt it was."""
    db.table("reminders").add_column("payment_id", str)


def _m024_created_lookups(db: Engine) -> None:
    """A create that e-mails the invoice keeps its draft (with the reference the provider
    keeps) until the invoice is watched: one whose answer was lost is looked for."""
    table = db.table("submissions")
    for column, kind in (("provider", str), ("draft", str), ("lookup", str), ("look_at", float)):
        table.add_column(column, kind)
    table.create_index(["lookup", "look_at"])  # the poller asks every round


def _m025_sign_ins(db: Engine) -> None:
    """A provider's sign-in waiting for its one-time code, its credentials sealed: on
    PostgreSQL the code may reach another process than the credentials did."""
    db.table("sign_ins").create(
        {
            "team_id": str,
            "challenge": str,
            "provider": str,
            "sealed": bytes,
            "connected_by": str,
            "started_at": float,
        },
        pk=("team_id", "challenge"),
        not_null={"provider", "sealed", "started_at"},
    )


def _m026_approval_expiry_retries(db: Engine) -> None:
    """When to try again to expire a request whose expiry failed: left due, it came
    first in every sweep (oldest first, fifty at a time), and enough such held back
    the expiry of every other request."""
    db.table("approval_requests").add_column("expire_after", float)


def _m027_approval_credits(db: Engine) -> None:
    """The credit notes a request's amount took off (their numbers, JSON): once another
    payment has used one, the lists no longer say the request's amount is awaited."""
    db.table("approval_requests").add_column("credits", str)


def _m028_approval_dm_attempts(db: Engine) -> None:
    """A DM about an approval request sent with no answer yet, by request and person:
    where (the DM's id), when, and how far its history was read for it since. A DM
    whose answer was lost (a reset, a 5xx, a stop) is looked for there, not sent again."""
    db.table("approval_attempts").create(
        {
            "request_id": str,
            "user_id": str,
            "channel": str,
            "attempted_at": float,
            "searched_below": float,
        },
        pk=("request_id", "user_id"),
        not_null={"channel", "attempted_at"},
    )


def _m029_settlements_in_parts(db: Engine) -> None:
    """An attempt may be credited with two settlements: the end of its watch settles the
    invoices the provider lists paid, its own money confirmed after the rest (see
    `Settlement._settle_rest`). Each invoice is still settled once (`settled_invoices`)."""
    db.execute("DROP INDEX IF EXISTS idx_settlements_payment_id")
    db.table("settlements").create_index(["payment_id"])


MIGRATIONS: list[tuple[str, Migration]] = [
    ("001_initial", _m001_initial),
    ("002_settlements", _m002_settlements),
    ("003_outbox_claims", _m003_outbox_claims),
    ("004_payment_details", _m004_payment_details),
    ("005_submissions", _m005_submissions),
    ("006_approvals", _m006_approvals),
    ("007_schedules", _m007_schedules),
    ("008_installations", _m008_installations),
    ("009_slack_events", _m009_slack_events),
    ("010_channel_pacing", _m010_channel_pacing),
    ("011_submission_outcomes", _m011_submission_outcomes),
    ("012_audit_lookups", _m012_audit_lookups),
    ("014_unconfirmed_ends", _m014_unconfirmed_ends),
    ("015_approval_redelivery", _m015_approval_redelivery),
    ("016_approval_rules", _m016_approval_rules),
    ("017_kept_returns", _m017_kept_returns),
    ("018_approval_billing_channel", _m018_approval_billing_channel),
    ("019_kept_return_checks", _m019_kept_return_checks),
    ("020_settled_in_utc", _m020_settled_in_utc),
    ("021_approval_netted", _m021_approval_netted),
    ("022_approval_times_kept", _m022_approval_times_kept),
    ("023_reminder_sent_by_email", _m023_reminder_sent_by_email),
    ("024_created_lookups", _m024_created_lookups),
    ("025_sign_ins", _m025_sign_ins),
    ("026_approval_expiry_retries", _m026_approval_expiry_retries),
    ("027_approval_credits", _m027_approval_credits),
    ("028_approval_dm_attempts", _m028_approval_dm_attempts),
    ("029_settlements_in_parts", _m029_settlements_in_parts),
]


def migrate(db: Engine, migrations: list[tuple[str, Migration]] = MIGRATIONS) -> list[str]:
    """Apply, in order, each migration this database has not seen; return their names.

    Each one runs in a claim of its own: processes starting together on one PostgreSQL
    wait for each other, and the second finds the work done.
    """
    applied = []
    for name, migration in migrations:
        with db.claim():
            table = db.table("_migrations")
            if not table.exists():
                table.create({"name": str, "applied_at": str}, pk="name")
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone():
                continue
            migration(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", [name, now_iso()]
            )
        applied.append(name)
    return applied


def applied_migrations(db: Engine) -> list[str]:
    """The names of the migrations this database has seen, in the order applied."""
    rows = db.execute("SELECT name FROM _migrations ORDER BY applied_at, name").fetchall()
    return [str(row[0]) for row in rows]


def utc_text(moment: datetime | None) -> str:
    """A payment's time as stored: UTC to the second, so that times order as text (a
    time without a zone is taken as UTC); now, if the provider gave none."""
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def now_iso() -> str:
    return _second_iso(int(time.time()))


@functools.lru_cache(maxsize=2)
def _second_iso(second: int) -> str:
    """One text per second (the audit's resolution): a burst of commands, each of which
    writes an audit row, formats the time once, not a thousand times a second."""
    return datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class OutboxItem:
    id: int
    key: str
    method: str
    args: dict[str, Any]
    attempts: int
    attempted_at: float | None = None
    """Set when an earlier call may have reached Slack without us hearing the answer."""
    team_id: str | None = None
    """The workspace whose bot token sends it (None: the only workspace)."""


@dataclass(frozen=True)
class AuditEntry:
    at: str
    team_id: str | None
    user_id: str | None
    action: str
    subject: str | None
    detail: dict[str, Any]


class Store:
    """The database, opened and migrated; one per process.

    `database` is a sqlite path, or a `postgresql://` URL (see `bot.engine`).
    """

    def __init__(self, database: Path | str, box: CredentialBox | None = None) -> None:
        self.db: Engine = open_engine(database)
        self.box = box
        self._audit_batch: list[AuditRow] = []
        self._audit_db: Engine | None = None  # the background flush's own connection
        self._settled: dict[
            tuple[str, str], tuple[float, dict[str, Money | None], dict[str, datetime]]
        ] = {}
        migrate(self.db)

    @property
    def shared(self) -> bool:
        """True when other processes may be serving this database right now."""
        return self.db.shared

    def close(self) -> None:
        self.flush_audit()
        if self._audit_db is not None:
            self._audit_db.close()
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (nested: a savepoint)."""
        with self.db.transaction():
            yield

    @contextmanager
    def claim(self) -> Iterator[None]:
        """A transaction that takes the write lock before it reads.

        For read-then-write decisions (is this invoice settled? is a link live?) that
        another process must not interleave with: sqlite's `BEGIN IMMEDIATE`; on
        PostgreSQL one advisory lock that every claim takes, so the second process
        waits and then reads what the first committed.
        """
        with self.db.claim():
            yield

    def _rows(self, sql: str, parameters: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return _dicts(self.db.execute(sql, parameters))

    # payments ---------------------------------------------------------------------

    def add_payment(
        self,
        payment: Payment,
        *,
        token_hash: str,
        token_expires_at: float,
        sealed_token: bytes | None = None,
    ) -> None:
        self._insert(
            "payments",
            {
                "id": payment.id,
                "team_id": payment.team_id,
                "provider": payment.provider,
                "direction": payment.direction,
                "invoice_ids": json.dumps(list(payment.invoice_ids)),
                "invoice_numbers": json.dumps(list(payment.invoice_numbers)),
                "amount": str(payment.amount.amount),
                "currency": payment.amount.currency,
                "method_id": payment.method_id,
                "method_name": payment.method_name,
                "issuer_id": payment.issuer_id,
                "user_id": payment.user_id,
                "channel_id": payment.channel_id,
                "message_ts": payment.message_ts,
                "response_url": self._seal_url(payment.response_url),
                "state": payment.state.value,
                "provider_reference": payment.provider_reference,
                "token_hash": token_hash,
                "token_expires_at": token_expires_at,
                "created_at": payment.created_at.isoformat(),
                "created_ts": payment.created_at.timestamp(),
                "updated_at": now_iso(),
                "charges_at_once": int(payment.charges_at_once),
                "sealed_token": sealed_token,
                "issuer_name": payment.issuer_name,
                "payer_name": payment.payer_name,
                "lines": _amounts_json(payment.lines),
                "credits": _amounts_json(payment.credits),
            },
        )

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608 - names are ours

    def _update(self, table: str, key: Any, fields: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        self.db.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ?",  # noqa: S608 - names are ours
            [*fields.values(), key],
        )

    def _payment_row(self, column: str, value: str) -> dict[str, Any] | None:
        """One payments row, by a plain query: the landing page reads these under load,
        and sqlite-utils' table lookup asks sqlite for its list of views each time."""
        assert column in ("id", "token_hash")
        cursor = self.db.execute(f"SELECT * FROM payments WHERE {column} = ?", [value])  # noqa: S608
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None

    def payment(self, payment_id: str) -> Payment | None:
        row = self._payment_row("id", payment_id)
        return self._payment(row) if row else None

    def payment_by_token(self, token_hash: str) -> tuple[Payment, float] | None:
        """The payment a token belongs to, and when the token expires (unix time)."""
        row = self._payment_row("token_hash", token_hash)
        return (self._payment(row), row["token_expires_at"]) if row else None

    def compare_and_set_state(
        self, payment_id: str, expected: set[PaymentState], new: PaymentState, **fields: Any
    ) -> bool:
        """Move to `new` only from one of `expected`; False (and no change) otherwise."""
        assignments = {"state": new.value, "updated_at": now_iso(), **fields}
        placeholders = ", ".join(f"{column} = ?" for column in assignments)
        states = sorted(state.value for state in expected)
        cursor = self.db.execute(
            f"UPDATE payments SET {placeholders} WHERE id = ? "  # noqa: S608 - column names are ours
            f"AND state IN ({', '.join('?' for _ in states)})",
            [*assignments.values(), payment_id, *states],
        )
        return cursor.rowcount == 1

    def update_payment(self, payment_id: str, **fields: Any) -> None:
        """Fields that are not the state: provider reference, message ts, poll schedule."""
        if "state" in fields:
            raise ValueError("use compare_and_set_state to change a payment's state")
        self._update("payments", payment_id, {**fields, "updated_at": now_iso()})

    def payments_to_check(self, now: float, limit: int = 50) -> list[Payment]:
        """Attempts whose outcome can still change and whose next check is due.

        CREATED is left to the process that is starting it until `interrupted` hands it
        over; everything else live is asked about on its schedule, and so is a failure
        that was concluded from ambiguous evidence (it keeps a `next_check_at`).
        """
        rows = self._rows(
            f"SELECT * FROM payments WHERE {CHECK_DUE} ORDER BY next_check_at LIMIT ?",  # noqa: S608
            [now, limit],
        )
        return [self._payment(row) for row in rows]

    def claim_payments_to_check(self, now: float, lease: float, limit: int = 50) -> list[Payment]:
        """`payments_to_check`, each taken for `lease` seconds by moving its next check
        on: processes polling one database ask the provider about a payment once, and
        one that dies mid-check leaves it to the others when the lease ends."""
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.db.shared else ""
        with self.transaction():
            rows = self._rows(
                "UPDATE payments SET next_check_at = ? WHERE id IN (SELECT id FROM payments "  # noqa: S608
                f"WHERE {CHECK_DUE} ORDER BY next_check_at LIMIT ?{skip_locked}) RETURNING *",
                [now + lease, now, limit],
            )
        return sorted((self._payment(row) for row in rows), key=lambda p: p.next_check_at or 0)

    def release_check(self, payment: Payment, now: float) -> None:
        """A payment taken by `claim_payments_to_check` whose check a stop cut short is
        due again at once, unless something else changed its schedule meanwhile."""
        self.db.execute(
            "UPDATE payments SET next_check_at = ? WHERE id = ? AND next_check_at = ?",
            [now, payment.id, payment.next_check_at],
        )

    def release_check_claims(self, now: float, lease: float) -> None:
        """At start-up on sqlite: a check taken by a process that died (a kill -9 mid-check)
        is due again at once, not when its lease ends. Its claim cannot be told from a
        check scheduled within the lease, which is only asked about a little early. On
        PostgreSQL another process may be checking now: the lease decides."""
        if not self.db.shared:
            self.db.execute(
                "UPDATE payments SET next_check_at = ? WHERE next_check_at > ? "
                "AND next_check_at <= ?",
                [now, now, now + lease],
            )

    def interrupted(self, started_before: float) -> list[Payment]:
        """Attempts still CREATED that began before `started_before`: their start was
        cut short (a crash, a kill) and nobody is waiting for its answer any more."""
        rows = self._rows(
            "SELECT * FROM payments WHERE state = 'created' AND created_ts < ? ORDER BY created_ts",
            [started_before],
        )
        return [self._payment(row) for row in rows]

    def unscheduled(self) -> list[Payment]:
        """Attempts out with the provider that no check is due for: a stop between
        issuing and scheduling, from a version that did not write both together."""
        rows = self._rows(
            "SELECT * FROM payments WHERE state IN ('link_issued', 'opened', 'unknown') "
            "AND next_check_at IS NULL ORDER BY created_ts"
        )
        return [self._payment(row) for row in rows]

    def keep_return(self, payment_id: str, params: dict[str, str]) -> None:
        """The provider's return (the query the payer's browser brought back), until
        `drop_return`: sealed, as it can carry our token; not kept without a key."""
        if self.box is not None:
            sealed = self.box.seal_text(json.dumps(params)).decode()
            self._update("payments", payment_id, {"kept_return": sealed})

    def kept_return(self, payment_id: str) -> dict[str, str] | None:
        row = self.db.execute(
            "SELECT kept_return FROM payments WHERE id = ?", [payment_id]
        ).fetchone()
        if not row or not row[0] or self.box is None:
            return None
        opened = self.box.open_text(str(row[0]).encode())
        try:
            params = json.loads(opened) if opened else None
        except ValueError:
            return None
        if not isinstance(params, dict):
            return None
        return {str(k): str(v) for k, v in params.items()}

    def drop_return(self, payment_id: str, params: dict[str, str]) -> None:
        """Forget the kept return if it is still `params`: a later return (another tab's)
        kept meanwhile stays until it has been asked about itself."""
        if self.kept_return(payment_id) == params:
            self._update("payments", payment_id, {"kept_return": None})

    def sealed_token(self, payment_id: str) -> bytes | None:
        row = self.db.execute(
            "SELECT sealed_token FROM payments WHERE id = ?", [payment_id]
        ).fetchone()
        return row[0] if row else None

    # settlements ------------------------------------------------------------------

    def settlement_of(self, team_id: str, provider: str, invoice_ids: list[str]) -> str | None:
        """The settlement that already covers any of these invoices, if one does."""
        if not invoice_ids:
            return None
        row = self.db.execute(
            "SELECT settlement_id FROM settled_invoices WHERE team_id = ? AND provider = ? "  # noqa: S608
            f"AND invoice_id IN ({_marks(invoice_ids)}) LIMIT 1",
            [team_id, provider, *invoice_ids],
        ).fetchone()
        return str(row[0]) if row else None

    def credited_with(self, team_id: str, provider: str, invoice_ids: list[str]) -> set[str]:
        """The attempts credited with any of these invoices' settlements (payment ids)."""
        if not invoice_ids:
            return set()
        rows = self.db.execute(
            "SELECT DISTINCT s.payment_id FROM settled_invoices si JOIN settlements s "  # noqa: S608
            "ON s.id = si.settlement_id WHERE si.team_id = ? AND si.provider = ? "
            f"AND si.invoice_id IN ({_marks(invoice_ids)})",
            [team_id, provider, *invoice_ids],
        ).fetchall()
        return {str(row[0]) for row in rows}

    def settled_amounts(
        self,
        team_id: str,
        provider: str,
        *,
        fresh: bool = False,
        since: datetime | None = None,
    ) -> dict[str, Money | None]:
        """Every invoice of this connection that a payment through the bot settled, with
        what that payment paid for it (None where it cannot be told). Read at most every
        `SETTLED_READ_SECONDS` by a process, and at once after it settles one itself:
        lists read it on every page, and the table only grows. `fresh`: read now, for
        what tells people to pay (another process may have settled one a moment ago).
        `since`: only those settled from then on (see `bot.invoices.PAID_BRIDGE`)."""
        key = (team_id, provider)
        now = time.monotonic()
        kept = self._settled.get(key)
        if kept is None or kept[0] <= now or fresh:
            rows = self.db.execute(
                "SELECT si.invoice_id, p.invoice_ids, p.invoice_numbers, p.lines, p.amount, "
                "p.currency, s.settled_at FROM settled_invoices si "
                "JOIN settlements s ON s.id = si.settlement_id "
                "JOIN payments p ON p.id = s.payment_id WHERE si.team_id = ? AND si.provider = ?",
                [team_id, provider],
            ).fetchall()
            found = {str(row[0]): _paid_for(*row[:6]) for row in rows}
            dates = {str(row[0]): _aware(row[6]) for row in rows}
            kept = (now + SETTLED_READ_SECONDS, found, dates)
            self._settled[key] = kept
        _, found, dates = kept
        if since is None:
            return found
        return {invoice: paid for invoice, paid in found.items() if dates[invoice] >= since}

    def settled_dates(self, team_id: str, provider: str, invoice_ids: list[str]) -> dict[str, str]:
        """When each of these invoices was settled through the bot (ISO time), by invoice id."""
        if not invoice_ids:
            return {}
        rows = self.db.execute(
            "SELECT si.invoice_id, s.settled_at FROM settled_invoices si JOIN settlements s "  # noqa: S608
            "ON s.id = si.settlement_id WHERE si.team_id = ? AND si.provider = ? "
            f"AND si.invoice_id IN ({_marks(invoice_ids)})",
            [team_id, provider, *invoice_ids],
        ).fetchall()
        return {str(invoice_id): str(settled_at) for invoice_id, settled_at in rows}

    def add_settlement(
        self, settlement_id: str, payment: Payment, *, evidence: str, settled_at: str
    ) -> None:
        """Record that `payment` settled its invoices; raises if any is settled already.

        Call inside `claim()`: the primary key on `settled_invoices` is the last word, so
        two processes racing to settle one invoice cannot both succeed.
        """
        self.db.execute(
            "INSERT INTO settlements (id, team_id, provider, payment_id, invoice_ids, evidence, "
            "settled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                settlement_id,
                payment.team_id,
                payment.provider,
                payment.id,
                json.dumps(list(payment.invoice_ids)),
                evidence,
                settled_at,
            ],
        )
        self._settled.pop((payment.team_id, payment.provider), None)
        self.db.executemany(
            "INSERT INTO settled_invoices (team_id, provider, invoice_id, settlement_id) "
            "VALUES (?, ?, ?, ?)",
            [(payment.team_id, payment.provider, i, settlement_id) for i in payment.invoice_ids],
        )

    def settlements(self) -> list[dict[str, Any]]:
        """Every settlement, oldest first: for tests and the operator's eyes."""
        return self._rows("SELECT * FROM settlements ORDER BY settled_at, id")

    def recent_settlements(self, team_id: str, limit: int = 10) -> list[tuple[datetime, Payment]]:
        """The team's latest settlements, newest first: when, and the attempt credited
        (its invoices, amount, provider, direction and who started it)."""
        rows = self._settled_rows(
            "s.team_id = ? ORDER BY s.settled_at DESC, s.id DESC LIMIT ?", [team_id, limit]
        )
        return [(at, self._credited(row, at)) for at, row in rows]

    def _settled_rows(self, where: str, args: list[Any]) -> list[tuple[datetime, dict[str, Any]]]:
        """Settlements with the attempt each credits, as rows `_credited` reads, each with
        its time (UTC where stored without a zone), selected and ordered by `where`."""
        cursor = self.db.execute(
            "SELECT s.settled_at AS settled_at, s.id AS settled_key, "  # noqa: S608
            "s.invoice_ids AS settled_ids, p.* FROM settlements s "
            f"JOIN payments p ON p.id = s.payment_id WHERE {where}",
            args,
        )
        columns = [c[0] for c in cursor.description]
        found = []
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            found.append((_aware(row.pop("settled_at")), row))
        return found

    def settlements_between(
        self, team_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, Payment]]:
        """The team's settlements from `start` up to (not including) `end`, oldest first,
        each with the attempt credited. Compared as times, not text: a provider's payment
        time may carry its own offset."""
        found = [
            (at, self._credited(row, at))
            for at, row in self._settled_rows("s.team_id = ?", [team_id])
            if start <= at < end
        ]
        return sorted(found, key=lambda pair: pair[0])

    def recent_paid_twice(self, team_id: str, limit: int = 10) -> list[tuple[datetime, Payment]]:
        """The team's latest attempts that took money after their invoices were settled
        through another (see `paid_twice_between`), newest first, with when they paid."""
        rows = self._rows(
            "SELECT * FROM payments WHERE team_id = ? AND state = ? AND paid_at IS NOT NULL "
            "ORDER BY paid_at DESC LIMIT ?",
            [team_id, PaymentState.SUPERSEDED.value, limit],
        )
        found = []
        for row in rows:
            paid_at = datetime.fromisoformat(row["paid_at"])
            found.append((paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=UTC), row))
        return [(at, self._payment(row)) for at, row in found]

    def paid_twice_between(
        self, team_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, Payment, str | None]]:
        """The team's attempts that took money after their invoices were settled through
        another (see `Settlement._record_paid_twice`), paid from `start` up to (not
        including) `end`, oldest first, each with the settlement it doubles."""
        cursor = self.db.execute(
            "SELECT * FROM payments WHERE team_id = ? AND state = ? AND paid_at IS NOT NULL",
            [team_id, PaymentState.SUPERSEDED.value],
        )
        columns = [c[0] for c in cursor.description]
        found = []
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            paid_at = datetime.fromisoformat(row["paid_at"])
            if paid_at.tzinfo is None:
                paid_at = paid_at.replace(tzinfo=UTC)
            if start <= paid_at < end:
                payment = self._payment(row)
                doubled = self.settlement_of(team_id, payment.provider, list(payment.invoice_ids))
                found.append((paid_at, payment, doubled))
        return sorted(found, key=lambda found: found[0])

    def audit_between(self, team_id: str, start: datetime, end: datetime) -> list[AuditEntry]:
        """The team's audit entries from `start` up to (not including) `end`, with the
        state moves of its payments (rows that name no team: see `moves_of`), in the order
        they happened: by time, then as written. Ids alone are not that order: a batched
        row is written with a later flush, and another process may write in between."""
        self.flush_audit()
        rows = self._rows(
            "SELECT * FROM audit WHERE at >= ? AND at < ? AND (team_id = ? OR (team_id IS "
            "NULL AND subject IN (SELECT id FROM payments WHERE team_id = ?))) "
            "ORDER BY at, id",
            [_utc_iso(start), _utc_iso(end), team_id, team_id],
        )
        return [_audit_entry(row) for row in rows]

    def payments_for_number(self, team_id: str, number: str) -> list[Payment]:
        """Payments that include an invoice printed with `number`, oldest first."""
        numbers = self.db.json_values("p.invoice_numbers", "j")
        rows = self._rows(
            f"SELECT p.* FROM payments p WHERE p.team_id = ? AND EXISTS (SELECT 1 FROM {numbers} "  # noqa: S608
            "WHERE j.value = ?) ORDER BY p.created_ts",
            [team_id, number],
        )
        return [self._payment(row) for row in rows]

    def payments_crediting(self, team_id: str, number: str) -> list[Payment]:
        """Payments that took the credit note printed `number` (in any case) off their
        total, oldest first. Few payments carry credits, so they are matched here rather
        than in each database's JSON dialect."""
        rows = self._rows(
            "SELECT * FROM payments WHERE team_id = ? AND credits IS NOT NULL "
            "AND credits != '[]' ORDER BY created_ts",
            [team_id],
        )
        wanted = number.lower()
        # A cheap look at the JSON text first (it escapes all but ASCII, so only then).
        maybe = [
            self._payment(row)
            for row in rows
            if not wanted.isascii() or wanted in row["credits"].lower()
        ]
        return [p for p in maybe if any(c.number.lower() == wanted for c in p.credits)]

    def printed_number(self, team_id: str, number: str) -> str:
        """`number` as the team's payments print it, for a person who typed `inv-7` for
        `INV-7`: the number itself where it matches exactly or matches nothing."""
        numbers = self.db.json_values("p.invoice_numbers", "j")
        rows = self._rows(
            f"SELECT DISTINCT j.value AS number FROM payments p, {numbers} "  # noqa: S608
            "WHERE p.team_id = ? AND LOWER(j.value) = LOWER(?)",
            [team_id, number],
        )
        printed = {row["number"] for row in rows}
        return number if number in printed or len(printed) != 1 else printed.pop()

    def credit_note_number(self, team_id: str, number: str) -> str | None:
        """The credit note `number` (in any case) as the payments that took it off print
        it, or None when no payment took off a credit note of that number."""
        wanted = number.lower()
        printed = {
            credit.number
            for payment in self.payments_crediting(team_id, number)
            for credit in payment.credits
            if credit.number.lower() == wanted
        }
        if not printed:
            return None
        return number if number in printed or len(printed) != 1 else printed.pop()

    def audit_about(
        self, team_id: str, subjects: list[str], number: str | None = None
    ) -> list[AuditEntry]:
        """The team's audit entries whose subject is one of `subjects`, or the invoice
        `number` in any case (it is recorded as a person typed it), oldest first."""
        self.flush_audit()
        if not subjects and number is None:
            return []
        matches = [f"subject IN ({_marks(subjects)})"] if subjects else []
        if number is not None:
            matches.append("LOWER(subject) = LOWER(?)")
        rows = self._rows(
            f"SELECT * FROM audit WHERE team_id = ? AND ({' OR '.join(matches)}) ORDER BY id",  # noqa: S608
            [team_id, *subjects, *([number] if number is not None else [])],
        )
        return [_audit_entry(row) for row in rows]

    def menus_for(self, team_id: str, number: str) -> list[AuditEntry]:
        """The pay menus shown for the invoice printed `number`, alone or with others,
        oldest first: a menu's subject names invoice ids, its detail their numbers."""
        self.flush_audit()
        quoted = json.dumps(number)  # as `audit` wrote it into the detail
        pattern = "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._rows(
            "SELECT * FROM audit WHERE team_id = ? AND action = 'payment.menu' "
            "AND detail LIKE ? ESCAPE '\\' ORDER BY id",
            [team_id, pattern],
        )
        entries = [_audit_entry(row) for row in rows]
        return [e for e in entries if number in e.detail.get("invoices", [])]

    def moves_of(self, payment_ids: list[str]) -> list[AuditEntry]:
        """The audited state changes of these payments, oldest first. Their rows name no
        team: a payment's id is unique across teams."""
        self.flush_audit()
        if not payment_ids:
            return []
        rows = self._rows(
            f"SELECT * FROM audit WHERE subject IN ({_marks(payment_ids)}) "  # noqa: S608
            "AND team_id IS NULL AND action LIKE 'payment.%' ORDER BY id",
            payment_ids,
        )
        return [_audit_entry(row) for row in rows]

    def netting_credits(self, team_id: str, provider: str) -> list[Payment]:
        """Attempts still live (or in doubt) that take credit notes off what they ask."""
        rows = self._rows(
            "SELECT * FROM payments WHERE team_id = ? AND provider = ? AND state IN "
            "('created', 'link_issued', 'opened', 'unknown') AND credits IS NOT NULL "
            "AND credits != '[]'",
            [team_id, provider],
        )
        return [self._payment(row) for row in rows]

    def payments_for_invoices(
        self, team_id: str, provider: str, invoice_ids: list[str]
    ) -> list[Payment]:
        """Payments that include any of these invoices, newest first."""
        if not invoice_ids:
            return []
        values = self.db.json_values("p.invoice_ids", "j")
        rows = self._rows(
            "SELECT p.* FROM payments p WHERE p.team_id = ? AND p.provider = ? AND EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {values} WHERE j.value IN ({_marks(invoice_ids)})) "
            "ORDER BY p.created_at DESC",
            [team_id, provider, *invoice_ids],
        )
        return [self._payment(row) for row in rows]

    def token_expiry(self, payment_id: str) -> float:
        row = self.db.execute(
            "SELECT token_expires_at FROM payments WHERE id = ?", [payment_id]
        ).fetchone()
        if row is None:
            raise KeyError(payment_id)
        return float(row[0])

    def recent_payments(self, team_id: str, user_id: str, limit: int = 10) -> list[Payment]:
        rows = self._rows(
            "SELECT * FROM payments WHERE team_id = ? AND user_id = ? "
            "ORDER BY created_at DESC LIMIT ?",
            [team_id, user_id, limit],
        )
        return [self._payment(row) for row in rows]

    def payment_schedule(self, payment_id: str) -> tuple[float | None, int]:
        row = self.db.execute(
            "SELECT next_check_at, check_attempts FROM payments WHERE id = ?", [payment_id]
        ).fetchone()
        if row is None:
            raise KeyError(payment_id)
        return row[0], row[1] or 0

    # outbox -----------------------------------------------------------------------

    def enqueue(
        self,
        method: str,
        args: dict[str, Any],
        *,
        key: str,
        team_id: str | None = None,
        after: float = 0.0,
    ) -> None:
        """Queue a Slack call, sent with `team_id`'s bot token, `after` seconds from now
        at the soonest; a second call with the same key is ignored."""
        due = time.time() + after
        self.db.execute(
            "INSERT INTO outbox (key, method, args, created_at, attempts, next_attempt_at, "
            "team_id) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
            [key, method, json.dumps(self._sealed_args(args)), now_iso(), due, team_id],
        )

    def outbox_withdraw(self, key: str) -> None:
        """Drop the call queued under `key` unless a sender has taken it already."""
        self.db.execute(
            "DELETE FROM outbox WHERE key = ? AND sent_at IS NULL AND claimed_until IS NULL",
            [key],
        )

    def due_outbox(self, now: float, limit: int = 20) -> list[OutboxItem]:
        rows = self._rows(
            "SELECT * FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL "
            "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            [now, limit],
        )
        return [
            OutboxItem(
                id=row["id"],
                key=row["key"],
                method=row["method"],
                args=self._opened_args(json.loads(row["args"])),
                attempts=row["attempts"],
                attempted_at=row.get("attempted_at"),
                team_id=row.get("team_id"),
            )
            for row in rows
        ]

    def outbox_sent(self, item_id: int, ts: str | None = None, *, adopted: bool = False) -> None:
        self._update(
            "outbox",
            item_id,
            {"sent_at": now_iso(), "last_error": None, "ts": ts, "adopted": int(adopted)},
        )

    def outbox_claim(self, item_id: int, now: float, lease: float) -> bool:
        """Take the row for `lease` seconds; False when another sender holds it."""
        cursor = self.db.execute(
            "UPDATE outbox SET claimed_until = ? WHERE id = ? AND sent_at IS NULL "
            "AND gave_up_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)",
            [now + lease, item_id, now],
        )
        return cursor.rowcount == 1

    def outbox_hold(self, item_id: int, held_until: float, now: float, lease: float) -> bool:
        """Hold the row `lease` seconds more, if the claim that ends at `held_until` is
        still the sender's own; False when it ran out and another sender took the row."""
        cursor = self.db.execute(
            "UPDATE outbox SET claimed_until = ? WHERE id = ? AND sent_at IS NULL "
            "AND gave_up_at IS NULL AND claimed_until = ?",
            [now + lease, item_id, held_until],
        )
        return cursor.rowcount == 1

    def outbox_release(self, item_id: int, *, held_until: float | None = None) -> None:
        """A stop cut the call short: any sender may take the row now (a marked post's
        `attempted_at` still makes it look for what the call may have done).
        `held_until`: only while the sender's claim (ending then) is still its own: a
        sender that lost the row to another must not free it while that one posts."""
        sql = "UPDATE outbox SET claimed_until = NULL WHERE id = ? AND sent_at IS NULL"
        if held_until is None:
            self.db.execute(sql, [item_id])
        else:
            self.db.execute(f"{sql} AND claimed_until = ?", [item_id, held_until])

    def outbox_due_now(self, prefix: str, now: float) -> None:
        """At start-up alone on a sqlite file: the calls queued under keys starting with
        `prefix` for later are due now (see `bot.slack.progress.STAND_IN_AFTER`)."""
        if not self.db.shared:
            self.db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE key LIKE ? AND sent_at IS NULL "
                "AND gave_up_at IS NULL AND next_attempt_at > ?",
                [now, f"{prefix}%", now],
            )

    def release_outbox_claims(self) -> None:
        """At start-up: claims held by a process that died are free again. Only where
        one process serves the database (sqlite): on PostgreSQL another process may be
        sending right now, and a dead one's claims end with their lease."""
        if not self.db.shared:
            self.db.execute("UPDATE outbox SET claimed_until = NULL WHERE sent_at IS NULL")

    def outbox_attempting(self, item_id: int, now: float, *, moved: bool = False) -> None:
        """Written (and committed) before a call whose answer may be lost: from here on a
        retry must first look for what the call may have done. The earliest doubtful call
        is kept, unless `moved`: the channel was searched since and showed no earlier post,
        so only this call (or one still arriving) can have posted."""
        if moved:
            self.db.execute("UPDATE outbox SET attempted_at = ? WHERE id = ?", [now, item_id])
            return
        self.db.execute(
            "UPDATE outbox SET attempted_at = COALESCE(attempted_at, ?) WHERE id = ?",
            [now, item_id],
        )

    def outbox_not_done(self, item_id: int) -> None:
        """Slack said for sure that the call did nothing (429, a refusal)."""
        self.db.execute(
            "UPDATE outbox SET attempted_at = NULL WHERE id = ? AND sent_at IS NULL", [item_id]
        )

    def outbox_queued_after(self, key: str, later: list[str]) -> bool:
        """Whether any of the keys `later` was queued after the row keyed `key`."""
        if not later:
            return False
        row = self.db.execute(
            f"SELECT 1 FROM outbox WHERE key IN ({_marks(later)}) "  # noqa: S608
            "AND id > (SELECT id FROM outbox WHERE key = ?) LIMIT 1",
            [*later, key],
        ).fetchone()
        return row is not None

    def outbox_sending_before(self, key: str, earlier: list[str], now: float) -> bool:
        """Whether any of the keys `earlier`, queued before the row keyed `key`, is being
        sent right now by a sender (claimed, not yet sent or given up)."""
        if not earlier:
            return False
        row = self.db.execute(
            f"SELECT 1 FROM outbox WHERE key IN ({_marks(earlier)}) "  # noqa: S608
            "AND id < (SELECT id FROM outbox WHERE key = ?) AND sent_at IS NULL "
            "AND gave_up_at IS NULL AND claimed_until > ? LIMIT 1",
            [*earlier, key, now],
        ).fetchone()
        return row is not None

    def outbox_family(self, prefix: str) -> list[dict[str, Any]]:
        """Every row whose key starts with `prefix` (id, key, and whether it is sent, given
        up, or claimed until when), sent or not, in the order they were queued."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self._rows(
            "SELECT id, key, sent_at, gave_up_at, claimed_until FROM outbox "
            "WHERE key LIKE ? ESCAPE '\\' ORDER BY id",
            [pattern],
        )

    def outbox_ts(self, key: str) -> str | None:
        """The `ts` of the message a sent outbox item posted (for later chat.update)."""
        row = self.db.execute("SELECT ts FROM outbox WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def outbox_result(self, key: str) -> tuple[bool, str | None, float | None]:
        """Whether the call queued under `key` is done with (sent, refused for good, or
        never queued), the ts of the message it posted, if any, and when it is due."""
        row = self.db.execute(
            "SELECT sent_at, gave_up_at, ts, next_attempt_at FROM outbox WHERE key = ?", [key]
        ).fetchone()
        if row is None:
            return True, None, None
        return row[0] is not None or row[1] is not None, row[2], row[3]

    def outbox_refusal(self, key: str) -> str | None:
        """What Slack said when it refused the call queued under `key` for good, if it did."""
        row = self.db.execute(
            "SELECT last_error FROM outbox WHERE key = ? AND gave_up_at IS NOT NULL", [key]
        ).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def outbox_give_up(self, item_id: int, error: str) -> None:
        """Slack refused for good (bad channel, invalid blocks): keep the row, stop trying."""
        self._update(
            "outbox",
            item_id,
            {"gave_up_at": now_iso(), "last_error": error, "next_attempt_at": None},
        )

    def outbox_later(
        self, item_id: int, next_attempt_at: float, *, held_until: float | None = None
    ) -> None:
        """Hand the row back until its channel's turn: no call was made, no attempt counts.
        `held_until`: only while the sender's claim (ending then) is still its own."""
        sql = "UPDATE outbox SET next_attempt_at = ?, claimed_until = NULL WHERE id = ?"
        if held_until is None:
            self.db.execute(sql, [next_attempt_at, item_id])
        else:
            self.db.execute(f"{sql} AND claimed_until = ?", [next_attempt_at, item_id, held_until])

    def next_outbox_at(self, now: float) -> float | None:
        """When the next row no sender holds is due (in the past: due already)."""
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL "
            "AND (claimed_until IS NULL OR claimed_until < ?)",
            [now],
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def outbox_retry(
        self,
        item_id: int,
        error: str,
        next_attempt_at: float,
        *,
        held_until: float | None = None,
    ) -> None:
        """Try the row again at `next_attempt_at`. `held_until`: only while the sender's
        claim (ending then) is still its own: a sender whose slow look outlasted its claim
        must not free the row another sender took over and may be posting right now."""
        sql = (
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "claimed_until = NULL WHERE id = ?"
        )
        if held_until is None:
            self.db.execute(sql, [error, next_attempt_at, item_id])
        else:
            self.db.execute(
                f"{sql} AND claimed_until = ?", [error, next_attempt_at, item_id, held_until]
            )

    def reserve_post(
        self, channel: str, now: float, gap: float, max_wait: float
    ) -> tuple[bool, float]:
        """Take the channel's next free slot, `gap` seconds long, if it starts within
        `max_wait`: (True, when it starts), `now` when the channel is idle. Otherwise
        nothing is taken: (False, when the channel is next free). One conditional
        upsert: on PostgreSQL a second process waits on the row and takes the slot
        after, so two posts to a channel are never reserved within `gap` of each other."""
        row = self.db.execute(
            "INSERT INTO channel_pacing (channel, next_post_at) VALUES (?, ?) "
            "ON CONFLICT (channel) DO UPDATE SET next_post_at = CASE "
            "WHEN channel_pacing.next_post_at > ? THEN channel_pacing.next_post_at ELSE ? END + ? "
            "WHERE channel_pacing.next_post_at <= ? RETURNING next_post_at",
            [channel, now + gap, now, now, gap, now + max_wait],
        ).fetchone()
        if row is not None:
            return True, float(row[0]) - gap
        row = self.db.execute(
            "SELECT next_post_at FROM channel_pacing WHERE channel = ?", [channel]
        ).fetchone()
        return False, float(row[0]) if row else now

    def outbox_pending(self) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL"
        ).fetchone()
        return int(row[0])

    def outbox_items(self) -> list[dict[str, Any]]:
        """Every row, oldest first: for tests and the operator's eyes."""
        return self._rows("SELECT * FROM outbox ORDER BY id")

    # audit ------------------------------------------------------------------------

    def claim_submission(
        self,
        key: str,
        *,
        team_id: str,
        user_id: str,
        provider: str | None = None,
        watch: str | None = None,
    ) -> bool:
        """True the first time `key` is claimed, False ever after: a dialog submitted
        twice (a double click, a retried request) acts once.

        `watch`: the draft (JSON) of an invoice the provider e-mails as it creates it.
        Kept before the create, so that an invoice whose answer is lost, or whose
        process ends before its watch is recorded, is looked for (`lost_creates`) until
        `end_lookup`; a claim still running is left alone for `SUBMISSION_RUNNING`.
        """
        lookup = None if watch is None else LOOKUP_PENDING
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO submissions (key, team_id, user_id, at, provider, draft, lookup, "
                "look_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    key,
                    team_id,
                    user_id,
                    now_iso(),
                    provider,
                    watch,
                    lookup,
                    time.time() + SUBMISSION_RUNNING,
                ],
            )
            return cursor.rowcount == 1

    def settle_submission(self, key: str, outcome: Outcome, subject: str | None = None) -> None:
        """Record what the claimed submission `key` did; `subject` names what it made.

        Refused: nothing to look for. Unknown, or created otherwise than drafted: looked
        for at once (a created one is watched right after by its submit)."""
        with self.transaction():
            self.db.execute(
                "UPDATE submissions SET outcome = ?, subject = ? WHERE key = ?",
                [outcome, subject, key],
            )
            if outcome == "failed":
                self.db.execute(
                    "UPDATE submissions SET lookup = NULL, draft = NULL WHERE key = ? "
                    "AND lookup = ?",
                    [key, LOOKUP_PENDING],
                )
            elif outcome != "created":
                self.db.execute(
                    "UPDATE submissions SET look_at = ? WHERE key = ? AND lookup = ?",
                    [time.time(), key, LOOKUP_PENDING],
                )

    def lost_creates(self, now: float) -> list[dict[str, Any]]:
        """Creates still looked for whose time to look again has come, oldest first."""
        return self._rows(
            "SELECT key, team_id, user_id, at, provider, draft, outcome, subject, look_at "
            "FROM submissions WHERE lookup = ? AND look_at <= ? ORDER BY at",
            [LOOKUP_PENDING, now],
        )

    def take_lost_create(self, key: str, seen_at: float, next_at: float) -> bool:
        """Take the lost create `key` for one look (another process does not look at the
        same time): True when its next look was still `seen_at`, now moved to `next_at`."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE submissions SET look_at = ? WHERE key = ? AND lookup = ? AND look_at = ?",
                [next_at, key, LOOKUP_PENDING, seen_at],
            )
            return cursor.rowcount == 1

    def end_lookup(self, key: str, how: str) -> bool:
        """Stop looking for `key`'s invoice (`how`: watched, or told to look for it); True
        for the one caller that ended it, who then does what it says."""
        cursor = self.db.execute(  # the draft (a customer's name and address) goes too
            "UPDATE submissions SET lookup = ?, draft = NULL WHERE key = ? AND lookup = ?",
            [how, key, LOOKUP_PENDING],
        )
        return cursor.rowcount == 1

    def submission_outcome(self, key: str) -> tuple[Outcome, str | None]:
        """What the first submit of `key` did, and what it made: `running` while it may
        still hear from the provider, `unknown` once it no longer can."""
        row = self.db.execute(
            "SELECT outcome, subject, at FROM submissions WHERE key = ?", [key]
        ).fetchone()
        if row is None:
            return "unknown", None
        outcome, subject, at = row
        if outcome is not None:
            return outcome, subject
        claimed = datetime.fromisoformat(at)
        running = (datetime.now(UTC) - claimed).total_seconds() < SUBMISSION_RUNNING
        return ("running" if running else "unknown"), None

    def first_delivery(self, event_id: str, team_id: str | None, now: float) -> bool:
        """True the first time Slack delivers event `event_id`, False for a repeat within
        `EVENT_MEMORY`; ids older than that are forgotten as new ones arrive."""
        with self.transaction():
            self.db.execute("DELETE FROM slack_events_seen WHERE seen_at < ?", [now - EVENT_MEMORY])
            cursor = self.db.execute(
                "INSERT INTO slack_events_seen (event_id, team_id, seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [event_id, team_id, now],
            )
            return cursor.rowcount == 1

    def audit(
        self,
        action: str,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        subject: str | None = None,
        batched: bool = False,
        **detail: Any,
    ) -> None:
        """Who did what, when; `detail` must never hold a secret.

        `batched` is for high-volume reads such as listings: they are written with the
        next flush (every `AUDIT_FLUSH_SECONDS`, off the event loop, or at close) in one
        transaction, so a slash command never waits for a disk sync. Everything else is
        written now.
        """
        # A tuple of texts, in the table's column order: the garbage collector stops
        # tracking it, and the flush hands the batch to the database as it is.
        details = json.dumps(detail, default=str) if detail else "{}"
        self._audit_batch.append((now_iso(), team_id, user_id, action, subject, details))
        if not batched or len(self._audit_batch) >= AUDIT_BATCH_LIMIT:
            self.flush_audit()

    def flush_audit(self) -> None:
        """Write the batched audit entries, oldest first, in one transaction."""
        if self._audit_batch:
            self._audit_batch = _insert_audit(self.db, self._audit_batch)  # kept if it raises

    async def flush_audit_in_background(self) -> None:
        """`flush_audit` in a worker thread on a connection of its own: the event loop
        goes on answering Slack while the rows are written and synced to disk."""
        rows, self._audit_batch = self._audit_batch, []
        if not rows:
            return
        writing = asyncio.get_running_loop().run_in_executor(None, self._write_audit, rows)
        try:
            left = await asyncio.shield(writing)
        except asyncio.CancelledError:
            # A stop cancels this flush and then `close` writes the batch: the thread
            # ends its write first, so its rows are neither written twice nor lost
            # with a connection closed under it; they go back only if it failed.
            await asyncio.wait([writing])
            if writing.cancelled() or writing.exception() is not None:
                self._audit_batch[:0] = rows
            else:
                self._audit_batch[:0] = writing.result()
            raise
        except BaseException:
            self._audit_batch[:0] = rows  # written with the next flush instead
            raise
        self._audit_batch[:0] = left

    def _write_audit(self, rows: list[AuditRow]) -> list[AuditRow]:
        if self._audit_db is None:
            self._audit_db = self.db.another()
        return _insert_audit(self._audit_db, rows)

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        self.flush_audit()
        rows = self._rows("SELECT * FROM audit ORDER BY id DESC LIMIT ?", [limit])
        return [_audit_entry(row) for row in rows]

    # provider connections ---------------------------------------------------------

    def _box(self) -> CredentialBox:
        if self.box is None:
            raise SecretKeyError(
                "INVOICEBOT_SECRET_KEY is not set: provider credentials are locked"
            )
        return self.box

    def _seal_url(self, url: str | None) -> str | None:
        """Slack response URLs let anyone post to a person for 30 minutes: encrypted at
        rest like credentials (kept plain only where no secret key is configured)."""
        if url is None or self.box is None:
            return url
        return SEALED + self.box.seal_text(url).decode()

    def _open_url(self, value: str | None) -> str | None:
        if value is None or not value.startswith(SEALED) or self.box is None:
            return value
        return self._opened(value)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one Store per process, kept for its life
    def _opened(self, value: str) -> str | None:
        """A sealed URL opened; kept, as a landing storm reads one payment a thousand times
        and the same sealed text always opens to the same URL."""
        assert self.box is not None
        return self.box.open_text(value[len(SEALED) :].encode())

    def _sealed_args(self, args: dict[str, Any]) -> dict[str, Any]:
        if isinstance(args.get("url"), str):
            args = {**args, "url": self._seal_url(args["url"])}
        if args.get(SECRET_BODY) and self.box is not None:
            args = {**args, "body": self._seal_url(json.dumps(args.get("body")))}
        return args

    def _opened_args(self, args: dict[str, Any]) -> dict[str, Any]:
        if isinstance(args.get("url"), str):
            args = {**args, "url": self._open_url(args["url"])}
        if args.get(SECRET_BODY) and isinstance(args.get("body"), str):
            opened = self._open_url(args["body"])
            args = {**args, "body": json.loads(opened) if opened else None}
        return args

    def _payment(self, row: dict[str, Any]) -> Payment:
        return _payment({**row, "response_url": self._open_url(row.get("response_url"))})

    def credited_in_part(self, payment_id: str) -> list[Payment]:
        """Each settlement of only some of an attempt's invoices that credits it (see
        `_credited`), as the export shows it, oldest first: the end of its watch may have
        settled some, and its own money confirmed after the rest. None for an attempt
        that settled all its invoices at once (it is paid itself)."""
        parts = []
        rows = self._settled_rows("s.payment_id = ? ORDER BY s.settled_at, s.id", [payment_id])
        for at, row in rows:
            settled_ids = sorted(json.loads(row["settled_ids"] or "[]"))
            if settled_ids == sorted(json.loads(row["invoice_ids"])):
                return []  # all of its invoices: the attempt itself is paid
            credited = self._credited(row, at)
            if credited.state is PaymentState.PAID:
                parts.append(credited)
        return parts

    def _credited(self, row: dict[str, Any], settled_at: datetime) -> Payment:
        """A settlement's attempt as credited: only the invoices the settlement covers (a
        watch that ended with only some of them paid, see `Settlement._end_in_part`),
        with what it paid for those, as paid through that settlement."""
        key, settled_ids = row.pop("settled_key"), json.loads(row.pop("settled_ids") or "[]")
        payment = self._payment(row)
        part = payment.only(settled_ids)
        if part is None or part is payment:
            return payment
        return part.model_copy(
            update={
                "state": PaymentState.PAID,
                "settlement_id": key,
                "paid_at": settled_at,
                "last_error": None,
            }
        )

    def seal_text(self, text: str) -> bytes:
        return self._box().seal_text(text)

    def open_text(self, sealed: bytes) -> str | None:
        return self._box().open_text(sealed)

    def save_connection(
        self, team_id: str, provider: str, credentials: BaseModel, *, connected_by: str
    ) -> bytes:
        """Store the credentials sealed; returns the sealed bytes (see `sealed_connection`)."""
        sealed = self._box().seal(credentials)
        self.db.execute(
            "INSERT INTO connections (team_id, provider, sealed, connected_by, connected_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, provider) DO UPDATE SET "
            "sealed = excluded.sealed, connected_by = excluded.connected_by, "
            "connected_at = excluded.connected_at",
            [team_id, provider, sealed, connected_by, now_iso()],
        )
        return sealed

    def connection(self, team_id: str, provider: str, model: type[BaseModel]) -> BaseModel | None:
        sealed = self.sealed_connection(team_id, provider)
        return self.open_connection(sealed, model) if sealed is not None else None

    def sealed_connection(self, team_id: str, provider: str) -> bytes | None:
        """A connection's credentials as stored: each save seals them anew, so the bytes
        tell whether another process reconnected it since they were read."""
        row = self.db.execute(
            "SELECT sealed FROM connections WHERE team_id = ? AND provider = ?",
            [team_id, provider],
        ).fetchone()
        return bytes(row[0]) if row else None

    def sealed_connections(self, team_id: str) -> list[tuple[str, bytes]]:
        """(provider, sealed credentials) of every connection of a workspace, in one read."""
        rows = self.db.execute(
            "SELECT provider, sealed FROM connections WHERE team_id = ? ORDER BY provider",
            [team_id],
        ).fetchall()
        return [(str(row[0]), bytes(row[1])) for row in rows]

    def open_connection(self, sealed: bytes, model: type[BaseModel]) -> BaseModel:
        return self._box().open(sealed, model)

    def connected_providers(self, team_id: str) -> list[str]:
        rows = self.db.execute(
            "SELECT provider FROM connections WHERE team_id = ? ORDER BY provider", [team_id]
        ).fetchall()
        return [str(row[0]) for row in rows]

    def remove_connection(self, team_id: str, provider: str) -> bool:
        cursor = self.db.execute(
            "DELETE FROM connections WHERE team_id = ? AND provider = ?", [team_id, provider]
        )
        return cursor.rowcount == 1

    def keep_sign_in(
        self,
        team_id: str,
        challenge: str,
        provider: str,
        credentials: BaseModel,
        *,
        connected_by: str,
        started_at: float,
        forget_before: float,
    ) -> None:
        """Keep a sign-in waiting for its code (never the code itself); sign-ins started
        before `forget_before` are dropped, their codes no longer accepted."""
        with self.transaction():
            self.forget_sign_ins(before=forget_before)
            self.db.execute(
                "INSERT INTO sign_ins (team_id, challenge, provider, sealed, connected_by, "
                "started_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, challenge) DO "
                "UPDATE SET provider = excluded.provider, sealed = excluded.sealed, "
                "connected_by = excluded.connected_by, started_at = excluded.started_at",
                [
                    team_id,
                    challenge,
                    provider,
                    self._box().seal(credentials),
                    connected_by,
                    started_at,
                ],
            )

    def forget_sign_ins(self, *, before: float) -> None:
        """Delete the kept sign-ins started before `before`: their codes are refused."""
        self.db.execute("DELETE FROM sign_ins WHERE started_at < ?", [before])

    def take_sign_in(self, team_id: str, challenge: str) -> tuple[str, bytes, str, float] | None:
        """The kept sign-in (provider, sealed credentials, who, started), taken by one
        answer at a time: a code submitted twice signs in once."""
        row = self.db.execute(
            "DELETE FROM sign_ins WHERE team_id = ? AND challenge = ? "
            "RETURNING provider, sealed, connected_by, started_at",
            [team_id, challenge],
        ).fetchone()
        if row is None:
            return None
        return str(row[0]), bytes(row[1]), str(row[2]), float(row[3])

    def remove_team_connections(self, team_id: str) -> list[str]:
        """Forget every provider a workspace connected (it uninstalled the app), and the
        credentials of its sign-ins still waiting for a code."""
        with self.transaction():
            names = self.connected_providers(team_id)
            self.db.execute("DELETE FROM connections WHERE team_id = ?", [team_id])
            self.db.execute("DELETE FROM sign_ins WHERE team_id = ?", [team_id])
        return names


INSERT_AUDIT = (
    "INSERT INTO audit (at, team_id, user_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)"
)


def _insert_audit(db: Engine, rows: list[AuditRow]) -> list[AuditRow]:
    """Write `rows`; return those to write with the next flush.

    In one transaction (on sqlite the loop over rows runs in C and barely holds the GIL).
    A batch the database refuses is written a row at a time instead: a row it refuses is
    logged and dropped, or it would fail every flush and hold back every row after it.
    A database unreachable or busy keeps the rest for the next flush (raised when
    nothing was written)."""
    try:
        db.executemany(INSERT_AUDIT, rows)
    except Exception as error:
        if not db.refused(error):
            raise
    else:
        return []
    for at, row in enumerate(rows):
        try:
            db.executemany(INSERT_AUDIT, [row])
        except Exception as error:
            if not db.refused(error):
                if at == 0:
                    raise
                log.warning("%d audit rows kept for the next flush: %s", len(rows) - at, error)
                return rows[at:]
            # Its action and the error's kind only: the value refused may be unprintable.
            log.warning(
                "audit row %r refused by the database; dropped (%s)", row[3], type(error).__name__
            )
    return []


CHECK_DUE = (
    "(state IN ('link_issued', 'opened', 'unknown') OR (state IN ('failed', 'cancelled') "
    "AND next_check_at IS NOT NULL) OR (kept_return IS NOT NULL AND next_check_at IS NOT NULL)) "
    "AND next_check_at <= ?"
)
"""Attempts whose outcome can still change and whose next check is due (one `?`: now),
and ended ones whose kept return is still to be asked about (late money, paid twice).
Each branch is one an index answers (the kept returns' through migration 019's)."""


def _marks(values: list[str]) -> str:
    """`?, ?, ?` for an IN list: both engines plan it well, and no JSON is parsed."""
    return ", ".join("?" for _ in values)


def _dicts(cursor: Cursor) -> list[dict[str, Any]]:
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _utc_iso(moment: datetime) -> str:
    """As `now_iso` writes times, so that text comparison is time order."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _audit_entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        at=row["at"],
        team_id=row["team_id"],
        user_id=row["user_id"],
        action=row["action"],
        subject=row["subject"],
        detail=json.loads(row["detail"] or "{}"),
    )


def _payment(row: dict[str, Any]) -> Payment:
    return Payment(
        id=row["id"],
        team_id=row["team_id"],
        provider=row["provider"],
        direction=row["direction"] or "payable",
        invoice_ids=tuple(json.loads(row["invoice_ids"])),
        invoice_numbers=tuple(json.loads(row["invoice_numbers"])),
        amount=Money(amount=Decimal(row["amount"]), currency=row["currency"]),
        method_id=row["method_id"],
        method_name=row["method_name"],
        issuer_id=row["issuer_id"],
        user_id=row["user_id"],
        channel_id=row["channel_id"],
        message_ts=row["message_ts"],
        response_url=row["response_url"],
        state=PaymentState(row["state"]),
        provider_reference=row["provider_reference"],
        start=json.loads(row["start"]) if row["start"] else None,
        created_at=datetime.fromisoformat(row["created_at"]),
        paid_at=datetime.fromisoformat(row["paid_at"]) if row["paid_at"] else None,
        charges_at_once=bool(row.get("charges_at_once")),
        unconfirmed_end=bool(row.get("unconfirmed_end")),
        opened_at=datetime.fromisoformat(row["opened_at"]) if row.get("opened_at") else None,
        last_error=row.get("last_error"),
        settlement_id=row.get("settlement_id"),
        next_check_at=row.get("next_check_at"),
        issuer_name=row.get("issuer_name"),
        receipt=row.get("receipt"),
        payer_name=row.get("payer_name"),
        token_hash=row.get("token_hash"),
        lines=_amounts(row.get("lines")),
        credits=_amounts(row.get("credits")),
    )


SETTLED_READ_SECONDS = 10.0


def _aware(stored: str) -> datetime:
    """A stored settlement time; one stored without its zone is UTC (see `utc_text`)."""
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _paid_for(
    invoice_id: str, ids: str, numbers: str, lines: str | None, amount: str, currency: str
) -> Money | None:
    """What a settling payment paid for one of its invoices: its line for that invoice,
    or the whole amount when it paid that invoice alone."""
    try:
        paid_ids, paid_numbers = json.loads(ids), json.loads(numbers)
        number = paid_numbers[paid_ids.index(invoice_id)]
        for line in _amounts(lines):
            if line.number == number:
                return line.amount
        if len(paid_ids) == 1:
            return Money(amount=Decimal(amount), currency=currency)
    except (ValueError, IndexError, TypeError, ArithmeticError):
        pass
    return None


def _amounts_json(amounts: tuple[InvoiceAmount, ...]) -> str:
    return json.dumps([[a.number, str(a.amount.amount), a.amount.currency] for a in amounts])


def _amounts(text: str | None) -> tuple[InvoiceAmount, ...]:
    rows = json.loads(text) if text else []
    return tuple(
        InvoiceAmount(number=number, amount=Money(amount=Decimal(amount), currency=currency))
        for number, amount, currency in rows
    )
