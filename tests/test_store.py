"""The database: migrations on an existing file, outbox idempotence, audit, credentials."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from sqlite_utils import Database

from bot.credentials import CredentialBox, SecretKeyError, generate_key
from bot.models import Money, Payment
from bot.store import MIGRATIONS, Store, migrate


class Creds(BaseModel):
    api_key: SecretStr
    base_url: str = "https://api.example.test"


def test_a_new_database_is_in_wal_mode_with_every_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [row["name"] for row in store.db["_migrations"].rows]
    assert applied == [name for name, _ in MIGRATIONS]
    store.close()


def test_migrations_upgrade_an_existing_database_and_keep_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    store = Store(path)
    store.audit("connect", team_id="T1", user_id="U1", subject="i3d")
    store.close()

    def add_note_column(db: Database) -> None:
        db["audit"].add_column("note", str)

    db = Database(path)
    later = [*MIGRATIONS, ("002_audit_note", add_note_column)]
    assert migrate(db, later) == ["002_audit_note"]
    assert migrate(db, later) == []
    rows = list(db["audit"].rows)
    assert [(row["action"], row["subject"], row["note"]) for row in rows] == [
        ("connect", "i3d", None)
    ]
    db.close()
    reopened = Store(path)
    assert [entry.action for entry in reopened.audit_log()] == ["connect"]
    reopened.close()


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Store(path).close()

    def broken(db: Database) -> None:
        db["payments"].add_column("half_done", str)
        raise sqlite3.OperationalError("disk says no")

    db = Database(path)
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, [*MIGRATIONS, ("999_broken", broken)])
    assert "half_done" not in db["payments"].columns_dict
    assert [row["name"] for row in db["_migrations"].rows] == [name for name, _ in MIGRATIONS]
    db.close()


def test_the_outbox_sends_a_key_once_and_retries_until_sent(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
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


def test_credentials_are_encrypted_at_rest(tmp_path: Path) -> None:
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


def test_credentials_with_the_key_absent_or_wrong_give_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite", CredentialBox(generate_key()))
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk")), connected_by="U1")
    store.close()
    with pytest.raises(SecretKeyError, match="not set"):
        CredentialBox("")
    with pytest.raises(SecretKeyError, match="not a valid key"):
        CredentialBox("hunter2")
    wrong = Store(tmp_path / "db.sqlite", CredentialBox(generate_key()))
    with pytest.raises(SecretKeyError, match="the key changed"):
        wrong.connection("T1", "acme", Creds)
    wrong.close()
    locked = Store(tmp_path / "db.sqlite")
    with pytest.raises(SecretKeyError, match="not set"):
        locked.connection("T1", "acme", Creds)
    locked.close()


def test_a_rotated_key_still_opens_old_credentials(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    store = Store(tmp_path / "db.sqlite", CredentialBox(old))
    store.save_connection("T1", "acme", Creds(api_key=SecretStr("sk")), connected_by="U1")
    store.close()
    rotated = Store(tmp_path / "db.sqlite", CredentialBox(f"{new},{old}"))
    creds = rotated.connection("T1", "acme", Creds)
    assert isinstance(creds, Creds) and creds.api_key.get_secret_value() == "sk"
    rotated.close()


def test_the_audit_log_says_who_did_what(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.audit("payment.started", team_id="T1", user_id="U1", subject="p1", amount="€12.50")
    store.audit("provider.connected", team_id="T1", user_id="U2", subject="i3d")
    latest, first = store.audit_log()
    assert (latest.action, latest.user_id, latest.subject) == ("provider.connected", "U2", "i3d")
    assert first.detail == {"amount": "€12.50"}
    store.close()


def test_recent_settlements_are_newest_first_with_the_attempt_credited(tmp_path: Path) -> None:

    store = Store(tmp_path / "db.sqlite")
    for n, day in ((1, "2026-11-01"), (2, "2026-11-03"), (3, "2026-11-02")):
        payment = Payment(
            id=f"p{n}",
            team_id="T0TEAM",
            provider="i3d",
            invoice_ids=(f"i{n}",),
            invoice_numbers=(f"INV-{n}",),
            amount=Money.of("10.00", "EUR"),
            method_id="ideal",
            method_name="iDEAL",
            user_id="U0PAYER",
        )
        store.add_payment(payment, token_hash=f"t{n}", token_expires_at=0.0)
        store.add_settlement(f"s{n}", payment, evidence="attempt", settled_at=f"{day}T10:00:00")
    settled = store.recent_settlements("T0TEAM", limit=2)
    assert [(when.date().isoformat(), p.invoice_numbers) for when, p in settled] == [
        ("2026-11-03", ("INV-2",)),
        ("2026-11-02", ("INV-3",)),
    ]
    assert store.recent_settlements("T0OTHER") == []
