"""App Home built from what the store and the providers say: settlements told apart by who
paid, provider text escaped, a slow provider named instead of waited for."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast
from unittest.mock import AsyncMock

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.approvals_policy import Policy
from bot.invoices import Listing, Page
from bot.models import Invoice, Money, Payment, PaymentState, today_utc
from bot.provider import NoCredentials, ProviderUnavailable
from bot.selection import Totals
from bot.slack.errors import tell
from bot.slack.home import Found, Ledger, home_blocks, home_view
from bot.slack.responses import AnswerRouting, DirectRespond, PooledRespond
from bot.snapshots import Snapshots
from tests.test_digest import Mailer, Supplier, invoice
from tests.test_paging import Ledger as Books


def paid(number: str, user: str, *, direction: str = "payable", provider: str = "i3d") -> Payment:
    return Payment(
        team_id="T0TEAM",
        provider=provider,
        direction=direction,
        invoice_ids=(number.lower(),),
        invoice_numbers=(number,),
        amount=Money.of("96.80", "EUR"),
        method_id="ideal",
        method_name="iDEAL",
        user_id=user,
        state=PaymentState.PAID,
    )


def test_settlements_tell_own_payments_from_the_teams_and_customers() -> None:
    on = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    ledger = Ledger(
        settled=[
            (on, paid("INV-1", "U0PAYER")),
            (on, paid("INV-2", "U0ADMIN")),
            (on, paid("PF-3", "U0PAYER", direction="receivable", provider="payfirma")),
            (on, paid("<!channel> *x*", "U0PAYER")),
        ],
        in_progress=[],
    )
    view = home_blocks(
        providers=[], found=None, ledger=ledger, user_id="U0PAYER", may_pay=True, today=today_utc()
    )
    text = {
        b["text"]["text"].split("\n")[0]: b["text"]["text"] for b in view["blocks"] if "text" in b
    }
    mine, team, customers = (
        text["*Your payments*"],
        text["*Your team's payments*"],
        text["*Customers' payments*"],
    )
    assert "2026-11-30 · *INV-1* · €96.80 · i3d · paid by you" in mine
    assert "INV-2" in team and "paid by <@U0ADMIN>" in team and "INV-2" not in mine
    assert "PF-3" in customers and "paid by the customer" in customers and "PF-3" not in mine
    assert "<!channel>" not in str(view) and "&lt;!channel&gt;" in mine


class Slow(Books):
    name = "slow"
    title = "Slow & Co"

    async def list_invoices(self, query: Any) -> Any:
        await asyncio.sleep(30)


async def test_a_slow_provider_is_named_and_the_others_shown() -> None:
    quick, slow = Books(20), Slow(5)
    svc = SimpleNamespace(
        snapshots=Snapshots(),
        connections=SimpleNamespace(connected=lambda team_id: [quick, slow]),
        store=SimpleNamespace(
            recent_payments=lambda *args: [],
            recent_settlements=lambda *args: [],
            recent_paid_twice=lambda *args: [],
            settled_amounts=lambda *args, **kwargs: {},
            settled_dates=lambda *args: {},
            payments_for_invoices=lambda *args: [],
        ),
        approvals=SimpleNamespace(policy=lambda team_id: Policy()),
        access=SimpleNamespace(
            may_pay=AsyncMock(return_value=True), may_pay_shown=AsyncMock(return_value=True)
        ),
        today=today_utc,
        zone=lambda: UTC,
    )
    started = asyncio.get_running_loop().time()
    view = await home_view(cast(Any, svc), "T0TEAM", "U0PAYER", wait=0.2)
    assert asyncio.get_running_loop().time() - started < 2
    said = str(view)
    assert "Slow &amp; Co" in said and "slow to answer" in said
    assert "of ledger" in said


async def test_an_error_after_a_click_in_home_is_told_in_messages() -> None:
    client = SimpleNamespace(
        chat_postMessage=AsyncMock(return_value={"channel": "D0PAYER", "ts": "1.000001"})
    )
    respond = DirectRespond(client=cast(Any, client), user_id="U0PAYER")
    body = {"type": "block_actions", "container": {"type": "view", "view_id": "V1"}}
    await tell(ProviderUnavailable("i3D.net is down for maintenance."), body, respond)
    (call,) = client.chat_postMessage.await_args_list
    assert call.kwargs["channel"] == "U0PAYER"
    assert "down for maintenance" in call.kwargs["text"]


@pytest.mark.parametrize(
    ("where", "answered_by"),
    [
        ({"view": {"type": "home", "id": "V1"}}, DirectRespond),
        ({"response_url": "https://hooks.slack.test/1", "block_id": "digest.open"}, DirectRespond),
        ({"response_url": "https://hooks.slack.test/2", "block_id": "list.page"}, PooledRespond),
    ],
    ids=["home", "digest", "list"],
)
async def test_a_click_is_answered_where_it_was_made_over_socket_mode_too(
    where: dict[str, Any], answered_by: type
) -> None:
    """Socket Mode hands requests straight to Bolt, past `/slack/events`: the routing is
    one of Bolt's middlewares, so it runs there too, after authorization."""
    body: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": "T0TEAM"},
        "user": {"id": "U0PAYER"},
        "actions": [{"action_id": "go", "block_id": where.get("block_id", "b")}],
    }
    if "view" in where:
        body["view"] = where["view"]
    if "response_url" in where:
        body["response_url"] = where["response_url"]
    request = AsyncBoltRequest(body=body, mode="socket_mode")
    request.context["client"] = SimpleNamespace()
    routing = AnswerRouting(cast(Any, None), "digest.")
    done = BoltResponse(status=200)
    assert await routing.async_process(req=request, resp=done, next=AsyncMock(return_value=done))
    assert type(request.context["respond"]) is answered_by


def test_a_long_invoice_number_leaves_every_other_settlement_in_sight() -> None:
    """One settlement's provider number of thousands of characters is cut within its line:
    it would otherwise fill the section's 3,000 and hide the other nine."""
    on = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    long_one = (on, paid("INV-" + "9" * 3_000, "U0PAYER"))
    others = [(on, paid(f"INV-{n}", "U0PAYER")) for n in range(9)]
    view = home_blocks(
        providers=[],
        found=None,
        ledger=Ledger(settled=[long_one, *others], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=on.date(),
    )
    mine = next(b for b in view["blocks"] if "Your payments" in str(b))["text"]["text"]
    assert all(f"INV-{n}" in mine for n in range(9)), mine[-200:]
    assert mine.count("paid by you") == 10


def test_the_notes_on_the_buttons_name_those_app_home_shows() -> None:
    """An overdue receivable there has Send reminder, which answers in the person's
    messages too: the note names it; a week of bills alone, only Pay."""
    today = date(2026, 12, 7)
    mailer, supplier = Mailer(NoCredentials(), None), Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    late = invoice("mailer", "M-1", -1, "20.00")
    bill = invoice("supplier", "S-1", 2, "10.00")

    def note_for(*invoices: Invoice) -> str:
        page = Page(list(invoices), [], len(invoices), 0, Totals({}), Totals({}))
        listings = [Listing(mailer, 1), Listing(supplier, 1)]
        view = home_blocks(
            providers=[mailer, supplier],
            found=Found(listings, page, page),
            ledger=Ledger(settled=[], in_progress=[]),
            user_id="U0PAYER",
            may_pay=True,
            today=today,
        )
        notes = [str(b) for b in view["blocks"] if "answer" in str(b) and b["type"] == "context"]
        assert len(notes) == 1, notes
        return notes[0]

    both = note_for(late, bill)
    assert "*Pay*, *Copy payment link* and *Send reminder* answer in your messages" in both
    assert "*Pay* answers in your messages" in note_for(bill)


@pytest.mark.parametrize("overdue", [False, True])
def test_the_week_line_reads_right_with_or_without_anything_overdue(overdue: bool) -> None:
    """With nothing overdue, "Nothing else falls due" has nothing before it to be else to:
    the week's empty line says the same under either overdue line."""
    today = date(2026, 12, 7)
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    invoices = [invoice("supplier", "S-1", -3, "10.00")] if overdue else []
    page = Page(invoices, [], len(invoices), 0, Totals({}), Totals({}))
    view = home_blocks(
        providers=[supplier],
        found=Found(
            [Listing(supplier, len(invoices))], page, Page([], [], 0, 0, Totals({}), Totals({}))
        ),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=today,
    )
    said = [b["text"]["text"] for b in view["blocks"] if "text" in b]
    assert ("Nothing is overdue. :tada:" in said) is not overdue
    assert "Nothing falls due in the next 7 days." in said, said


@pytest.mark.parametrize(
    ("error", "unreadable", "overdue", "week"),
    [
        (
            "Mailer is down for maintenance.",
            [],
            "Nothing overdue at Supplier &lt;!channel&gt;; Mailer could not be read.",
            "Nothing falls due in the next 7 days at Supplier &lt;!channel&gt;; Mailer could "
            "not be read.",
        ),
        (
            None,
            ["M-9"],
            "Nothing overdue at Supplier &lt;!channel&gt;; some invoices at Mailer could not "
            "be read.",
            "Nothing falls due in the next 7 days at Supplier &lt;!channel&gt;; some invoices "
            "at Mailer could not be read.",
        ),
    ],
    ids=["down", "unreadable"],
)
def test_nothing_due_is_said_only_of_the_providers_read_in_full(
    error: str | None, unreadable: list[str], overdue: str, week: str
) -> None:
    """A provider that failed, or sent invoices that could not be read, may have some
    overdue or due this week: App Home says nothing is, only of the others."""
    mailer, supplier = Mailer(NoCredentials(), None), Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    empty = Page([], [], 0, 0, Totals({}), Totals({}))
    listings = [Listing(supplier, 0), Listing(mailer, 0, error, unreadable)]
    view = home_blocks(
        providers=[supplier, mailer],
        found=Found(listings, empty, empty),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=date(2026, 12, 7),
    )
    said = [b["text"]["text"] for b in view["blocks"] if "text" in b]
    assert "Nothing is overdue. :tada:" not in said
    assert "Nothing falls due in the next 7 days." not in said
    assert overdue in said and week in said, said


def test_nothing_due_is_not_said_when_no_provider_could_be_read() -> None:
    mailer = Mailer(NoCredentials(), None)  # type: ignore[arg-type]
    empty = Page([], [], 0, 0, Totals({}), Totals({}))
    view = home_blocks(
        providers=[mailer],
        found=Found([Listing(mailer, 0, "Mailer is down.")], empty, empty),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=date(2026, 12, 7),
    )
    said = [b["text"]["text"] for b in view["blocks"] if "text" in b]
    assert said.count("Mailer could not be read.") == 2, said
    assert not any(line.startswith(("Nothing is", "Nothing falls")) for line in said), said


def test_the_totals_say_what_they_leave_out() -> None:
    """A side whose provider could not be read is not "nothing open", and a sum without
    it says so; the other side, read in full, reads as before."""
    mailer, supplier = Mailer(NoCredentials(), None), Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    empty = Page([], [], 0, 0, Totals({}), Totals({}))
    listings = [Listing(supplier, 0), Listing(mailer, 0, "Mailer is down.")]
    view = home_blocks(
        providers=[supplier, mailer],
        found=Found(listings, empty, empty),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=date(2026, 12, 7),
    )
    (to_pay, to_collect) = view["blocks"][1]["fields"]
    assert to_pay["text"] == "*To pay*\nnothing open"
    assert to_collect["text"] == "*To collect*\nMailer could not be read.", to_collect

    owed = Totals({"EUR": Money.of("10.00", "EUR")}, count=1)
    page = Page([], [], 1, 0, owed, Totals({}))
    listings = [Listing(supplier, 1, unreadable=["S-9"]), Listing(mailer, 0)]
    view = home_blocks(
        providers=[supplier, mailer],
        found=Found(listings, page, empty),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=date(2026, 12, 7),
    )
    (to_pay, to_collect) = view["blocks"][1]["fields"]
    assert to_pay["text"] == (
        "*To pay*\n€10.00\nnot counted: some invoices at Supplier &lt;!channel&gt; could not be "
        "read"
    ), to_pay
    assert to_collect["text"] == "*To collect*\nnothing open"


def test_invoices_that_could_not_be_read_do_not_claim_the_others_are_shown() -> None:
    """App Home shows only what is overdue or due this week, and a provider may have sent
    nothing else: "its other invoices are [shown]" says more than is known."""
    supplier = Supplier(NoCredentials(), None)  # type: ignore[arg-type]
    empty = Page([], [], 0, 0, Totals({}), Totals({}))
    view = home_blocks(
        providers=[supplier],
        found=Found([Listing(supplier, 0, unreadable=["S-9"])], empty, empty),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=date(2026, 12, 7),
    )
    (line,) = [b["text"]["text"] for b in view["blocks"] if "S-9" in str(b)]
    assert line == (
        ":warning: *Supplier &lt;!channel&gt;*: 1 invoice (S-9) could not be read and is not "
        "shown; any others it sent were read. Look it up at Supplier &lt;!channel&gt;."
    ), line


def test_a_provider_that_failed_is_named_once_on_its_line() -> None:
    """A provider's error already starts with its name ("Mailer had a server error"):
    "*Mailer*: Mailer had…" would say it twice, as the list does not."""
    mailer = Mailer(NoCredentials(), None)  # type: ignore[arg-type]
    empty = Page([], [], 0, 0, Totals({}), Totals({}))
    error = "Mailer had a server error: <down>; try again in a few minutes."
    view = home_blocks(
        providers=[mailer],
        found=Found([Listing(mailer, 0, error)], empty, empty),
        ledger=Ledger(settled=[], in_progress=[]),
        user_id="U0PAYER",
        may_pay=True,
        today=date(2026, 12, 7),
    )
    (line,) = [b["text"]["text"] for b in view["blocks"] if "server error" in str(b)]
    assert line == (
        ":warning: *Mailer* had a server error: &lt;down&gt;; try again in a few minutes."
    ), line
