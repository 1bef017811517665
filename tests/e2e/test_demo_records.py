"""Records through the local Slack: the CSV export opened and summed, an invoice's story,
and reminding a customer of an overdue Payfirma invoice (by hand, then on a schedule)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import aiohttp

from bot.clock import ManualClock
from bot.demo import Demo
from bot.web import SCHEDULER, SERVICES, STORE
from plugins.payfirma.sandbox import SANDBOX as PAYFIRMA
from plugins.pingproxies.sandbox import SANDBOX as PINGPROXIES
from slack_emulator import EMULATOR, Emulator, Message
from tests.e2e.conftest import BILLING, Person, button_value, url_of
from tests.e2e.test_demo_pingproxies import pay_with_a_declining_card
from tests.pingproxies.conftest import pay_path
from tests.scenario.harness import pay_in_browser


async def pay(
    pat: Person, browser: aiohttp.ClientSession, number: str, *, from_list: str = ""
) -> None:
    """Pay by card: from `/invoices pay`, or with the **Pay** of the list's invoice id."""
    if from_list:
        await pat.types("i3d")
        listing = await pat.sees(number)
        await pat.clicks(listing, "pay", value=button_value(listing, "pay", f"|{from_list}|"))
    else:
        await pat.types(f"pay {number}")
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="20")
    menu = await pat.sees("Get payment link")
    await pat.clicks(menu, "get_link")
    link = await pat.sees("Open payment page")
    await pay_in_browser(browser, url_of(link, "open_link"))


async def test_the_export_is_two_csv_files_in_a_dm_that_sum_to_what_was_paid(
    person: Callable[[str], Person], browser: aiohttp.ClientSession, demo: Demo
) -> None:
    slack = demo.slack[EMULATOR]
    pat = person("U0PAYER")
    await pay(pat, browser, "INV-24-0087")
    await slack.wait_until(lambda: len(slack.messages(BILLING)) == 1, 15)
    await pay(pat, browser, "INV-24-0101")
    await slack.wait_until(lambda: len(slack.messages(BILLING)) == 2, 15)

    await pat.types("export")
    await pat.sees("Sent to your messages with invoicebot")
    dm = slack.workspace.dm_with("U0PAYER").id
    settlements, audit = sorted(slack.files.shared_in(dm), key=lambda f: "audit" in f.name)
    assert settlements.name.endswith("-settlements.csv") and audit.name.endswith("-audit.csv")
    # Downloaded as a person would from the small Slack's page.
    async with browser.get(f"{demo.slack_url}/emulator/files/{settlements.id}") as response:
        assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    # The credit note taken off the first payment is a row of its own, negative.
    assert [(r["invoice_number"], r["amount"]) for r in rows] == [
        ("INV-24-0087", "363.00"),
        ("CRN-24-0003", "-24.20"),
        ("INV-24-0101", "121.00"),
    ]
    paid = [Decimal(str(m.blocks).split("€")[1].split("*")[0]) for m in slack.messages(BILLING)]
    assert sum(Decimal(r["amount"]) for r in rows) == sum(paid) == Decimal("459.80")
    assert {r["currency"] for r in rows} == {"EUR"}
    assert {r["direction"] for r in rows} == {"payable"}
    assert rows[0]["who"].endswith("(U0PAYER)") and rows[0]["who"] != "(U0PAYER)"
    assert rows[0]["provider"] == "i3D.net" and rows[0]["method"]
    assert "approvals" in rows[0] and datetime.fromisoformat(rows[0]["date"])
    actions = [r["action"] for r in csv.DictReader(io.StringIO((audit.content or b"").decode()))]
    assert actions.count("payment.paid") == 2

    await pat.types("export 2001-01-01 2001-01-31")  # nothing then: headers only
    await pat.sees("0 settlements")
    await pat.types("export 2026-13-01")
    await pat.sees("is not a date in the calendar")
    assert len(slack.files.shared_in(dm)) == 4

    slack.faults.fail("files.getUploadURLExternal", times=3)
    await pat.types("export")
    failed = await pat.sees("Slack did not take the files just now")
    assert "500" not in failed.text and len(slack.files.shared_in(dm)) == 4

    val = person("U0VIEWER")
    await val.types("export")
    await val.sees("not allowed to export")


async def test_an_export_of_the_calendars_last_days_is_sent_not_an_error(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """9999-12-31 ran off the calendar ("Something went wrong"), and December 9999 was
    said not to be a month of the calendar."""
    slack = demo.slack[EMULATOR]
    pat = person("U0PAYER")
    await pat.types("export 9999-12-31")
    await pat.sees("records from 9999-12-31 to 9999-12-31: 0 settlements")
    await pat.types("export 9999-12")
    await pat.sees("records from 9999-12-01 to 9999-12-31: 0 settlements")
    assert len(slack.files.shared_in(slack.workspace.dm_with("U0PAYER").id)) == 4
    assert not [m for m in slack.ephemerals("U0PAYER", "C0GENERAL") if "wrong" in m.text]


async def audit_rows(pat: Person, slack: Emulator) -> list[dict[str, str]]:
    """`/invoices export` by `pat`: the rows of the audit CSV sent last."""
    await pat.types("export")
    await pat.sees("Sent to your messages with invoicebot")
    audit = slack.files.shared_in(slack.workspace.dm_with(pat.user).id)[-1]
    assert audit.name.endswith("-audit.csv")
    return list(csv.DictReader(io.StringIO((audit.content or b"").decode())))


async def copied_link(pat: Person) -> Message:
    """`pat` copies the payment link of Jordan Lee's Payfirma invoice 212948."""
    await pat.types("payfirma")
    listing = await pat.sees("Jordan Lee")
    await pat.clicks(listing, "copy_link", value=button_value(listing, "copy_link", "212948"))
    return await pat.sees("Payment link for the customer")


async def test_a_customer_opening_their_link_is_the_customer_in_the_audit_export(
    person: Callable[[str], Person], browser: aiohttp.ClientSession, demo: Demo
) -> None:
    """The team member copied the link; the customer opened it."""
    slack = demo.slack[EMULATOR]
    pat = person("U0PAYER")
    link = await copied_link(pat)
    async with browser.get(url_of(link, "open_link")) as page:  # the customer's browser
        assert page.status == 200
    rows = await audit_rows(pat, slack)
    who = {row["action"]: row["who"] for row in rows}
    assert who["payment.started"] == "Pat Payer (U0PAYER)"
    assert (
        who["payment.opened"]
        == who["payment.link_opened"]
        == "holder of the link sent to customer Jordan Lee (jordan@mapleleaf.example)"
    )


async def test_a_customers_payment_is_the_customers_in_the_audit_export(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """The customer paid through the link a team member sent: the settlement is the
    customer's, as the settlements file says; the sender stays on the link's start."""
    from tests.payfirma.test_payfirma_demo import pay_by_card

    slack = demo.slack[EMULATOR]
    pat = person("U0PAYER")
    link = await copied_link(pat)
    await pay_by_card(url_of(link, "open_link"))
    await slack.wait_until(lambda: [m for m in slack.messages(BILLING) if "212948" in m.text], 20)
    who = {row["action"]: row["who"] for row in await audit_rows(pat, slack)}
    assert who["payment.started"] == "Pat Payer (U0PAYER)"
    assert who["invoice.settled"] == "customer Jordan Lee (jordan@mapleleaf.example)"


async def test_a_declined_card_is_the_providers_reason_in_the_audit_export(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """People read the CSV: no HTTP status or request id; the audit table keeps them."""
    slack = demo.slack[EMULATOR]
    pat = person("U0PAYER")
    await pay_with_a_declining_card(pat)
    rows = await audit_rows(pat, slack)
    said = "PingProxies could not take the payment: Your card was declined. Nothing was charged."
    detail = {row["action"]: json.loads(row["detail"] or "{}") for row in rows}
    assert detail["payment.failed"] == {"last_error": said}
    assert detail["payment.refused"] == {"reason": said, "invoices": ["PING-0087"]}
    refused = next(row for row in rows if row["action"] == "payment.refused")
    assert refused["invoices"] == "PING-0087", "finance reads numbers, not the provider's ids"
    shown = str([row["detail"] for row in rows])  # not the ids: random hex may hold "422"
    assert "HTTP" not in shown and "422" not in shown and "request id" not in shown
    kept = [e.detail for e in demo.bot[STORE].audit_log() if e.action == "payment.failed"]
    assert "HTTP 422" in kept[0]["last_error"] and "request id" in kept[0]["last_error"]


async def test_a_charge_whose_answer_was_lost_names_its_invoice_in_the_audit_export(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """The row's subject holds PingProxies' ids; finance reads the number beside it."""
    slack = demo.slack[EMULATOR]
    demo.sandboxes["pingproxies"][PINGPROXIES].inject("lost_answer", path=pay_path("inv_sbx0101"))
    pat = person("U0PAYER")
    await pat.types("pay PING-0101")
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="pm_sbxVisa4242")
    await pat.clicks(await pat.sees("Pay now"), "get_link")
    await pat.sees("not known yet")
    rows = [row for row in await audit_rows(pat, slack) if row["action"] == "payment.unknown"]
    clicked = [row for row in rows if "inv_sbx0101" in row["subject"]]  # the payment's own too
    assert len(clicked) == 1 and clicked[0]["invoices"] == "PING-0101", rows


async def test_history_tells_an_invoices_story(
    person: Callable[[str], Person], browser: aiohttp.ClientSession, demo: Demo
) -> None:
    slack = demo.slack[EMULATOR]
    pat = person("U0PAYER")
    await pay(pat, browser, "INV-24-0087", from_list="410002")
    await slack.wait_until(lambda: slack.messages(BILLING), 15)
    await pat.types("history INV-24-0087")
    story = await pat.sees("The story of invoice INV-24-0087")
    told = str(story.blocks)
    assert "asked for the ways to pay it" in told
    assert "Payment started by <@U0PAYER>" in told and "Settled" in told
    assert told.index("asked for the ways") < told.index("Settled")
    assert "<!date^" in told, "times in each reader's own zone, as Slack shows them"
    await pat.types("history inv-24-0087")  # as people type it
    assert "Settled" in str((await pat.sees("The story of invoice INV-24-0087")).blocks)
    await pat.types("history 410002")  # its id at i3D.net: the same story
    by_id = await pat.sees("“410002” is i3D.net's id of invoice INV-24-0087.")
    assert "The story of invoice INV-24-0087" in by_id.text and "Settled" in str(by_id.blocks)
    await pat.types("history CRN-24-0003")  # the credit note that payment took off
    credit = await pat.sees("Taken off the payment of INV-24-0087 by <@U0PAYER>: −€24.20")
    assert credit.text.startswith("The story of credit note CRN-24-0003")
    await pat.types("history NOPE-1")
    await pat.sees("No invoice numbered “NOPE-1” at")


async def test_a_customer_is_reminded_once_a_day_by_hand_and_on_a_schedule(
    person: Callable[[str], Person], demo: Demo
) -> None:
    emails = demo.sandboxes["payfirma"][PAYFIRMA].emails
    pat = person("U0PAYER")
    await pat.types("payfirma overdue")
    listing = await pat.sees("Send reminder")
    value = button_value(listing, "remind_customer", "payfirma|")
    await pat.clicks(listing, "remind_customer", value=value)
    await pat.sees("Reminder sent")
    assert len(emails) == 1
    await pat.clicks(listing, "remind_customer", value=value)
    again = await pat.sees("already reminded")
    assert "today by you;" in again.text and "<@U0PAYER>" not in again.text, again.text
    assert len(emails) == 1

    # Automatic reminders every 3 days, at most twice, over ten days.
    scheduler = demo.bot[SCHEDULER]
    svc = demo.bot[SERVICES]
    start = datetime.now(scheduler.timetable.zone).replace(hour=10) + timedelta(days=1)
    clock = ManualClock(start)
    scheduler.clock = svc.clock = clock
    scheduler.timetable = svc.settings.timetable.__class__.parse(
        zone="UTC", digest="off", daily="09:00", due_reminder_days=0, auto_remind="3x2"
    )
    sent = []
    for _ in range(10):
        await scheduler.run_once()
        sent.append(len(emails))
        clock.advance(86400)
    # By hand on day 0; automatically on days 3 and 6; then no more (at most twice).
    assert sent == [1, 1, 2, 2, 2, 3, 3, 3, 3, 3]

    # The digest says when the customer was last reminded.
    scheduler.timetable = svc.settings.timetable.__class__.parse(
        zone="UTC", digest="daily 09:00", daily="09:00", due_reminder_days=0, auto_remind="off"
    )
    await scheduler.run_once()
    slack = demo.slack[EMULATOR]
    digest = await slack.wait_until(
        lambda: [m for m in slack.messages(BILLING) if "Invoice digest" in m.text]
    )
    assert "last reminded" in str(digest[0].blocks) and "automatically" in str(digest[0].blocks)
    assert "remind_customer" in str(digest[0].blocks)

    # A click on the digest answers in the clicker's messages; the digest stays.
    before = list(digest[0].blocks)
    await pat.clicks(digest[0], "remind_customer", value=value)
    dm = slack.workspace.dm_with("U0PAYER").id
    await slack.wait_until(lambda: any("Reminder sent" in m.text for m in slack.messages(dm)))
    assert digest[0].blocks == before and len(emails) == 4


async def test_app_homes_export_button_asks_for_dates_and_sends_the_files(demo: Demo) -> None:
    from tests.e2e.test_demo_home import home_of

    slack = demo.slack[EMULATOR]
    home = await home_of(slack, "U0PAYER")
    await slack.click("U0PAYER", home, "export_records")
    modal = await slack.wait_until(lambda: slack.modal("U0PAYER"))
    assert "From" in str(modal.blocks)
    await slack.submit_view(
        "U0PAYER", values={"first": {"value": "2026-11-05"}, "last": {"value": "2026-11-01"}}
    )
    assert "before the start" in str(slack.modal("U0PAYER").errors)  # type: ignore[union-attr]
    await slack.submit_view(
        "U0PAYER", values={"first": {"value": "2026-11-01"}, "last": {"value": "2026-11-30"}}
    )
    dm = slack.workspace.dm_with("U0PAYER").id
    files = await slack.wait_until(lambda: len(slack.files.shared_in(dm)) == 2 and slack.files)
    assert files.shared_in(dm)[0].name.startswith("invoicebot-2026-11-01-to-2026-11-30")
    viewer = await home_of(slack, "U0VIEWER")
    assert "export_records" not in str(viewer.blocks)
