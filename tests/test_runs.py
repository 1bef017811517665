"""Schedule runs and reminders are claimed once, across processes and restarts, on sqlite
and on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.runs import CUSTOMER, DUE, Runs
from bot.store import Store


def test_a_run_is_claimed_once_and_a_dead_claim_is_taken_over_at_start(tmp_path: Path) -> None:
    """On sqlite, one process serves the file: at start-up no claim can be live."""
    runs = Runs(Store(tmp_path / "db.sqlite"))
    other = Runs(Store(tmp_path / "db.sqlite"))  # the same process, after a restart
    assert runs.claim_run("digest", "T1", "2026-12-07")
    assert not other.claim_run("digest", "T1", "2026-12-07")  # being done
    assert other.claim_run("digest", "T2", "2026-12-07")  # another team's is its own
    runs.release_run_claims()  # a start-up after a crash: nothing is in flight
    assert other.claim_run("digest", "T1", "2026-12-07")
    with other.store.transaction():
        other.finish_run("digest", "T1", "2026-12-07")
    runs.release_run_claims()
    assert not runs.claim_run("digest", "T1", "2026-12-07")  # done stays done
    assert runs.claim_run("digest", "T1", "2026-12-14")


def test_one_reminder_per_invoice_and_day_and_a_refused_one_frees_the_day(
    database: str,
) -> None:
    runs = Runs(Store(database))
    first = runs.claim_reminder(CUSTOMER, "T1", "p", "1", "N-1", "2026-12-07", user_id="U1")
    assert first is not None
    assert runs.claim_reminder(CUSTOMER, "T1", "p", "1", "N-1", "2026-12-07") is None
    assert runs.claim_reminder(DUE, "T1", "p", "1", "N-1", "2026-12-07") is not None
    runs.forget_reminder(first)
    again = runs.claim_reminder(CUSTOMER, "T1", "p", "1", "N-1", "2026-12-07", automatic=True)
    assert again is not None
    runs.reminder_sent(again, "sent", "a@example.com")
    (kept,) = runs.reminders("T1", kind=CUSTOMER)
    assert kept.automatic and kept.sent_to == "a@example.com"
    assert (kept.invoice_number, kept.day) == ("N-1", "2026-12-07")


def test_processes_on_one_database_claim_each_run_once(database: str) -> None:
    runs, other = Runs(Store(database)), Runs(Store(database))  # two processes
    assert runs.claim_run("digest", "T1", "2026-12-07")
    assert not other.claim_run("digest", "T1", "2026-12-07")
    other.release_run_claims()  # another process starting up
    if other.store.shared:
        assert not runs.claim_run("digest", "T1", "2026-12-07")  # still being done
    with runs.store.transaction():
        runs.finish_run("digest", "T1", "2026-12-07")
    assert not other.claim_run("digest", "T1", "2026-12-07")
    assert [row["period"] for row in other.runs("digest")] == ["2026-12-07"]


def test_racing_processes_claim_a_run_once(database: str) -> None:
    Store(database).close()
    start = threading.Barrier(4)

    def claim(_: int) -> bool:
        runs = Runs(Store(database))
        try:
            start.wait()
            return runs.claim_run("digest", "T1", "2026-12-07")
        finally:
            runs.store.close()

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(claim, range(4))) == [False, False, False, True]
