"""The database, on sqlite and on PostgreSQL: migrations on an existing database, outbox
idempotence, audit, credentials, and claims shared by several processes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import sqlite_utils
import sqlite_utils.plugins
from pydantic import BaseModel, SecretStr

from bot.credentials import CredentialBox, SecretKeyError, generate_key
from bot.engine import Engine, open_engine
from bot.models import Money, Payment, PaymentState
from bot.store import (
    EVENT_MEMORY,
    MIGRATIONS,
    SUBMISSION_RUNNING,
    Store,
    applied_migrations,
    migrate,
)

T = TypeVar("T")


class Creds(BaseModel):
    api_key: SecretStr
    base_url: str = "https://api.example.test"


def test_no_sqlite_utils_plugin_gets_the_bots_connection(tmp_path: Path) -> None:
    """A package that registers a sqlite-utils plugin is not handed the database of
    payments and credentials (and no package's entry points are read to look for one)."""
    handed: list[object] = []

    class Plugin:
        @sqlite_utils.hookimpl
        def prepare_connection(self, conn: object) -> None:
            handed.append(conn)

    plugin = Plugin()
    sqlite_utils.plugins.pm.register(plugin)
    try:
        Store(tmp_path / "plugged.sqlite").close()
    finally:
        sqlite_utils.plugins.pm.unregister(plugin)
    assert handed == []


def test_a_new_sqlite_database_is_in_wal_mode_with_every_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert applied_migrations(store.db) == [name for name, _ in MIGRATIONS]
    store.close()


def test_a_new_database_has_every_migration(database: str) -> None:
    store = Store(database)
    assert applied_migrations(store.db) == [name for name, _ in MIGRATIONS]
    store.close()


def _columns(db: Engine, table: str) -> list[str]:
    return [column[0] for column in db.execute(f"SELECT * FROM {table} LIMIT 0").description]  # noqa: S608


def test_a_submission_acts_once_and_remembers_what_it_did(database: str) -> None:
    store = Store(database)
    assert store.claim_submission("review:T1:V1", team_id="T1", user_id="U1")
    assert not store.claim_submission("review:T1:V1", team_id="T1", user_id="U2")
    # claimed, no answer recorded: running, until no provider call could still answer
    assert store.submission_outcome("review:T1:V1") == ("running", None)
    long_ago = (datetime.now(UTC) - timedelta(seconds=SUBMISSION_RUNNING + 1)).isoformat()
    store.db.execute("UPDATE submissions SET at = ? WHERE key = 'review:T1:V1'", [long_ago])
    assert store.submission_outcome("review:T1:V1") == ("unknown", None)  # e.g. killed
    store.settle_submission("review:T1:V1", "created", "INV-7")
    assert store.submission_outcome("review:T1:V1") == ("created", "INV-7")
    assert store.claim_submission("review:T1:V2", team_id="T1", user_id="U1")
    store.settle_submission("review:T1:V2", "failed")
    assert store.submission_outcome("review:T1:V2") == ("failed", None)
    assert store.claim_submission("review:T1:V3", team_id="T1", user_id="U1")
    store.settle_submission("review:T1:V3", "unknown")  # the answer was lost
    assert store.submission_outcome("review:T1:V3") == ("unknown", None)
    store.close()


def test_a_create_that_emails_is_looked_for_until_watched_once(database: str) -> None:
    """Kept before the create; looked for once its submit can no longer answer, by one
    process at a time, and ended once (by its submit's watch or by the lookup)."""
    store = Store(database)
    now = time.time()
    for view in ("V1", "V2", "V3"):
        claimed = store.claim_submission(
            f"review:T1:{view}", team_id="T1", user_id="U1", provider="acme", watch="{}"
        )
        assert claimed
    assert store.claim_submission("review:T1:V4", team_id="T1", user_id="U1")  # a draft
    assert store.lost_creates(now) == []  # still running: its submit may yet answer
    assert [r["key"] for r in store.lost_creates(now + SUBMISSION_RUNNING + 1)] == [
        "review:T1:V1",
        "review:T1:V2",
        "review:T1:V3",
    ]  # e.g. killed before any answer
    store.settle_submission("review:T1:V1", "unknown")  # the answer was lost: look at once
    store.settle_submission("review:T1:V2", "failed")  # refused: nothing to look for
    store.settle_submission("review:T1:V4", "unknown")
    (lost,) = store.lost_creates(time.time())
    assert lost["key"] == "review:T1:V1" and lost["draft"] == "{}"
    assert store.take_lost_create(lost["key"], lost["look_at"], now + 60)
    assert not store.take_lost_create(lost["key"], lost["look_at"], now + 60)  # taken
    assert store.lost_creates(time.time()) == []
    assert store.end_lookup("review:T1:V1", "watched")
    assert not store.end_lookup("review:T1:V1", "watched")  # watched once
    assert [r["key"] for r in store.lost_creates(now + 3600)] == ["review:T1:V3"]
    store.close()


def test_migrations_upgrade_an_existing_database_and_keep_its_data(database: str) -> None:
    store = Store(database)
    store.audit("connect", team_id="T1", user_id="U1", subject="i3d")
    store.close()

    def add_note_column(db: Engine) -> None:
        db.table("audit").add_column("note", str)

    db = open_engine(database)
    later = [*MIGRATIONS, ("002_audit_note", add_note_column)]
    assert migrate(db, later) == ["002_audit_note"]
    assert migrate(db, later) == []
    rows = db.execute("SELECT action, subject, note FROM audit").fetchall()
    assert [tuple(row) for row in rows] == [("connect", "i3d", None)]
    db.close()
    reopened = Store(database)
    assert [entry.action for entry in reopened.audit_log()] == ["connect"]
    reopened.close()


def test_ends_watched_when_the_bot_is_upgraded_are_marked_unconfirmed(database: str) -> None:
    db = open_engine(database)
    before = [(name, step) for name, step in MIGRATIONS if name != "014_unconfirmed_ends"]
    migrate(db, before)
    rows = [  # id, state, next_check_at
        ("watched", "cancelled", 1.0),
        ("final", "cancelled", None),
        ("charge", "failed", 2.0),
        ("live", "opened", 3.0),
    ]
    for payment_id, state, check_at in rows:
        db.execute(
            "INSERT INTO payments (id, team_id, provider, state, amount, currency, created_at, "
            "next_check_at) VALUES (?, 'T1', 'i3d', ?, '1.00', 'EUR', '2026-12-01', ?)",
            [payment_id, state, check_at],
        )
    assert migrate(db, MIGRATIONS) == ["014_unconfirmed_ends"]
    marked = db.execute("SELECT id FROM payments WHERE unconfirmed_end = 1 ORDER BY id")
    assert [row[0] for row in marked.fetchall()] == ["charge", "watched"]
    db.close()


class DiskSaysNo(Exception):
    pass


def test_history_and_export_read_the_audit_table_by_index(tmp_path: Path) -> None:
    """The audit table only grows: each lookup a person waits for (history by payment or
    by a typed number, the export's time range, a payment's moves) must search an index,
    not scan every row, on a database without statistics (as a new one is)."""
    store = Store(tmp_path / "audit.sqlite")
    for n in range(50):
        store.audit("payment.paid", team_id="T1", user_id="U1", subject=f"INV-{n}")
    conn = store.db.db.conn  # type: ignore[attr-defined]
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    store.audit_about("T1", ["pay-1", "pay-2"], number="inv-7")
    store.audit_between("T1", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    store.moves_of(["pay-1"])
    conn.set_trace_callback(None)
    lookups = [sql for sql in statements if sql.startswith("SELECT * FROM audit")]
    assert len(lookups) == 3
    for sql in lookups:
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX idx_audit_" in plan and "SCAN audit" not in plan, (sql, plan)
    store.close()


def test_a_failing_migration_leaves_the_database_as_it_was(database: str) -> None:
    Store(database).close()

    def broken(db: Engine) -> None:
        db.table("payments").add_column("half_done", str)
        raise DiskSaysNo

    db = open_engine(database)
    with pytest.raises(DiskSaysNo):
        migrate(db, [*MIGRATIONS, ("999_broken", broken)])
    assert "half_done" not in _columns(db, "payments")
    assert applied_migrations(db) == [name for name, _ in MIGRATIONS]
    db.close()


def test_the_outbox_sends_a_key_once_and_retries_until_sent(database: str) -> None:
    store = Store(database)
    store.enqueue("chat.postMessage", {"channel": "C1", "text": "paid"}, key="paid:p1")
    store.enqueue("chat.postMessage", {"channel": "C1", "text": "paid again"}, key="paid:p1")
    (item,) = store.due_outbox(time.time() + 1)
    assert item.args["text"] == "paid"
    store.outbox_retry(item.id, "ratelimited", next_attempt_at=time.time() + 60)
    assert store.due_outbox(time.time() + 1) == []
    (again,) = store.due_outbox(time.time() + 61)
    assert again.attempts == 1
    store.outbox_sent(again.id)
    assert store.outbox_pending() == 0
    store.close()


def test_credentials_are_encrypted_at_rest_in_the_sqlite_file(tmp_path: Path) -> None:
    key = generate_key()
    store = Store(tmp_path / "db.sqlite", CredentialBox(key))
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk-live-123")), connected_by="U1")
    files = list(tmp_path.glob("db.sqlite*"))
    assert b"sk-live-123" not in b"".join(path.read_bytes() for path in files)
    store.close()
    assert b"sk-live-123" not in (tmp_path / "db.sqlite").read_bytes()
    reopened = Store(tmp_path / "db.sqlite", CredentialBox(key))
    creds = reopened.connection("T1", "acme", Creds)
    assert isinstance(creds, Creds)
    assert creds.api_key.get_secret_value() == "sk-live-123"
    assert reopened.connected_providers("T1") == ["acme"]
    assert reopened.connection("T2", "acme", Creds) is None
    reopened.close()


def test_credentials_with_the_key_absent_or_wrong_give_a_clear_error(database: str) -> None:
    store = Store(database, CredentialBox(generate_key()))
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk")), connected_by="U1")
    store.close()
    with pytest.raises(SecretKeyError, match="not set"):
        CredentialBox("")
    with pytest.raises(SecretKeyError, match="not a valid key") as refused:
        CredentialBox("hunter2")
    assert "of" not in str(refused.value).split("INVOICEBOT_SECRET_KEY")[0]
    with pytest.raises(SecretKeyError, match=r"^INVOICEBOT_SECRET_KEY: key 2 of 2 is") as refused:
        CredentialBox(f"{generate_key()},hunter2")  # a rotation's old key mistyped
    assert "hunter2" not in str(refused.value)
    wrong = Store(database, CredentialBox(generate_key()))
    with pytest.raises(SecretKeyError, match="the key changed"):
        wrong.connection("T1", "acme", Creds)
    wrong.close()
    locked = Store(database)
    with pytest.raises(SecretKeyError, match="not set"):
        locked.connection("T1", "acme", Creds)
    locked.close()


def test_a_rotated_key_still_opens_old_credentials(database: str) -> None:
    old, new = generate_key(), generate_key()
    store = Store(database, CredentialBox(old))
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk")), connected_by="U1")
    store.close()
    rotated = Store(database, CredentialBox(f"{new},{old}"))
    creds = rotated.connection("T1", "acme", Creds)
    assert isinstance(creds, Creds) and creds.api_key.get_secret_value() == "sk"
    rotated.close()


def test_the_audit_log_says_who_did_what(database: str) -> None:
    store = Store(database)
    store.audit("payment.started", team_id="T1", user_id="U1", subject="p1", amount="€12.50")
    store.audit("provider.connected", team_id="T1", user_id="U2", subject="i3d")
    latest, first = store.audit_log()
    assert (latest.action, latest.user_id, latest.subject) == ("provider.connected", "U2", "i3d")
    assert first.detail == {"amount": "€12.50"}
    store.close()


def test_text_with_a_nul_character_is_kept_on_every_database(database: str) -> None:
    """A NUL typed after /invoices or sent in a provider's JSON ("\\u0000"): PostgreSQL
    refuses it in text, so the audit batch holding it failed on every flush, for good,
    and every row after it was never written; a lookup by it answered with an error."""
    store = Store(database)
    store.audit("invoice.looked_up", team_id="T1", user_id="U1", subject="INV\x00-1")
    store.audit("payment.started", team_id="T1", user_id="U1", subject="p1", number="A\x00")
    store.flush_audit()
    assert store.audit_about("T1", ["INV\x00-1"]) is not None
    payment = _payment(store, 1, "T1").model_copy(update={"invoice_numbers": ("INV\x001",)})
    store.add_payment(payment.model_copy(update={"id": "p2"}), token_hash="t2", token_expires_at=0)
    latest, first = store.audit_log()
    assert "INV" in (first.subject or "") and latest.action == "payment.started"
    assert store.payment("p2") is not None
    store.close()


LONE_SURROGATE = "\ud800"
"""Half a UTF-16 pair, as a JSON "\\ud800" decodes: neither engine can store it as text."""


def _subjects(store: Store) -> list[str | None]:
    return [entry.subject for entry in reversed(store.audit_log())]


def test_an_audit_row_the_database_refuses_is_dropped_not_holding_back_the_rest(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(database)
    for subject in ("INV-1", f"INV-{LONE_SURROGATE}", "INV-3"):
        store.audit("invoice.looked_up", team_id="T1", user_id="U1", subject=subject, batched=True)
    with caplog.at_level(logging.WARNING, logger="bot.store"):
        store.flush_audit()
    assert _subjects(store) == ["INV-1", "INV-3"]
    (said,) = [r for r in caplog.records if r.name == "bot.store"]
    assert said.levelno == logging.WARNING and said.exc_info is None
    assert "invoice.looked_up" in said.getMessage() and "dropped" in said.getMessage()
    store.audit("provider.connected", team_id="T1", user_id="U2", subject="i3d")
    assert _subjects(store) == ["INV-1", "INV-3", "i3d"]
    store.close()


async def test_a_refused_audit_row_in_a_background_flush_is_dropped_once(database: str) -> None:
    store = Store(database)
    for subject in (f"a{LONE_SURROGATE}", "b"):
        store.audit("invoice.looked_up", team_id="T1", subject=subject, batched=True)
    await store.flush_audit_in_background()
    await store.flush_audit_in_background()
    assert _subjects(store) == ["b"]
    store.close()


def test_audit_rows_are_kept_while_the_database_cannot_take_them(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a refusal: the database is unreachable or busy, and every row is kept."""
    store = Store(database)
    store.audit("invoice.looked_up", team_id="T1", subject="INV-1", batched=True)
    store.audit("invoice.looked_up", team_id="T1", subject="INV-2", batched=True)
    write = store.db.executemany

    def down(sql: str, rows: object) -> None:
        raise ConnectionError("the database is not answering")

    monkeypatch.setattr(store.db, "executemany", down)
    with pytest.raises(ConnectionError):
        store.flush_audit()
    monkeypatch.setattr(store.db, "executemany", write)
    assert _subjects(store) == ["INV-1", "INV-2"]
    store.close()


def _payment(store: Store, n: int, team_id: str) -> Payment:
    payment = Payment(
        id=f"p{n}",
        team_id=team_id,
        provider="i3d",
        invoice_ids=(f"i{n}",),
        invoice_numbers=(f"INV-{n}",),
        amount=Money.of("10.00", "EUR"),
        method_id="ideal",
        method_name="iDEAL",
        user_id="U0PAYER",
    )
    store.add_payment(payment, token_hash=f"t{n}", token_expires_at=0.0)
    return payment


def test_recent_settlements_are_newest_first_with_the_attempt_credited(database: str) -> None:
    store = Store(database)
    for n, day in ((1, "2026-11-01"), (2, "2026-11-03"), (3, "2026-11-02")):
        payment = _payment(store, n, "T0TEAM")
        store.add_settlement(f"s{n}", payment, evidence="attempt", settled_at=f"{day}T10:00:00")
    settled = store.recent_settlements("T0TEAM", limit=2)
    assert [(when.date().isoformat(), p.invoice_numbers) for when, p in settled] == [
        ("2026-11-03", ("INV-2",)),
        ("2026-11-02", ("INV-3",)),
    ]
    assert store.recent_settlements("T0OTHER") == []


def test_payment_times_stored_in_a_providers_zone_are_moved_to_utc(database: str) -> None:
    """A settlement stored in a provider's zone before times were kept in UTC sorted by
    its local clock: at 20:30 in California (04:30 UTC next day), it came after 01:00."""
    store = Store(database)
    for n, at in ((1, "2026-12-04T20:30:00-08:00"), (2, "2026-12-05T01:00:00+00:00")):
        payment = _payment(store, n, "T0TEAM")
        store.add_settlement(f"s{n}", payment, evidence="attempt", settled_at=at)
        store.update_payment(payment.id, paid_at=at)
    store.db.execute("DELETE FROM _migrations WHERE name = ?", ["020_settled_in_utc"])
    store.close()

    store = Store(database)  # migrates again
    assert [p.invoice_numbers for _, p in store.recent_settlements("T0TEAM", limit=2)] == [
        ("INV-1",),
        ("INV-2",),
    ]
    stored = store.db.execute("SELECT paid_at FROM payments WHERE id = 'p1'").fetchone()
    assert stored[0] == "2026-12-05T04:30:00+00:00"
    store.close()


def test_connections_are_sealed_listed_and_removed(database: str) -> None:
    store = Store(database, CredentialBox(generate_key()))
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk-live-123")), connected_by="U1")
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk-live-456")), connected_by="U2")
    store.save_connection("T1", "zeta", Creds(api_key=SecretStr("sk-z")), connected_by="U1")
    (sealed,) = store.db.execute(
        "SELECT sealed FROM connections WHERE provider = 'acme'"
    ).fetchall()
    assert b"sk-live" not in bytes(sealed[0])
    creds = store.connection("T1", "acme", Creds)
    assert isinstance(creds, Creds) and creds.api_key.get_secret_value() == "sk-live-456"
    assert store.connected_providers("T1") == ["acme", "zeta"]
    assert store.remove_connection("T1", "acme") and not store.remove_connection("T1", "acme")
    assert store.connected_providers("T1") == ["zeta"]
    store.close()


def race(database: str, processes: int, work: Callable[[Store], T]) -> list[T]:
    """`work` run at the same moment by `processes` stores, each on its own connection
    (as separate bot processes would be), in threads; their results."""
    Store(database).close()  # migrated before the race
    start = threading.Barrier(processes)

    def one(_: int) -> T:
        store = Store(database)
        try:
            start.wait()
            return work(store)
        finally:
            store.close()

    with ThreadPoolExecutor(processes) as pool:
        return list(pool.map(one, range(processes)))


def test_racing_outbox_senders_take_each_item_once(database: str) -> None:
    store = Store(database)
    for n in range(40):
        store.enqueue("chat.postMessage", {"text": str(n)}, key=f"k{n}")
    store.close()

    def send(store: Store) -> list[str]:
        taken = []
        for item in store.due_outbox(time.time() + 1, limit=100):
            if store.outbox_claim(item.id, time.time(), 45.0):
                taken.append(item.key)
        return taken

    taken = [key for keys in race(database, 4, send) for key in keys]
    assert sorted(taken) == sorted(f"k{n}" for n in range(40))


def _due_payment(store: Store, n: int) -> None:
    payment = _payment(store, n, "T1")
    store.compare_and_set_state(payment.id, {PaymentState.CREATED}, PaymentState.LINK_ISSUED)
    store.update_payment(payment.id, next_check_at=time.time() - 1)


def test_racing_pollers_take_each_due_payment_once(database: str) -> None:
    store = Store(database)
    for n in range(30):
        _due_payment(store, n)
    store.close()

    def poll(store: Store) -> list[str]:
        taken = []
        for _ in range(5):
            taken += [p.id for p in store.claim_payments_to_check(time.time(), 120.0, limit=4)]
        return taken

    taken = [payment for ids in race(database, 4, poll) for payment in ids]
    assert sorted(taken) == sorted(f"p{n}" for n in range(30))
    again = Store(database)
    assert again.claim_payments_to_check(time.time(), 120.0) == []  # all leased
    assert len(again.claim_payments_to_check(time.time() + 121, 120.0)) == 30  # lapsed
    again.close()


def test_a_check_cut_short_by_a_kill_is_due_at_once_after_a_restart_on_sqlite(
    database: str,
) -> None:
    store = Store(database)
    _due_payment(store, 1)
    now = time.time()
    (taken,) = store.claim_payments_to_check(now, 120.0)
    store.close()  # killed mid-check: the claim stays for its lease

    restarted = Store(database)
    restarted.release_check_claims(now + 1, 120.0)
    due = [p.id for p in restarted.payments_to_check(now + 1)]
    # One process serves a sqlite file, so the claim was the dead process's; on PostgreSQL
    # another process may be checking it now.
    assert due == ([] if restarted.shared else [taken.id])
    restarted.close()


def test_a_slack_event_delivered_again_is_handled_once(database: str) -> None:
    now = time.time()
    firsts = race(database, 4, lambda store: store.first_delivery("Ev1", "T1", now))
    assert sorted(firsts) == [False, False, False, True]
    store = Store(database)
    assert not store.first_delivery("Ev1", "T1", now + 60)
    assert store.first_delivery("Ev1", "T1", now + EVENT_MEMORY + 1)  # forgotten by then
    store.close()


def test_processes_starting_together_migrate_once(database: str) -> None:
    if not database.startswith("postgresql"):
        pytest.skip("a sqlite file is served by one process")
    start = threading.Barrier(3)

    def open_store(_: int) -> list[str]:
        start.wait()
        store = Store(database)
        try:
            return applied_migrations(store.db)
        finally:
            store.close()

    with ThreadPoolExecutor(3) as pool:
        seen = list(pool.map(open_store, range(3)))
    assert seen == [[name for name, _ in MIGRATIONS]] * 3


def test_a_lost_postgresql_connection_is_replaced_on_the_next_call(database: str) -> None:
    if not database.startswith("postgresql"):
        pytest.skip("a sqlite file has no connection to lose")
    import psycopg

    store = Store(database)
    store.enqueue("chat.postMessage", {"text": "a"}, key="a")
    (pid,) = store.db.execute("SELECT pg_backend_pid()").fetchone()
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.OperationalError):
        store.outbox_pending()  # this call fails: it is not retried, it may have written
    assert store.outbox_pending() == 1
    with psycopg.connect(database, autocommit=True) as admin:
        (pid,) = store.db.execute("SELECT pg_backend_pid()").fetchone()
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.OperationalError):
        store.outbox_pending()
    with store.claim():  # a claim after a lost connection gets a new one too
        store.enqueue("chat.postMessage", {"text": "b"}, key="b")
    assert store.outbox_pending() == 2
    store.close()
