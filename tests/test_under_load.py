"""What keeps the bot quick under a burst of commands, each shown to change behaviour.

Batched audit rows, acks before follow-ups, one fetch for identical concurrent asks,
and respond() over a pooled HTTP session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import web as web_module
from bot.singleflight import SingleFlight
from bot.slack import errors
from bot.slack.priority import SLACK_ACK_SECONDS, AckFirst, deadlines
from bot.slack.responses import PooledRespond
from bot.store import Store


def _rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as other:  # what another reader of the file sees
        return other.execute("SELECT action, subject FROM audit ORDER BY id").fetchall()


def test_a_batched_audit_row_waits_for_the_flush_and_others_are_written_at_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite"
    store = Store(path)
    store.audit("invoices.listed", team_id="T1", user_id="U1", subject="open", batched=True)
    assert _rows(path) == []
    store.audit("provider.connected", team_id="T1", user_id="U1", subject="i3d")
    assert _rows(path) == [("invoices.listed", "open"), ("provider.connected", "i3d")]
    store.audit("invoices.listed", team_id="T1", user_id="U1", subject="all", batched=True)
    store.close()
    assert _rows(path)[-1] == ("invoices.listed", "all")


async def test_the_background_flush_writes_batched_rows_in_order(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    store = Store(path)
    for word in ("a", "b", "c"):
        store.audit("invoices.listed", subject=word, batched=True)
    await store.flush_audit_in_background()
    assert _rows(path) == [
        ("invoices.listed", "a"),
        ("invoices.listed", "b"),
        ("invoices.listed", "c"),
    ]
    assert [entry.subject for entry in store.audit_log()] == ["c", "b", "a"]
    store.close()


async def test_the_audit_flush_waits_for_a_gap_between_acks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its writing thread would otherwise take the interpreter from the acks, row by row."""
    monkeypatch.setattr(web_module, "AUDIT_FLUSH_SECONDS", 0.01)
    path = tmp_path / "bot.sqlite"
    store, acks = Store(path), AckFirst(patience=5)
    store.audit("invoices.listed", subject="burst", batched=True)
    flusher = asyncio.create_task(web_module._flush_audit_forever(store, acks))
    try:
        with acks.acking():
            await asyncio.sleep(0.2)
            assert _rows(path) == []  # twenty flush periods, none while an ack waited
        for _ in range(100):
            await asyncio.sleep(0.01)
            if _rows(path):
                break
        assert _rows(path) == [("invoices.listed", "burst")]
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        store.close()


async def test_follow_up_work_waits_while_a_request_waits_for_its_ack() -> None:
    acks = AckFirst(patience=5)
    order: list[str] = []

    async def follow_up() -> None:
        await acks.turn()
        order.append("follow-up")

    with acks.acking():
        task = asyncio.create_task(follow_up())
        await asyncio.sleep(0.05)
        order.append("ack")
    await task
    assert order == ["ack", "follow-up"]


async def test_a_flood_of_requests_delays_a_follow_up_by_no_more_than_its_patience() -> None:
    acks = AckFirst(patience=0.1)
    with acks.acking():
        loop = asyncio.get_running_loop()
        began = loop.time()
        await acks.turn()
        assert 0.09 < loop.time() - began < 1.0


def test_a_follow_up_waits_for_a_gap_no_longer_than_slack_waits_for_an_ack() -> None:
    """A burst gets its acks alone for as long as Slack allows one, never longer."""
    assert AckFirst().patience == SLACK_ACK_SECONDS == errors.ACK_WAIT == 3.0


async def test_identical_concurrent_asks_share_one_run_and_the_next_runs_afresh() -> None:
    flight: SingleFlight[int] = SingleFlight()
    runs = 0

    async def fetch() -> int:
        nonlocal runs
        runs += 1
        mine = runs
        await asyncio.sleep(0.05)
        return mine

    answers = await asyncio.gather(*(flight.run("open", fetch) for _ in range(50)))
    assert answers == [1] * 50 and runs == 1
    assert await flight.run("open", fetch) == 2  # nothing kept once the run ended
    assert await asyncio.gather(flight.run("a", fetch), flight.run("b", fetch)) == [3, 4]
    assert len(flight) == 0


async def test_one_caller_giving_up_does_not_cancel_the_others() -> None:
    flight: SingleFlight[str] = SingleFlight()

    async def fetch() -> str:
        await asyncio.sleep(0.05)
        return "list"

    impatient = asyncio.create_task(flight.run("k", fetch))
    patient = asyncio.create_task(flight.run("k", fetch))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert await patient == "list"


@contextlib.asynccontextmanager
async def responding() -> AsyncIterator[tuple[PooledRespond, list[str]]]:
    """`PooledRespond` to a local response_url, and the bodies it received, as sent."""
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.text())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks/1", hook)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        url = str(server.make_url("/hooks/1"))
        yield PooledRespond(response_url=url, session=session), received


async def test_respond_posts_the_message_over_the_shared_session() -> None:
    async with responding() as (respond, received):
        await respond(text="Open invoices", blocks=[{"type": "divider"}], replace_original=True)
        await respond(text="again", response_type=None)
        session = respond.session
        assert not session.closed
        assert session.connector is not None and len(session.connector._conns) == 1
    assert [json.loads(body) for body in received] == [
        {"text": "Open invoices", "blocks": [{"type": "divider"}], "replace_original": True},
        {"text": "again"},
    ]


async def test_respond_posts_what_orjson_refuses_as_the_standard_encoder_would() -> None:
    async with responding() as (respond, received):
        answer = await respond(text="odd \ud800 text")
    assert answer.status_code == 200
    assert json.loads(received[0]) == {"text": "odd \ud800 text"}


async def test_under_a_steady_flood_each_follow_up_is_late_by_its_patience_not_more() -> None:
    """Acks that keep arriving (the count never reaches zero) must not hold every list
    for long: each waits its own patience, then runs."""
    acks = AckFirst(patience=0.05, slots=4)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    async def flood() -> None:
        while not stop.is_set():
            with acks.acking():
                await asyncio.sleep(0.01)

    floods = [asyncio.create_task(flood()) for _ in range(3)]
    late: list[float] = []

    async def listing() -> None:
        began = loop.time()
        await acks.turn()
        async with acks.posting():
            late.append(loop.time() - began)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(listing() for _ in range(8)))
    stop.set()
    await asyncio.gather(*floods)
    assert len(late) == 8
    assert max(late) < 0.05 + 2 * 0.01 + 0.1  # patience, then at most two rounds of slots


async def test_a_gap_between_acks_lets_one_follow_up_in_not_all_of_them() -> None:
    acks = AckFirst(patience=5)
    released: list[int] = []

    async def follow_up(number: int) -> None:
        await acks.turn()
        released.append(number)

    with acks.acking():
        tasks = [asyncio.create_task(follow_up(n)) for n in range(5)]
        await asyncio.sleep(0.01)
    assert released == []
    for _ in range(3):  # a request arrives on every pass: the gap closes at once
        with acks.acking():
            await asyncio.sleep(0)
    assert len(released) <= 3
    await asyncio.gather(*tasks)  # once acks stop arriving, the rest follow in order
    assert released == [0, 1, 2, 3, 4]


async def test_a_follow_up_with_no_ack_waiting_goes_at_once() -> None:
    acks = AckFirst(patience=5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await acks.turn()
    assert loop.time() - began < 0.01


async def test_a_listener_answers_slack_when_it_acks_while_its_work_goes_on() -> None:
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.errors import shielded

    finished = asyncio.Event()

    async def listener(ack: AsyncAck) -> None:
        await ack()
        await asyncio.sleep(0.2)
        finished.set()

    ack = AsyncAck()
    run = shielded(listener)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await run(
        ack=ack, body={"type": "block_actions"}, respond=None, client=None, command=None, event=None
    )
    assert loop.time() - began < 0.1 and ack.response is not None and not finished.is_set()
    await asyncio.wait_for(finished.wait(), 1)


async def test_a_listener_that_never_acks_lets_slack_have_its_answer_after_the_ack_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One timer serves every waiting request, each ended by its own deadline in turn."""
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack import errors

    monkeypatch.setattr(errors, "ACK_WAIT", 0.2)
    stuck = asyncio.Event()

    async def silent(ack: AsyncAck) -> None:
        await stuck.wait()  # neither acks nor ends

    async def prompt(ack: AsyncAck) -> None:
        await ack()

    loop = asyncio.get_running_loop()
    ended: dict[str, float] = {}

    async def request(name: str, listener: Any, delay: float) -> None:
        await asyncio.sleep(delay)
        began = loop.time()
        await errors.shielded(listener)(
            ack=AsyncAck(), body={"type": "block_actions"}, respond=None, client=None,
            command=None, event=None,
        )  # fmt: skip
        ended[name] = loop.time() - began

    await asyncio.gather(
        request("first", silent, 0), request("quick", prompt, 0.05), request("late", silent, 0.1)
    )
    stuck.set()
    assert ended["quick"] < 0.05
    assert 0.19 <= ended["first"] < 0.3 and 0.19 <= ended["late"] < 0.3


async def test_a_cancelled_follow_up_leaves_the_others_their_deadlines() -> None:
    acks = AckFirst(patience=0.1)
    loop = asyncio.get_running_loop()
    with acks.acking():
        began = loop.time()
        gone = asyncio.create_task(acks.turn())
        kept = asyncio.create_task(acks.turn())
        await asyncio.sleep(0)
        gone.cancel()
        await kept
        assert 0.09 <= loop.time() - began < 0.2
    assert gone.cancelled()


async def test_requests_streaming_in_keep_follow_ups_waiting_until_they_pause() -> None:
    """A burst (requests closer than `quiet`) holds lists; a pause lets them go."""
    acks = AckFirst(patience=5, quiet=0.02)
    released = asyncio.Event()

    async def follow_up() -> None:
        await acks.turn()
        released.set()

    with acks.acking():
        task = asyncio.create_task(follow_up())
        await asyncio.sleep(0)
    for _ in range(5):  # a request every 5 ms: never 20 ms of calm
        await asyncio.sleep(0.005)
        with acks.acking():
            await asyncio.sleep(0)
        assert not released.is_set()
    await asyncio.wait_for(released.wait(), 1)  # the burst paused: the list goes
    await task


async def test_posts_go_a_few_at_a_time_while_slack_answers_quickly() -> None:
    acks = AckFirst(slots=4, lease=5)
    inside = most = 0

    async def post() -> None:
        nonlocal inside, most
        async with acks.posting():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.005)
            inside -= 1

    await asyncio.gather(*(post() for _ in range(40)))
    assert most == 4


async def test_a_distant_slack_does_not_hold_the_other_posts_for_its_answer() -> None:
    """A slot is lent for `lease` at most: 16 posts to a Slack that answers in 0.5 s all
    start within four leases, not four answers."""
    acks = AckFirst(slots=4, lease=0.05)
    loop = asyncio.get_running_loop()
    began = loop.time()
    started: list[float] = []

    async def post() -> None:
        async with acks.posting():
            started.append(loop.time() - began)
            await asyncio.sleep(0.5)

    await asyncio.gather(*(post() for _ in range(16)))
    assert len(started) == 16 and max(started) < 0.4


async def test_deadlines_of_different_lengths_each_end_on_time() -> None:
    """One timer for every wait, whatever their lengths and the order they came in."""
    loop = asyncio.get_running_loop()
    long, short = loop.create_future(), loop.create_future()
    deadlines(loop).add(long, 3.0)
    began = loop.time()
    deadlines(loop).add(short, 0.1)
    await short
    assert 0.09 <= loop.time() - began < 0.5 and not long.done()
    long.cancel()


def test_follow_ups_keep_their_deadline_on_a_new_event_loop() -> None:
    acks = AckFirst(patience=0.1)

    async def handed_out_in_a_gap() -> None:
        with acks.acking():
            turn = asyncio.create_task(acks.turn())
            await asyncio.sleep(0.01)
        await turn  # its deadline is still pending when this loop closes

    async def waits_for_its_deadline() -> float:
        loop = asyncio.get_running_loop()
        with acks.acking():
            began = loop.time()
            await asyncio.wait_for(acks.turn(), 2)
            return loop.time() - began

    asyncio.run(handed_out_in_a_gap())
    assert asyncio.run(waits_for_its_deadline()) < 0.5


def test_two_event_loops_at_once_each_end_their_own_deadlines() -> None:
    took: dict[str, float] = {}

    async def wait(name: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        began = loop.time()
        deadlines(loop).add(future, seconds)
        await asyncio.wait_for(future, 2)
        took[name] = loop.time() - began

    other = threading.Thread(target=lambda: asyncio.run(wait("thread", 0.3)))
    other.start()
    time.sleep(0.05)  # the thread's loop has its wait; this one asks next
    asyncio.run(wait("main", 0.1))
    other.join()
    assert 0.09 <= took["main"] < 0.5 and 0.29 <= took["thread"] < 0.8


@pytest.mark.parametrize("fails", [False, True], ids=["written", "write fails"])
async def test_a_flush_cancelled_while_its_thread_writes_is_written_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """A stop cancels the flush mid-write, then closes the store: the thread's rows are
    neither written twice nor lost; a write that fails leaves them for `close`."""
    path = tmp_path / "bot.sqlite"
    store = Store(path)
    real = store._write_audit

    def slow(rows: Any) -> Any:
        time.sleep(0.2)  # the stop comes while the thread writes
        if fails:
            raise sqlite3.OperationalError("disk I/O error")
        return real(rows)

    monkeypatch.setattr(store, "_write_audit", slow)
    store.audit("invoices.listed", subject="once", batched=True)
    flush = asyncio.create_task(store.flush_audit_in_background())
    await asyncio.sleep(0.05)
    flush.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await flush  # a stop waits for the flush, then closes the store at once
    store.close()
    assert _rows(path) == [("invoices.listed", "once")]


async def test_follow_ups_whose_deadline_came_leave_the_queue_while_acks_keep_arriving() -> None:
    acks = AckFirst(patience=0.001)
    with acks.acking():  # never a gap
        for _ in range(50):
            await acks.turn()
        assert len(acks._queue) <= 1
