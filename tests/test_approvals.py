"""The approval rules without Slack: brackets, what an approval is bound to, and that each
person's decision counts once even when two processes decide at the same moment."""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError

from bot.access import Access
from bot.approvals import (
    ApprovalNeeded,
    Approvals,
    Binding,
    Outcome,
    Request,
    State,
)
from bot.approvals_policy import Policy, PolicyError
from bot.credentials import generate_key
from bot.engine import open_engine
from bot.models import Money
from bot.records import Range, export
from bot.settings import Settings
from bot.slack.blocks.approvals import status_line
from bot.store import MIGRATIONS, Store, migrate
from bot.team_settings import TeamSettings
from bot.workspaces import SingleWorkspace

DEMO = "EUR 500 1 U0FINANCE,U0ADMIN; EUR 5000 2 U0FINANCE,U0CFO,U0ADMIN"
TEAM = "T0TEAM"


def eur(amount: str) -> Money:
    return Money.of(Decimal(amount), "EUR")


@pytest.mark.parametrize(
    ("amount", "needed"),
    [("499.99", 0), ("500.00", 1), ("4999.99", 1), ("5000.00", 2), ("1000000.00", 2)],
)
def test_the_highest_bracket_reached_applies(amount: str, needed: int) -> None:
    bracket = Policy.parse(DEMO).bracket_for("i3d", eur(amount))
    assert (bracket.needed if bracket else 0) == needed


def test_brackets_are_per_currency_and_a_providers_own_replace_the_general() -> None:
    policy = Policy.parse(DEMO + "; pingproxies EUR 0 0\nUSD 100 1 <@U0CFO>,<!subteam^S0FIN|fin>")
    assert policy.needs("pingproxies", eur("9000.00")) is None
    assert policy.needs("i3d", Money.of(Decimal("50.00"), "USD")) is None
    usd = policy.needs("i3d", Money.of(Decimal("100.00"), "USD"))
    assert usd is not None and usd.users == ("U0CFO",) and usd.groups == ("S0FIN",)
    assert Policy.parse(policy.text()) == policy, "the written form reads back the same"
    short = Policy.parse("ace eur 10 1 U0A")  # a provider named like a currency code
    assert (short.brackets[0].provider, short.brackets[0].currency) == ("ace", "EUR")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("EUR lots 1 U0A", "should read like"),
        ("EUR 5e2 1 U0A", "should read like"),  # Decimal reads it as 500
        ("EUR 500 1e0 U0A", "should read like"),
        ("EUR 500.999 1 U0A", "EUR amounts have at most 2 decimals"),
        ("JPY 10.5 1 U0A", "JPY amounts have at most 0 decimals"),
        ("ZZZ 500 1 U0A", "`ZZZ` is not a currency; write its ISO 4217 code, like EUR"),
        ("i3d XAU 500 1 U0A", "`XAU` is not a currency"),  # gold is not invoiced in
        ("EUR 500 3 U0A", "0, 1 or 2"),
        ("EUR 500 1", "say who may approve"),
        ("EUR 500 1 alice", "not a person"),
        ("EUR 500 1 U0A; EUR 500 2 U0A,U0B", "Two brackets"),
        ("EUR -1 0", "zero or more"),
        ("EUR 500 2 U0A", "two different people"),
        ("EUR 500 2 U0A,U0A", "two different people"),
        ("EUR 10 0; EUR 500 2 U0A", r"Bracket 2 \(`EUR 500 2 U0A`\)"),
        (
            "EUR 100 2 U0A,U0B; EUR 500 1 U0A; USD 1 2 U0A,U0B",
            "`EUR 500 1 U0A` needs fewer approvals than `EUR 100 2 U0A,U0B`, which starts "
            "lower: a larger payment cannot need fewer.",
        ),
    ],
)
def test_a_policy_that_cannot_be_read_says_which_line_and_why(text: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        Policy.parse(text)


def test_the_environment_seed_is_checked_at_start_up(tmp_path: Path) -> None:
    common = {
        "slack_bot_token": "xoxb-1",
        "public_url": "http://127.0.0.1:1",
        "secret_key": generate_key(),
        "billing_channel": "C0BILLING",
        "_env_file": None,
    }
    settings = Settings(**common, approvals=DEMO, approval_hours=2)  # type: ignore[arg-type]
    assert settings.approval_policy.hours == 2
    assert len(settings.approval_policy.brackets) == 2
    with pytest.raises(ValueError, match="approvals needed"):
        Settings(**common, approvals="EUR 1 9 U0A")  # type: ignore[arg-type]


@pytest.fixture
def approvals(database: str) -> Approvals:
    """On sqlite and on PostgreSQL."""
    return Approvals(Store(database), Policy.parse(DEMO, hours=1))


def ask(approvals: Approvals, amount: str, needed: int = 1, **kw: object) -> str:
    binding = Binding.of("i3d", ["410007"], eur(amount))
    request = approvals.open(
        team_id=TEAM,
        binding=binding,
        invoice_numbers=("INV-24-0104",),
        requester="U0PAYER",
        note="",
        due=None,
        needed=needed,
        approvers=("U0FINANCE", "U0ADMIN", "U0CFO"),
    )
    assert request is not None
    return request.id


def test_a_request_needs_its_approvals_from_different_people(approvals: Approvals) -> None:
    request_id = ask(approvals, "6000.00", needed=2)
    binding = Binding.of("i3d", ["410007"], eur("6000.00"))
    with pytest.raises(ApprovalNeeded, match="two approvals"):
        approvals.require(TEAM, binding)
    assert approvals.decide(request_id, TEAM, "U0PAYER", approve=True)[0] is Outcome.OWN
    assert approvals.decide(request_id, TEAM, "U0VIEWER", approve=True)[0] is Outcome.NOT_APPROVER
    assert approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)[0] is Outcome.COUNTED
    assert approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)[0] is Outcome.REPEATED
    outcome, request = approvals.decide(request_id, TEAM, "U0CFO", approve=True)
    assert outcome is Outcome.APPROVED and request is not None
    assert request.approved_by == ("U0FINANCE", "U0CFO")
    approvals.require(TEAM, binding)  # no longer raises
    assert approvals.decide(request_id, TEAM, "U0ADMIN", approve=False)[0] is Outcome.CLOSED


def test_an_approval_is_bound_to_the_invoices_and_the_exact_amount(approvals: Approvals) -> None:
    request_id = ask(approvals, "1427.80")
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    approvals.require(TEAM, Binding.of("i3d", ["410007"], eur("1427.80")))
    for other in (
        Binding.of("i3d", ["410007"], eur("1452.00")),  # the credit note nets differently
        Binding.of("i3d", ["410007", "410001"], eur("1427.80")),
    ):
        with pytest.raises(ApprovalNeeded):
            approvals.require(TEAM, other)


def test_one_pending_request_per_invoice_and_a_rejection_keeps_its_reason(
    approvals: Approvals,
) -> None:
    request_id = ask(approvals, "700.00")
    binding = Binding.of("i3d", ["410007"], eur("700.00"))
    again = approvals.open(
        team_id=TEAM, binding=binding, invoice_numbers=("INV-24-0104",), requester="U0ADMIN",
        note="", due=None, needed=1, approvers=("U0FINANCE",),
    )  # fmt: skip
    assert again is None, "a second click on Send request asks nobody twice"
    outcome, request = approvals.decide(
        request_id, TEAM, "U0FINANCE", approve=False, reason="Later"
    )
    assert outcome is Outcome.REJECTED and request is not None
    assert (request.state, request.reason, request.rejected_by) == (
        State.REJECTED, "Later", "U0FINANCE",
    )  # fmt: skip
    audit = approvals.store.audit_log()
    assert audit[0].action == "approval.rejected" and audit[0].detail["reason"] == "Later"


def test_approvals_and_requests_expire_once(approvals: Approvals) -> None:
    approved = ask(approvals, "700.00")
    approvals.decide(approved, TEAM, "U0FINANCE", approve=True)
    later = time.time() + 3601
    expired = approvals.expire_due(later)
    assert [r.id for r in expired] == [approved] and expired[0].state is State.EXPIRED
    assert approvals.expire_due(later) == []
    pending = ask(approvals, "8000.00", needed=2)
    assert approvals.decide(pending, TEAM, "U0FINANCE", approve=True)[0] is Outcome.COUNTED
    assert [r.id for r in approvals.expire_due(later)] == [pending]
    assert approvals.decide(pending, TEAM, "U0CFO", approve=True)[0] is Outcome.CLOSED


def test_a_click_on_an_expired_request_expires_it(approvals: Approvals) -> None:
    request_id = ask(approvals, "700.00")
    approvals.store.db.execute(
        "UPDATE approval_requests SET expires_at = 0 WHERE id = ?", [request_id]
    )
    outcome, request = approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    assert outcome is Outcome.EXPIRED and request is not None and request.state is State.EXPIRED


def test_two_processes_deciding_at_once_count_one_decision(database: str) -> None:
    path = database
    first = Approvals(Store(path), Policy.parse(DEMO))
    request_id = ask(first, "700.00")
    outcomes: list[Outcome] = []
    start = threading.Barrier(4)

    def click(user: str) -> None:
        mine = Approvals(Store(path), Policy.parse(DEMO))  # a connection of its own
        start.wait()
        outcomes.append(mine.decide(request_id, TEAM, user, approve=True)[0])

    threads = [
        threading.Thread(target=click, args=(user,))
        for user in ("U0FINANCE", "U0FINANCE", "U0ADMIN", "U0CFO")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count(Outcome.APPROVED) == 1
    request = first.get(request_id)
    assert request is not None and len(request.approved_by) == 1


def test_a_decision_kept_waiting_while_the_request_ran_out_is_not_counted(database: str) -> None:
    """Another process holds the write lock (settling a payment) while an approver clicks
    Approve, and the request runs out meanwhile: the click finds it expired, and no
    decision is counted or announced for it."""
    if "postgresql" not in database:
        pytest.skip("a sqlite file is served by one process")
    first = Approvals(Store(database), Policy.parse(DEMO))
    request_id = ask(first, "700.00")
    first.store.db.execute(
        "UPDATE approval_requests SET expires_at = ? WHERE id = ?", [time.time() + 0.3, request_id]
    )
    other, holding = Store(database), threading.Event()

    def settling_elsewhere() -> None:
        with other.claim():
            holding.set()
            time.sleep(1.0)

    elsewhere = threading.Thread(target=settling_elsewhere)
    elsewhere.start()
    try:
        holding.wait(5)
        outcome, request = first.decide(request_id, TEAM, "U0FINANCE", approve=True)
    finally:
        elsewhere.join()
        other.close()
    assert outcome is Outcome.EXPIRED
    assert request is not None and request.state is State.EXPIRED and not request.approved_by


def test_the_expiry_sweep_waits_for_a_decision_being_counted(database: str) -> None:
    """Another process counts the last approval (holding the approvals' lock) just as
    the request's time runs out: the sweep waits for it, then leaves the approval
    standing, instead of expiring the request under the click that reads "approved"."""
    if "postgresql" not in database:
        pytest.skip("a sqlite file is served by one process")
    sweeper = Approvals(Store(database), Policy.parse(DEMO))
    request_id = ask(sweeper, "700.00")
    ends = time.time() + 0.5
    sweeper.store.db.execute(
        "UPDATE approval_requests SET expires_at = ? WHERE id = ?", [ends, request_id]
    )
    other, holding = Store(database), threading.Event()

    def approving_elsewhere() -> None:
        with other.claim():
            holding.set()
            time.sleep(1.0)  # the time runs out meanwhile
            other.db.execute(
                "UPDATE approval_requests SET state = 'approved', decided_at = ?, "
                "expires_at = ? WHERE id = ? AND state = 'pending'",
                [ends - 0.1, ends + 3600, request_id],
            )

    elsewhere = threading.Thread(target=approving_elsewhere)
    elsewhere.start()
    try:
        holding.wait(5)
        time.sleep(0.6)
        expired = sweeper.expire_due()
    finally:
        elsewhere.join()
        other.close()
    assert expired == []
    request = sweeper.get(request_id)
    assert request is not None and request.state is State.APPROVED


def test_a_saved_policy_overrides_the_seed_and_is_audited(approvals: Approvals) -> None:
    assert approvals.policy(TEAM).needs("i3d", eur("600.00")) is not None
    approvals.save_policy(TEAM, Policy.parse("EUR 1000 1 U0CFO", hours=3), user_id="U0ADMIN")
    assert approvals.policy(TEAM).needs("i3d", eur("600.00")) is None
    assert approvals.policy(TEAM).hours == 3
    assert approvals.policy("T0OTHER").needs("i3d", eur("600.00")) is not None
    entry = approvals.store.audit_log()[0]
    assert (entry.action, entry.user_id) == ("approvals.policy_saved", "U0ADMIN")


def test_the_export_and_the_history_name_who_approved(approvals: Approvals) -> None:
    from datetime import UTC, datetime

    from bot.approvals_record import approvals_for
    from bot.history import story
    from bot.models import Payment

    request_id = ask(approvals, "1427.80")
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    paid = Payment(
        team_id=TEAM, provider="i3d", invoice_ids=("410007",), invoice_numbers=("INV-24-0104",),
        amount=eur("1427.80"), method_id="10", method_name="iDEAL", user_id="U0PAYER",
        created_at=datetime.now(UTC),
    )  # fmt: skip
    ((who, at),) = approvals_for(approvals.store, paid)
    assert who == "U0FINANCE" and at.startswith("20")
    # The export's approvals column names the approver as its `who` names the payer.
    from zoneinfo import ZoneInfo

    from bot.payments import Payments
    from bot.plugins import make_plugin_manager
    from bot.records import Range, export, people
    from bot.store import now_iso

    store = approvals.store
    recorded, _ = Payments(store, make_plugin_manager(entry_point_plugins=False)).record(paid)
    with store.claim():
        store.add_settlement("s1", recorded, evidence="attempt", settled_at=now_iso())
    today = datetime.now(UTC).date()
    period, zone = Range(today, today), ZoneInfo("UTC")
    assert "U0FINANCE" in people(store, TEAM, period, zone)
    named = {"U0FINANCE": "Fran Finance (U0FINANCE)", "U0PAYER": "Pat Payer (U0PAYER)"}
    made = export(store, TEAM, period, zone, {"i3d": "i3D.net"}, named)
    assert ",Fran Finance (U0FINANCE) at 20" in made.settlements_csv
    other = paid.model_copy(update={"amount": eur("1452.00")})
    assert approvals_for(approvals.store, other) == [], "approved for another total"
    said = [e.text for e in story(approvals.store, TEAM, "INV-24-0104", {"i3d": "i3D.net"})]
    assert any("<@U0PAYER> asked for approval of €1,427.80" in text for text in said)
    assert "<@U0FINANCE> approved" in said


def test_a_payment_still_names_its_approval_once_the_approval_has_expired(
    approvals: Approvals,
) -> None:
    """Every approval expires a day after it was given, paid through or not: last
    month's export still names who approved each payment, and the story says when the
    approval ran out (not when invoicebot noticed)."""
    from bot.approvals_record import approvals_for
    from bot.history import story
    from bot.models import Payment

    request_id = ask(approvals, "1427.80")
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    paid = Payment(
        team_id=TEAM, provider="i3d", invoice_ids=("410007",), invoice_numbers=("INV-24-0104",),
        amount=eur("1427.80"), method_id="10", method_name="iDEAL", user_id="U0PAYER",
        created_at=datetime.now(UTC),
    )  # fmt: skip
    assert [who for who, _ in approvals_for(approvals.store, paid)] == ["U0FINANCE"]
    request = approvals.get(request_id)
    assert request is not None
    (expired,) = approvals.expire_due(request.expires_at + 7200)  # noticed two hours late
    assert expired.state is State.EXPIRED
    assert [who for who, _ in approvals_for(approvals.store, paid)] == ["U0FINANCE"]
    events = story(approvals.store, TEAM, "INV-24-0104", {"i3d": "i3D.net"})
    (ran_out,) = [e for e in events if "expired" in e.text]
    assert ran_out.at.timestamp() == pytest.approx(request.expires_at)
    # Approved, it is the approval that ran out, not a request left undecided.
    assert ran_out.text == "The approval expired"
    pending = ask(approvals, "900.00")
    approvals.expire_due(time.time() + 7200)
    assert approvals.get(pending) is not None
    undecided = [
        e.text for e in story(approvals.store, TEAM, "INV-24-0104", {}) if "expired" in e.text
    ]
    assert "The approval request expired before it was decided" in undecided


def test_an_approval_that_expired_before_the_fix_gets_its_approval_time_back(
    database: str,
) -> None:
    """Approvals expired by an older version carry their expiry as approval time; the
    migration gives them back the time of their last approval, so their payments name
    them again."""
    from bot.approvals_record import approvals_for
    from bot.models import Payment

    approvals = Approvals(Store(database), Policy.parse(DEMO, hours=1))
    request_id = ask(approvals, "1427.80")
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    paid = Payment(
        team_id=TEAM, provider="i3d", invoice_ids=("410007",), invoice_numbers=("INV-24-0104",),
        amount=eur("1427.80"), method_id="10", method_name="iDEAL", user_id="U0PAYER",
        created_at=datetime.now(UTC),
    )  # fmt: skip
    store = approvals.store
    store.db.execute(  # as the older version left it
        "UPDATE approval_requests SET state = 'expired', decided_at = ? WHERE id = ?",
        [time.time() + 7200, request_id],
    )
    assert approvals_for(store, paid) == []
    store.db.execute("DELETE FROM _migrations WHERE name = ?", ["022_approval_times_kept"])
    store.close()

    again = Store(database)  # migrates again
    assert [who for who, _ in approvals_for(again, paid)] == ["U0FINANCE"]
    again.close()


class GroupsClient:
    """usergroups.list as Slack answers it, or refused as without `usergroups:read`."""

    def __init__(self, *, scope: bool) -> None:
        self.scope, self.calls = scope, 0

    async def usergroups_list(self, token: str | None = None) -> dict[str, Any]:
        self.calls += 1
        if not self.scope:
            raise SlackApiError("missing_scope", {"ok": False, "error": "missing_scope"})
        return {"ok": True, "usergroups": [{"id": "S0FIN", "handle": "fin", "name": "Finance"}]}


async def test_the_settings_dialog_lists_user_groups_only_when_slack_does(
    tmp_path: Path,
) -> None:
    settings = Settings(
        slack_bot_token="xoxb-1", public_url="http://127.0.0.1:1", secret_key=generate_key(),
        billing_channel="C0BILLING", _env_file=None,  # type: ignore[call-arg]
    )  # fmt: skip
    store = Store(tmp_path / "bot.sqlite")
    teams, tokens = TeamSettings(store, settings), SingleWorkspace("xoxb-1")
    allowed = GroupsClient(scope=True)
    access = Access(teams, allowed, tokens)  # type: ignore[arg-type]
    assert await access.groups("T1") == [("S0FIN", "@fin (Finance)")]
    assert await access.groups("T1") == [("S0FIN", "@fin (Finance)")] and allowed.calls == 1
    refused = Access(teams, GroupsClient(scope=False), tokens)  # type: ignore[arg-type]
    assert await refused.groups("T1") is None
    store.close()


def test_the_audit_export_names_the_invoices_of_an_approval_row(approvals: Approvals) -> None:
    """An approval's rows name its request by id: the export says which invoices it is."""
    request_id = ask(approvals, "900.00")
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    today = datetime.now(UTC).date()
    made = export(approvals.store, TEAM, Range(today, today), ZoneInfo("UTC"), {}, {})
    rows = [row for row in csv.reader(io.StringIO(made.audit_csv)) if row[3] == request_id]
    assert rows and {row[5] for row in rows} == {"INV-24-0104"}, rows


def test_a_request_to_deliver_again_is_taken_by_one_process_at_a_time(
    approvals: Approvals,
) -> None:
    """Every process's watcher looks for undelivered requests: one takes each, for the
    lease, so an approver is not sent the same DM by two processes."""
    request_id = ask(approvals, "700.00")
    later = time.time() + 1
    assert [r.id for r in approvals.undelivered(later, 120.0)] == [request_id]
    assert approvals.undelivered(later, 120.0) == [], "taken for the lease"
    approvals.retry_delivery(request_id, 0.0)  # Slack refused a DM for now
    assert [r.id for r in approvals.undelivered(later, 120.0)] == [request_id]
    approvals.delivered(request_id)
    approvals.retry_delivery(request_id, 0.0)
    assert approvals.undelivered(later, 120.0) == []


def test_a_dm_in_doubt_is_noted_until_its_message_is_kept(database: str) -> None:
    """On a database made before DMs were noted (upgraded, a request waiting): nothing is
    in doubt; a DM about to be posted is, with where and when, until its ts is kept."""
    db = open_engine(database)
    migrate(db, [step for step in MIGRATIONS if step[0] != "028_approval_dm_attempts"])
    db.close()
    approvals = Approvals(Store(database), Policy.parse(DEMO, hours=1))  # migrates the rest
    request_id = ask(approvals, "700.00")
    assert approvals.attempt(request_id, "U0FINANCE") is None
    approvals.attempting(request_id, "U0FINANCE", "D0FINANCE")
    channel, at, below = approvals.attempt(request_id, "U0FINANCE") or ("", 0.0, 0.0)
    assert channel == "D0FINANCE" and abs(at - time.time()) < 5 and below is None
    approvals.searched_below(request_id, "U0FINANCE", at + 10)
    assert approvals.attempt(request_id, "U0FINANCE") == ("D0FINANCE", at, at + 10)
    approvals.attempting(request_id, "U0FINANCE", "D0FINANCE")  # sent again: read afresh
    assert (approvals.attempt(request_id, "U0FINANCE") or ())[2] is None
    assert approvals.attempt(request_id, "U0ADMIN") is None
    approvals.remember_message(request_id, "U0FINANCE", "D0FINANCE", "1.000100")
    assert approvals.attempt(request_id, "U0FINANCE") is None


def test_an_approval_given_before_the_rule_got_stricter_is_asked_again(
    approvals: Approvals,
) -> None:
    """Approved by one under "1 of Fran or Alex"; the admin then asks two, of others:
    the payment must not go through on the one approval given under the old rule."""
    binding = Binding.of("i3d", ["410007"], eur("1427.80"))
    rule = approvals.policy(TEAM).needs("i3d", eur("1427.80"))
    assert rule is not None
    request = approvals.open(
        team_id=TEAM, binding=binding, invoice_numbers=("INV-24-0104",), requester="U0PAYER",
        note="", due=None, needed=rule.needed, approvers=("U0FINANCE",), rule=rule.rule(),
    )  # fmt: skip
    assert request is not None
    approvals.decide(request.id, TEAM, "U0FINANCE", approve=True)
    approvals.require(TEAM, binding)
    approvals.save_policy(TEAM, approvals.policy(TEAM), user_id="U0ADMIN")  # saved unchanged
    approvals.require(TEAM, binding)
    reordered = Policy.parse(
        "EUR 500 1 U0ADMIN,U0FINANCE; EUR 5000 2 U0FINANCE,U0CFO,U0ADMIN", hours=1
    )  # the dialog lists people before groups, whatever order they were chosen in
    approvals.save_policy(TEAM, reordered, user_id="U0ADMIN")
    approvals.require(TEAM, binding)
    stricter = Policy.parse("EUR 500 2 U0CFO,U0ADMIN", hours=1)
    approvals.save_policy(TEAM, stricter, user_id="U0ADMIN")
    with pytest.raises(ApprovalNeeded, match="changed after this payment was approved"):
        approvals.require(TEAM, binding)
    assert approvals.approved(TEAM, binding) is None  # so it can be requested again


def test_an_approval_from_before_rules_were_kept_binds_by_its_count(approvals: Approvals) -> None:
    request_id = ask(approvals, "1427.80")  # no rule: as requests made before it was kept
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    binding = Binding.of("i3d", ["410007"], eur("1427.80"))
    approvals.require(TEAM, binding)
    approvals.save_policy(TEAM, Policy.parse("EUR 500 2 U0CFO,U0ADMIN", hours=1), user_id="U0A")
    with pytest.raises(ApprovalNeeded):
        approvals.require(TEAM, binding)


def test_a_pending_request_for_an_old_amount_gives_way_to_one_for_the_amount_due_now(
    approvals: Approvals,
) -> None:
    """The amount changed while approvers had not decided: approving the old amount could
    pay nothing, and it must not hold back asking for the amount due now for a day."""
    old_id = ask(approvals, "700.00")
    binding = Binding.of("i3d", ["410007"], eur("745.00"))
    replaced = approvals.replace_outdated(TEAM, binding)
    assert replaced is not None and replaced.id == old_id
    assert replaced.state is State.EXPIRED and "€745.00" in (replaced.reason or "")
    assert approvals.replace_outdated(TEAM, binding) is None  # once
    new_id = ask(approvals, "745.00")
    assert approvals.decide(old_id, TEAM, "U0FINANCE", approve=True)[0] is Outcome.CLOSED
    assert approvals.decide(new_id, TEAM, "U0FINANCE", approve=True)[0] is Outcome.APPROVED
    approvals.require(TEAM, binding)
    shown = status_line(replaced)
    assert "€745.00" in shown and "not decided in time" not in shown


def test_a_pending_request_for_the_same_amount_is_not_replaced(approvals: Approvals) -> None:
    ask(approvals, "700.00")
    assert approvals.replace_outdated(TEAM, Binding.of("i3d", ["410007"], eur("700.00"))) is None


def test_a_payment_started_after_its_approval_ran_out_is_not_named_approved(
    approvals: Approvals,
) -> None:
    """An approval keeps the time it was given once it expires; a payment of the same
    invoices and total started after that (the bracket lifted, say) was not made under
    it, so the export's approvals column and the paid DMs do not name it."""
    from datetime import timedelta

    from bot.approvals_record import approvals_for
    from bot.models import Payment

    request_id = ask(approvals, "1427.80")
    approvals.decide(request_id, TEAM, "U0FINANCE", approve=True)
    request = approvals.get(request_id)
    assert request is not None
    approvals.expire_due(request.expires_at + 1)
    later = Payment(
        team_id=TEAM, provider="i3d", invoice_ids=("410007",), invoice_numbers=("INV-24-0104",),
        amount=eur("1427.80"), method_id="10", method_name="iDEAL", user_id="U0PAYER",
        created_at=datetime.fromtimestamp(request.expires_at, UTC) + timedelta(minutes=5),
    )  # fmt: skip
    assert approvals.behind(later) is None
    assert approvals_for(approvals.store, later) == []


def test_a_request_replaced_for_a_new_amount_is_told_when_and_why_in_the_story(
    approvals: Approvals,
) -> None:
    """A request ended because the amount due changed ends then, not at the hour it
    would have run out (a day later, after the payment it made way for)."""
    from bot.history import story

    first = ask(approvals, "900.00")
    replaced = approvals.replace_outdated(TEAM, Binding.of("i3d", ["410007"], eur("950.00")))
    assert replaced is not None and replaced.id == first
    events = story(approvals.store, TEAM, "INV-24-0104", {"i3d": "i3D.net"})
    (ended,) = [e for e in events if "expired" in e.text or "Replaced" in e.text]
    assert ended.at.timestamp() <= time.time() + 1
    assert "Replaced: the amount due is now €950.00" in ended.text


def test_requests_that_fail_to_expire_hold_back_none_of_the_others(
    approvals: Approvals, caplog: pytest.LogCaptureFixture
) -> None:
    """Fifty requests whose expiry fails (their messages cannot be queued) are set
    aside: a request that ran out after them still expires in the same sweep, and the
    failing ones are tried again less and less often, not every second with a
    traceback each."""
    failing = set()
    for number in range(50):
        request = approvals.open(
            team_id=TEAM, binding=Binding.of("i3d", [f"5{number:05}"], eur("700.00")),
            invoice_numbers=(f"INV-{number}",), requester="U0PAYER", note="", due=None,
            needed=1, approvers=("U0FINANCE",),
        )  # fmt: skip
        assert request is not None
        failing.add(request.id)
    last = ask(approvals, "700.00")
    approvals.store.db.execute(
        "UPDATE approval_requests SET expires_at = expires_at + 1 WHERE id = ?", [last]
    )

    def tell(request: Request) -> None:
        if request.id in failing:
            raise RuntimeError("cannot queue its messages")

    later = time.time() + 3602
    assert [r.id for r in approvals.expire_due(later, then=tell)] == [last]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 50
    caplog.clear()
    assert approvals.expire_due(later + 1, then=tell) == []
    assert not caplog.records, "set aside, they are not tried again at once"
    assert approvals.expire_due(later + 3, then=tell) == []
    assert len(caplog.records) == 50 and not any(r.exc_info for r in caplog.records)
    assert len(approvals.expire_due(later + 1000)) == 50


def test_a_request_whose_time_ran_out_reads_as_expired_before_the_sweep(
    approvals: Approvals,
) -> None:
    """Between a request's expiry time and the sweep, it is not listed as waiting, and
    asking again expires it (the sweep need not come first) instead of being refused."""
    request_id = ask(approvals, "700.00")
    approvals.store.db.execute(
        "UPDATE approval_requests SET expires_at = ? WHERE id = ?", [time.time() - 1, request_id]
    )
    assert approvals.waiting_for(TEAM, "U0PAYER") == []
    binding = Binding.of("i3d", ["410007"], eur("700.00"))
    ended = approvals.replace_outdated(TEAM, binding)
    assert ended is not None and ended.id == request_id and ended.state is State.EXPIRED
    assert ended.reason is None, "it ran out; nothing replaced it"
    assert ask(approvals, "700.00") != request_id
    assert approvals.expire_due() == []


def test_an_approval_at_another_provider_under_the_same_number_names_its_provider(
    approvals: Approvals,
) -> None:
    """PingProxies prints INV-24-0104 too: an approval of its invoice is not told as one
    of i3D.net's, though only the latter was paid (and no pay menu row names the former:
    rows from before menus named their numbers)."""
    from bot.history import printing, story
    from bot.models import Payment
    from bot.payments import Payments
    from bot.plugins import make_plugin_manager

    request = approvals.open(
        team_id=TEAM, binding=Binding.of("pingproxies", ["9"], eur("700.00")),
        invoice_numbers=("INV-24-0104",), requester="U0OTHER", note="", due=None, needed=1,
        approvers=("U0FINANCE",),
    )  # fmt: skip
    assert request is not None
    approvals.decide(request.id, TEAM, "U0FINANCE", approve=True)
    store = approvals.store
    Payments(store, make_plugin_manager(entry_point_plugins=False)).record(
        Payment(
            team_id=TEAM, provider="i3d", invoice_ids=("410007",),
            invoice_numbers=("INV-24-0104",), amount=eur("10.00"), method_id="10",
            method_name="iDEAL", user_id="U0PAYER",
        )
    )  # fmt: skip
    titles = {"i3d": "i3D.net", "pingproxies": "PingProxies"}
    told = [e.text for e in story(store, TEAM, "INV-24-0104", titles)]
    assert ":lock: PingProxies: <@U0OTHER> asked for approval of €700.00" in told, told
    assert "PingProxies: <@U0FINANCE> approved" in told, told
    assert any(text.startswith("i3D.net: Payment started") for text in told), told
    assert printing(store, TEAM, "INV-24-0104") == ["i3d", "pingproxies"], "for the note"
