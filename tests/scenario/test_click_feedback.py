"""Every click changes what the person sees within a second, and a slow provider gets a
plain answer within the click's budget; Get link asks the provider once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.slack import link_out, progress
from bot.slack.errors import finish_listeners
from bot.web import OUTBOX, SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import BUSY, Harness, Screen, find, pay_in_browser, text_of
from tests.scenario.test_settling_once import link_for, menu_with_bank


async def first_and_final(h: Harness, key: str, within: float) -> tuple[float, float, str]:
    """Seconds until the clicked message first changed and until its answer, and the answer."""
    started = time.perf_counter()
    await h.wait_for(lambda: h.slack.responses.get(key), within=within)
    first = time.perf_counter() - started
    answer = await h.next_response(key)
    return first, time.perf_counter() - started, text_of(answer)


async def test_pay_with_a_hung_provider_shows_progress_at_once_then_says_it_is_slow(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "READ_BUDGET", 2.0)
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    i3d_sandbox.app[SANDBOX].inject("hang", count=10)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    first, final, said = await first_and_final(h, key, within=1.0)
    assert first < 1.0
    assert h.slack.responses[key][0]["text"].startswith(f"{BUSY} Asking i3D.net")
    assert final < 2.0 + 1.0, final
    assert "i3D.net is slow to answer right now" in said and "Back to the list" in str(
        h.slack.responses[key][-1]
    )


async def test_pay_with_an_unopened_link_out_shows_progress_while_it_asks_the_amount(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pay on an invoice with a link out asks the provider for today's amount (a link for
    an old one gives way): the clicked message says so at once, and a provider that does
    not answer leaves the link shown."""
    monkeypatch.setattr(link_out, "CHECK_BUDGET", 1.0)
    h = harness
    await link_for(h)
    _, screen, _ = await h.command("", user="U0ADMIN")
    screen = await h.screen_after(screen)
    i3d_sandbox.app[SANDBOX].inject("hang", count=10)
    key = await h.click(screen, "pay", user="U0ADMIN", pick=lambda e: "|410001" in e["value"])
    first, final, said = await first_and_final(h, key, within=1.0)
    assert first < 1.0
    assert h.slack.responses[key][0]["text"].startswith(f"{BUSY} Asking i3D.net")
    assert final < 1.0 + 1.0, final
    assert "<@U0PAYER> has a payment link" in said, said
    assert "could not confirm" not in said, "only its holder would have been handed it"


async def test_get_link_asks_the_provider_once_and_answers_within_the_budget(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    menu = await menu_with_bank(h)
    state = i3d_sandbox.app[SANDBOX]
    state.latency = 3.5
    before = {PREPARE: state.count("GET", PREPARE), REGISTER: state.count("POST", REGISTER)}
    key = await h.click(menu, "get_link")
    first, final, _ = await first_and_final(h, key, within=1.0)
    assert first < 1.0 and final < 3.5 + 1.5, (first, final)
    assert "/pay/" in str(h.slack.responses[key][-1])
    assert state.count("POST", REGISTER) - before[REGISTER] == 1
    assert state.count("GET", PREPARE) - before[PREPARE] == 0


async def test_a_slow_start_is_never_cut_short_and_the_person_is_told(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "charge_patience", lambda: 0.5)
    h = harness
    menu = await menu_with_bank(h)
    i3d_sandbox.app[SANDBOX].latency = 1.5
    key = await h.click(menu, "get_link")
    answer = await h.next_response(key)
    notes = [text_of(body) for body in h.slack.responses[key]]
    assert any("keeps waiting" in note for note in notes), notes
    assert "/pay/" in str(answer)


async def test_a_slow_start_whose_answer_comes_below_says_so_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copied link comes as a new message: the note must not take the list's place."""
    monkeypatch.setattr(progress, "charge_patience", lambda: 0.01)
    said: list[dict[str, Any]] = []

    async def respond(**fields: Any) -> None:
        said.append(fields)

    async def slow_start() -> str:
        await asyncio.sleep(0.1)
        return "started"

    assert await progress.patiently(slow_start(), respond, "Payfirma", in_place=False) == "started"  # type: ignore[arg-type]
    (note,) = said
    assert note["replace_original"] is False and "comes below" in note["text"]


async def test_choosing_a_method_reuses_the_offer_just_shown(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    menu = Screen(await h.next_response(key), key)
    state = i3d_sandbox.app[SANDBOX]
    before = state.count("GET", PREPARE)
    assert before > 0, "the menu was fetched with a prepare"
    key = await h.click(menu, "choose_method", selected="10")
    assert "ING" in str(await h.next_response(key))
    assert state.count("GET", PREPARE) == before


PREPARE = "/v3/account/invoice/pay/prepare"
REGISTER = "/v3/account/invoice/pay/register"


async def test_a_500_from_the_response_url_is_tried_again_for_a_replacement(
    harness: Harness,
) -> None:
    """Replacing the clicked message twice shows it once, so a 5xx (Slack took nothing)
    does not leave "Asking…" standing: the busy note and the menu both get there."""
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    h.slack.fail_next["response_url"] = 2
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    menu = await h.next_response(key)
    assert "Total" in text_of(menu) and menu.get("replace_original") is True


async def test_a_click_cut_short_by_a_stop_leaves_its_stand_in_answer(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """A stop gives clicks in progress a grace and then cancels them: one cut short with
    its message reading "Asking…" is answered as after a kill, by the stand-in the
    outbox sends when it is due, not left reading "Asking…" for good."""
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    i3d_sandbox.app[SANDBOX].inject("hang", count=10)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    await h.wait_for(lambda: h.slack.responses.get(key), within=1.0)
    assert h.slack.responses[key][0]["text"].startswith(f"{BUSY} Asking i3D.net")
    await finish_listeners(0)  # what a stop does once its grace is over
    store = h.bot.app[SERVICES].store
    assert [row for row in store.outbox_items() if row["key"].startswith("stand-in:")]


async def test_a_stop_while_the_answer_is_on_its_way_leaves_no_stand_in_to_follow_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack has taken the menu but its reply is slow when the stop's grace ends: the
    stand-in must not replace that menu later (by then it may be the payment's link,
    or its confirmation), so it is withdrawn before the answer is sent."""
    from bot.slack import responses

    post = responses.PooledRespond._post

    async def taken_then_slow(self: Any, given: dict[str, Any]) -> Any:
        answer = await post(self, given)
        if not str(given.get("text", "")).startswith(BUSY):
            await asyncio.sleep(30)
        return answer

    monkeypatch.setattr(responses.PooledRespond, "_post", taken_then_slow)
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    assert "Total" in text_of(await h.next_response(key))
    await finish_listeners(0)  # what a stop does once its grace is over
    store = h.bot.app[SERVICES].store
    assert not [row for row in store.outbox_items() if row["key"].startswith("stand-in:")]


async def test_a_click_whose_message_never_read_asking_leaves_no_stand_in(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A method chosen in the menu is answered from the offer fetched moments ago, with
    no "Asking…" first: cut short, its menu still works, and a choice made again (on
    another process) must not be replaced later by a stand-in saying nothing was done."""
    from tests.scenario.test_paying import open_menu

    menu = await open_menu(harness)
    checkout = harness.bot.app[SERVICES].checkout
    options = checkout.options

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(30)  # the offer read from the database, slowly
        return await options(*args, **kwargs)

    monkeypatch.setattr(checkout, "options", slow)
    h = harness
    await h.click(menu, "choose_method", selected="10")
    await asyncio.sleep(0.3)
    await finish_listeners(0)  # what a stop does once its grace is over
    store = h.bot.app[SERVICES].store
    assert not [row for row in store.outbox_items() if row["key"].startswith("stand-in:")]


async def link_click_slack_fails(h: Harness, i3d_sandbox: TestServer, failures: int) -> str:
    """Get link, with Slack answering 500 to every post of the link itself (`failures`
    of them) once "Asking…" is shown: the click's response URL key."""
    menu = await menu_with_bank(h)
    i3d_sandbox.app[SANDBOX].latency = 0.5  # the note is shown while i3D.net is asked
    key = await h.click(menu, "get_link")
    await h.wait_for(lambda: h.slack.responses.get(key))
    h.slack.fail_next["response_url"] = failures
    return key


async def test_a_link_slack_failed_to_show_is_shown_once_slack_takes_it(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Three 500s in a row for the link's own post: without it the message read "Asking
    i3D.net to start the payment…" until the link expired, and nobody could pay."""
    h = harness
    key = await link_click_slack_fails(h, i3d_sandbox, failures=3)
    (link,) = await h.wait_for(lambda: h.answers(key), within=15)
    assert link.get("replace_original") is True
    pay_url = find(link, "open_link", lambda e: True)[1]["url"]
    assert "/pay/" in pay_url
    store = h.bot.app[SERVICES].store
    token = pay_url.rsplit("/", 1)[1]
    (row,) = [r for r in store.outbox_items() if r["key"].startswith("link:")]
    assert token not in json.dumps(row, default=str), "a pay token is sealed at rest"


async def test_a_link_slack_could_not_show_never_replaces_the_payments_outcome(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    key = await link_click_slack_fails(h, i3d_sandbox, failures=1_000)
    svc = h.bot.app[SERVICES]
    store = svc.store
    await h.wait_for(lambda: [r for r in store.outbox_items() if r["key"].startswith("link:")])
    backing_off = "UPDATE outbox SET next_attempt_at = ? WHERE key LIKE 'link:%'"
    store.db.execute(backing_off, [time.time() + 600])
    (payment,) = store.payments_for_invoices("T0TEAM", "i3d", ["410001"])
    pay_url = svc.checkout.link_of(payment)
    assert pay_url is not None
    h.slack.fail_next["response_url"] = 0
    _, page = await pay_in_browser(h.http, pay_url)
    assert "Invoice paid" in page
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    settled = f"settled:{payment.id}"
    await h.wait_for(
        lambda: [r for r in store.outbox_items() if r["key"] == settled and r["sent_at"]]
    )
    # The link's next try comes after the outcome was shown (it was backing off).
    store.db.execute(backing_off, [0])
    await h.bot.app[OUTBOX].send_due()
    await h.wait_for(lambda: store.outbox_pending() == 0)
    last = h.slack.responses[key][-1]
    assert "open_link" not in json.dumps(last), "the paid payment's link came back"
    assert "paid" in text_of(last).lower()
