"""Keyset paging over providers that cannot sort: every invoice once, in people order,
in memory the size of a page however long the account's history is."""

from __future__ import annotations

import asyncio
import random
import re
import tracemalloc
from collections.abc import Iterable
from datetime import UTC, date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar, cast
from unittest.mock import AsyncMock

import pytest

from bot.approvals_policy import Policy
from bot.invoices import Gathered, Side, Window, gather_invoices, people_order
from bot.models import Invoice, InvoicePage, InvoiceQuery, InvoiceStatus, Money, today_utc
from bot.provider import Provider, ProviderUnavailable
from bot.selection import Page, Selection, Totals, sort_key
from bot.slack import values
from bot.slack.blocks.listing import PAGE_SIZE, invoice_list, summary_of
from bot.slack.home import HOME_LIST, home_view
from bot.slack.subcommands import ListInvoices, parse
from bot.snapshots import Snapshots


def made(provider: str, n: int) -> Invoice:
    """Invoice `n` of a provider: scrambled against people order, with many ties.

    Due dates repeat every 37 invoices and numbers every 50, so the order only holds
    if ties break on provider and id; every fifth is paid, every seventh in dollars.
    """
    today = today_utc()
    currency = "USD" if n % 7 == 0 else "EUR"
    status = InvoiceStatus.PAID if n % 5 == 4 else InvoiceStatus.OPEN
    due_amount = Money.zero(currency) if status is InvoiceStatus.PAID else None
    total = Money.from_minor(1_000 + n, currency)
    return Invoice(
        provider=provider,
        id=f"{provider}-{n}",
        number=f"N-{(n * 31) % 50:03d}",
        description=f"Invoice {n} of {provider}",
        amount_due=due_amount or total,
        total_incl_vat=total,
        due=today + timedelta(days=(n * 11) % 37 - 18),
        status=status,
    )


class Ledger(Provider):
    """An in-memory provider that makes each page only when asked for it."""

    name = "ledger"
    title = "Ledger"

    def __init__(self, count: int, *, per_page: int = 40) -> None:
        super().__init__(credentials=cast(Any, None), http=cast(Any, None))
        self.count = count
        self.per_page = per_page
        self.pages_served = 0

    def everything(self) -> list[Invoice]:
        return [made(self.name, n) for n in range(self.count)]

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        start = int(query.cursor or 0)
        end = min(start + self.per_page, self.count)
        self.pages_served += 1
        return InvoicePage(
            invoices=[made(self.name, n) for n in range(start, end)],
            next_cursor=str(end) if end < self.count else None,
        )

    async def verify(self) -> None:
        return None

    async def get_invoice(self, invoice_id: str) -> Any:
        raise NotImplementedError

    async def payment_options(self, invoice_ids: list[str]) -> Any:
        raise NotImplementedError

    async def start_payment(self, request: Any) -> Any:
        raise NotImplementedError

    async def check_payment(self, check: Any) -> Any:
        raise NotImplementedError


class Archive(Ledger):
    name = "archive"
    title = "Archive"


class Flaky(Ledger):
    """Serves its first page, then fails: none of what it served may show."""

    name = "flaky"
    title = "Flaky Hosting"

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        if query.cursor is not None:
            raise ProviderUnavailable("Flaky Hosting is down for maintenance.")
        return await super().list_invoices(query)


class Slow(Ledger):
    name = "slow"
    title = "Slow Hosting"
    delay: ClassVar[float] = 5.0

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        await asyncio.sleep(self.delay)
        return await super().list_invoices(query)


def in_people_order(*providers: Ledger, open_only: bool = False) -> list[str]:
    today = today_utc()
    invoices = [invoice for provider in providers for invoice in provider.everything()]
    if open_only:
        invoices = [invoice for invoice in invoices if invoice.status is InvoiceStatus.OPEN]
    invoices.sort(key=lambda i: (people_order(i, today), i.provider, i.id))
    return [invoice.id for invoice in invoices]


class Screen:
    """One listing message, as Slack would show it, and the page behind it."""

    def __init__(self, message: dict[str, Any], gathered: Gathered) -> None:
        self.message = message
        self.gathered = gathered
        self.ids = [invoice.id for invoice in gathered.page.invoices]
        self.text = str(message)

    @property
    def label(self) -> str | None:
        found = re.search(r"Page \d+ of \d+", self.text)
        return found.group(0) if found else None

    def button(self, action_id: str) -> str | None:
        for block in self.message["blocks"]:
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return str(element["value"])
        return None


async def show(
    providers: list[Provider],
    value: str | None = None,
    *,
    within: float = 20.0,
    searched: str | None = None,
) -> Screen:
    """The listing `/invoices all` shows, or the one a page button's value leads to."""
    request = values.PageRequest.decode(value) if value else values.PageRequest("all")
    window = Window(PAGE_SIZE, request.side, request.key)
    gathered = await gather_invoices(providers, InvoiceQuery(), window, within=within)
    message = invoice_list(
        "All invoices", gathered, request_text="all", today=today_utc(), searched=searched
    )
    assert len(message["blocks"]) <= 50
    return Screen(message, gathered)


async def walk_forward(providers: list[Provider]) -> list[Screen]:
    screens = [await show(providers)]
    while (following := screens[-1].button(values.PAGE_NEXT)) is not None:
        screens.append(await show(providers, following))
    return screens


async def test_next_visits_every_invoice_once_in_people_order() -> None:
    ledger = Ledger(253, per_page=40)
    screens = await walk_forward([ledger])
    assert [len(s.ids) for s in screens] == [10] * 25 + [3]
    assert [i for s in screens for i in s.ids] == in_people_order(ledger)
    assert [s.label for s in screens] == [f"Page {p} of 26" for p in range(1, 27)]
    assert screens[0].button(values.PAGE_PREVIOUS) is None
    assert all(s.button(values.PAGE_PREVIOUS) for s in screens[1:])
    assert all(s.button(values.PAGE_NEXT) for s in screens[:-1])
    assert "253 invoices" in screens[0].text and "253 invoices" in screens[-1].text
    assert ledger.pages_served == 26 * 7  # the whole account is read once per page shown


async def test_previous_gives_back_exactly_the_page_before() -> None:
    ledger = Ledger(253, per_page=40)
    screens = await walk_forward([ledger])
    back = await show([ledger], screens[2].button(values.PAGE_PREVIOUS))
    assert back.ids == screens[1].ids
    assert back.label == "Page 2 of 26"
    assert back.button(values.PAGE_NEXT) and back.button(values.PAGE_PREVIOUS)
    walked_back = [screens[-1]]
    while (previous := walked_back[-1].button(values.PAGE_PREVIOUS)) is not None:
        walked_back.append(await show([ledger], previous))
    assert [s.ids for s in reversed(walked_back)] == [s.ids for s in screens]
    assert walked_back[-1].label == "Page 1 of 26"


async def test_two_providers_keep_one_order_across_pages() -> None:
    ledger, archive = Ledger(120, per_page=25), Archive(95, per_page=30)
    screens = await walk_forward([ledger, archive])
    shown = [i for s in screens for i in s.ids]
    assert shown == in_people_order(ledger, archive)
    assert {i.split("-")[0] for i in shown[:40]} == {"ledger", "archive"}
    assert screens[-1].label == "Page 22 of 22"
    counts = [(x.provider.name, x.count, x.error) for x in screens[0].gathered.listings]
    assert counts == [("ledger", 120, None), ("archive", 95, None)]


async def test_the_sums_to_pay_cover_every_invoice_not_just_the_page() -> None:
    ledger = Ledger(253)
    page = (await show([ledger])).gathered.page
    for currency in ("EUR", "USD"):
        expected = Money.total(
            (i.amount_due for i in ledger.everything() if i.payable and i.currency == currency),
            currency,
        )
        assert page.to_pay.amounts[currency] == expected
    screen = await show([ledger])
    first = next(i for i in ledger.everything() if i.payable and i.id == screen.ids[0])
    assert list(page.to_pay.amounts) == [first.currency, *({"EUR", "USD"} - {first.currency})]
    assert not page.to_collect.count
    late = f" ({page.to_pay.overdue_words()})" if page.to_pay.overdue else ""
    assert f"253 invoices · To pay {page.to_pay.format()}{late} · from Ledger" in screen.text


async def test_a_failing_provider_shows_its_error_while_the_others_page() -> None:
    ledger, flaky = Ledger(37, per_page=10), Flaky(500, per_page=10)
    screens = await walk_forward([ledger, flaky])
    assert [i for s in screens for i in s.ids] == in_people_order(ledger)
    assert [s.label for s in screens] == [
        "Page 1 of 4",
        "Page 2 of 4",
        "Page 3 of 4",
        "Page 4 of 4",
    ]
    for screen in screens:
        assert ":warning: *Flaky Hosting* is down for maintenance." in screen.text
        assert "37 invoices" in screen.text and "from Ledger" in screen.text
    (_, failed) = screens[0].gathered.listings
    assert (failed.count, failed.error) == (0, "Flaky Hosting is down for maintenance.")


async def test_a_slow_provider_is_named_and_does_not_hold_up_the_others() -> None:
    ledger, slow = Ledger(15), Slow(15)
    screen = await show([ledger, slow], within=0.2)
    assert ":warning: *Slow Hosting* is slow to answer right now (nothing in 0.2 s)" in screen.text
    assert screen.ids == in_people_order(ledger)[:10]
    following = await show([ledger, slow], screen.button(values.PAGE_NEXT), within=0.2)
    assert following.ids == in_people_order(ledger)[10:]


class Long(Slow):
    """Answers every page quickly, but has too many of them to read in the budget."""

    name = "long"
    title = "Long Hosting"
    delay: ClassVar[float] = 0.02


@pytest.mark.parametrize("shared", [False, True])
async def test_a_long_list_still_being_read_is_not_said_to_be_a_slow_provider(
    shared: bool,
) -> None:
    """A huge account answers page after page past the budget: it is not "slow to
    answer", its list is long; one that sent nothing is still told as slow."""
    long, slow = Long(300, per_page=10), Slow(15)
    snapshots = Snapshots() if shared else None
    providers: list[Provider] = [long] if shared else [long, slow]
    gathered = await gather_invoices(
        providers, InvoiceQuery(), Window(PAGE_SIZE), within=0.2, snapshots=snapshots
    )
    said = {listing.provider.name: listing.error for listing in gathered.listings}
    assert said["long"] == (
        "Long Hosting sent part of its list, but not all of it in 0.2 s; its invoices are "
        "not shown. Try again in a moment."
    )
    if snapshots is None:
        assert said["slow"] == (
            "Slow Hosting is slow to answer right now (nothing in 0.2 s); its invoices are "
            "not shown. Try again in a minute."
        )
    else:  # the shared read goes on, for the next list
        assert len((await snapshots.read(long)).invoices) == 300


async def test_stale_buttons_still_show_a_full_page() -> None:
    """Invoices change between clicks: past the end shows the last page, and too few
    left before a Previous key shows the first page, never an empty or short one."""
    ledger = Ledger(253)
    order = in_people_order(ledger)
    beyond = values.PageRequest(
        "all", Side.AFTER, (2, date.max.toordinal(), "~", "~", "~"), 27
    ).encode()
    last = await show([ledger], beyond)
    assert last.ids == order[250:] and last.label == "Page 26 of 26"
    assert last.button(values.PAGE_NEXT) is None
    screens = await walk_forward([ledger])
    near_start = screens[0].gathered.page.keys[4]
    back = values.PageRequest("all", Side.BEFORE, near_start, 1).encode()
    first = await show([ledger], back)
    assert first.ids == order[:10] and first.label == "Page 1 of 26"
    assert first.button(values.PAGE_PREVIOUS) is None


async def test_nothing_to_show_says_so_without_page_buttons() -> None:
    screen = await show([Ledger(0)])
    assert "Nothing here. :tada:" in screen.text
    searched = await show([Ledger(0)], searched="fleet <!here>")
    assert "No invoice matches “fleet &lt;!here&gt;”." in searched.text
    assert screen.label is None and screen.button(values.PAGE_NEXT) is None
    nobody = await show([])
    assert "No provider is connected yet." in nobody.text
    gathered = await gather_invoices([Ledger(0)], InvoiceQuery(), Window(PAGE_SIZE))
    paid = parse("paid", lambda word: None)
    assert isinstance(paid, ListInvoices)
    none_paid = invoice_list(
        "Paid invoices", gathered, request_text="paid", today=today_utc(), listed=paid
    )
    said = str(none_paid["blocks"])
    assert "None here." in said and ":tada:" not in said  # no paid invoice is no good news


async def test_several_pay_checkboxes_offer_the_invoices_on_the_page() -> None:
    class Together(Ledger):
        name = "together"
        title = "Together"
        capabilities = Ledger.capabilities.model_copy(update={"pay_several": True})

    together = Together(60)
    screens = await walk_forward([together])
    for screen in screens[:2]:
        payable = [i for i in screen.gathered.page.invoices if i.payable]
        groups = [
            [o["value"] for o in e["options"]]
            for block in screen.message["blocks"]
            for e in block.get("elements", [])
            if e.get("action_id") == values.SELECT_INVOICES
        ]
        currency = {i.id: i.currency for i in payable}
        for group in groups:  # one payment is in one currency: one group per currency
            assert len({currency[i] for i in group}) == 1 and len(group) >= 2
        offered = [i.id for i in payable if sum(j.currency == i.currency for j in payable) >= 2]
        assert sorted(i for group in groups for i in group) == sorted(offered) and len(offered) >= 2


async def test_a_long_invoice_number_leaves_its_amount_beside_its_checkbox() -> None:
    """A checkbox's label holds 75 characters: a long number cut the amount off it, and
    people ticked invoices to pay together without seeing what each costs."""

    class Long(Ledger):
        name = "long"
        title = "Long"
        capabilities = Ledger.capabilities.model_copy(update={"pay_several": True})

        async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
            page = await super().list_invoices(query)
            numbered = [i.model_copy(update={"number": "INV-" + "7" * 90}) for i in page.invoices]
            return page.model_copy(update={"invoices": numbered})

    screen = await show([Long(12)])
    labels = [
        (o["value"], o["text"]["text"])
        for block in screen.message["blocks"]
        for e in block.get("elements", [])
        if e.get("action_id") == values.SELECT_INVOICES
        for o in e["options"]
    ]
    amounts = {i.id: i.amount_due.format() for i in screen.gathered.page.invoices}
    assert labels and all(len(text) <= 75 for _, text in labels)
    assert all(text.startswith("INV-777") and text.endswith(f"… · {amounts[value]}")
               for value, text in labels)  # fmt: skip


async def test_unreadable_invoices_are_named_briefly_and_the_way_on_still_shows() -> None:
    """The labels of invoices a provider sent garbled are its data: one very long label
    cut off the sentence saying they are not shown and where to look them up."""

    class Garbled(Ledger):
        name = "garbled"
        title = "Garbled"

        async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
            page = await super().list_invoices(query)
            return page.model_copy(update={"unreadable": ["N&" * 2000, "INV\n-2"]})

    screen = await show([Garbled(3)])
    (line,) = [b["text"]["text"] for b in screen.message["blocks"] if "*Garbled*: 2" in str(b)]
    assert line.startswith(":warning: *Garbled*: 2 invoices (N&amp;N&amp;")
    assert "…, INV -2) could not be read" in line
    assert line.endswith("Look them up at Garbled.")


async def test_an_invoice_number_cannot_turn_its_checkbox_amount_around() -> None:
    """U+202E in a provider's invoice number would show the amount after it reversed
    ("€10.00" as "00.01€"): the label drops it, as mrkdwn text does."""

    class Reversing(Ledger):
        name = "reversing"
        title = "Reversing"
        capabilities = Ledger.capabilities.model_copy(update={"pay_several": True})

        async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
            page = await super().list_invoices(query)
            numbered = [i.model_copy(update={"number": "INV-1\u202e"}) for i in page.invoices]
            return page.model_copy(update={"invoices": numbered})

    screen = await show([Reversing(3)])
    labels = [
        o["text"]["text"]
        for block in screen.message["blocks"]
        for e in block.get("elements", [])
        if e.get("action_id") == values.SELECT_INVOICES
        for o in e["options"]
    ]
    assert labels and all(text.startswith("INV-1 · ") for text in labels), labels


def home_services(ledger: Ledger) -> Any:
    """What App Home reads, for a viewer (no payer) of a team with `ledger` alone and
    nothing paid through invoicebot yet."""
    return SimpleNamespace(
        snapshots=Snapshots(),
        connections=SimpleNamespace(connected=lambda team_id: [ledger]),
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
            may_pay=AsyncMock(return_value=False), may_pay_shown=AsyncMock(return_value=False)
        ),
        today=today_utc,
        zone=lambda: UTC,
    )


async def test_app_home_shows_the_oldest_overdue_and_counts_the_rest() -> None:
    ledger = Ledger(60)
    view = await home_view(home_services(ledger), "T0TEAM", "U0PAYER")
    today = today_utc()
    invoices = {i.id: i for i in ledger.everything()}
    open_ids = in_people_order(ledger, open_only=True)
    overdue = [i for i in open_ids if invoices[i].is_overdue(today)]
    week = [
        i
        for i in open_ids
        if not invoices[i].is_overdue(today) and today <= invoices[i].due <= today + timedelta(7)
    ]
    said = str(view)
    shown = [f"ledger-{n}" for n in re.findall(r"Invoice (\d+) of ledger", said)]
    assert shown == overdue[:HOME_LIST] + week[:HOME_LIST]
    assert len(overdue) > HOME_LIST and len(week) > 0  # enough of both to crowd a page
    assert f"and {len(overdue) - HOME_LIST} more overdue: type `/invoices overdue`" in said
    assert "Only people chosen as payers can pay invoices" in said  # a viewer


async def peak_while_gathering(count: int, window: Window) -> int:
    ledger = Ledger(count, per_page=100)
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    gathered = await gather_invoices([ledger], InvoiceQuery(), window)
    _, peak = tracemalloc.get_traced_memory()
    assert gathered.page.total == count and len(gathered.page.invoices) == PAGE_SIZE
    return peak - before


@pytest.mark.parametrize("hoard", [False, True], ids=["bounded", "hoarding control"])
async def test_memory_does_not_grow_with_the_number_of_invoices(
    hoard: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the invoices, about the same peak; the control keeps every invoice (as
    a list of them would) and must break the same bound, or the test proves nothing."""
    kept: list[Invoice] = []
    add_all = Selection.add_all

    def add_and_keep(self: Selection, invoices: Iterable[Invoice]) -> None:
        kept.extend(invoices)
        add_all(self, invoices)

    if hoard:
        monkeypatch.setattr(Selection, "add_all", add_and_keep)
    middle = Window(PAGE_SIZE, Side.AFTER, (1, today_utc().toordinal(), "N-025", "", ""))
    tracemalloc.start()
    try:
        await peak_while_gathering(500, middle)  # warm every cache first
        small = await peak_while_gathering(2_000, middle)
        large = await peak_while_gathering(20_000, middle)
    finally:
        tracemalloc.stop()
    if hoard:
        assert large > 5 * small, (small, large)
    else:
        assert large < 1.5 * small, (small, large)


def test_the_summary_counts_credit_notes_apart_from_bills() -> None:
    def summary(total: int, credit_notes: int) -> str:
        none = Totals({})
        page = Page([], [], total, 0, none, none, credit_notes=credit_notes)
        return summary_of(page, ["Ledger"], 0).split(" · ")[0]

    assert summary(12, 0) == "12 invoices"
    assert summary(12, 1) == "11 invoices and 1 credit note"
    assert summary(3, 2) == "1 invoice and 2 credit notes"
    assert summary(1, 1) == "1 credit note"
    assert summary(0, 0) == "0 invoices"
    none = Totals({})
    settled = summary_of(Page([], [], 5, 0, none, none), ["Ledger"], 0, ListInvoices(frozenset()))
    assert settled == "5 invoices · none of them open · from Ledger"  # e.g. `/invoices all`
    assert "· nothing open ·" in summary_of(Page([], [], 0, 0, none, none), ["Ledger"], 0)
    credit = Totals({}, credits={"EUR": Money.of("24.20", "EUR")})
    only_credit = summary_of(Page([], [], 1, 0, credit, none, credit_notes=1), ["Ledger"], 0)
    assert only_credit == "1 credit note · To pay nothing (€24.20 in credit notes) · from Ledger"


@pytest.mark.parametrize(
    ("typed", "total", "said"),
    [
        ("paid", 5, "5 invoices · from Ledger"),  # not "none of them open": it never looked
        ("paid", 0, "0 invoices · from Ledger"),  # not "nothing open": it never looked
        ("void draft", 2, "2 invoices · from Ledger"),
        ("overdue", 0, "0 invoices · nothing overdue · from Ledger"),  # others may be open
        ("all", 3, "3 invoices · none of them open · from Ledger"),
        ("", 0, "0 invoices · nothing open · from Ledger"),
    ],
)
def test_the_summary_speaks_only_of_what_was_listed(typed: str, total: int, said: str) -> None:
    listed = parse(typed, lambda word: None)
    assert isinstance(listed, ListInvoices)
    none = Totals({})
    assert summary_of(Page([], [], total, 0, none, none), ["Ledger"], 0, listed) == said
    searched = parse("search rack", lambda word: None)
    assert isinstance(searched, ListInvoices)
    nothing = summary_of(Page([], [], 0, 0, none, none), ["Ledger"], 0, searched)
    assert nothing == "0 invoices · from Ledger"  # "No invoice matches" says the rest


def test_each_credit_is_said_beside_the_amount_it_is_taken_off() -> None:
    euro, dollar = Money.of("7986.00", "EUR"), Money.of("1633.54", "USD")
    both = Totals({"EUR": euro, "USD": dollar}, credits={"EUR": Money.of("24.20", "EUR")})
    assert both.format() == "€7,986.00 (less €24.20 in credit notes) + $1,633.54"
    alone = Totals({"EUR": euro}, credits={"USD": Money.of("5.00", "USD")})
    assert alone.format() == "€7,986.00 (and $5.00 in credit notes)"


def test_an_overdue_count_after_several_currencies_says_which_money_is_late() -> None:
    """ "To pay €484.00 + $1,955.27 (1 overdue)" reads as if the dollars were late."""
    from bot.selection import Totals

    eur, usd = Money.of("484", "EUR"), Money.of("1955.27", "USD")
    late = {"EUR": Money.of("121", "EUR")}
    assert Totals({"EUR": eur, "USD": usd}, 1, 3, late=late).overdue_words() == (
        "1 overdue: €121.00"
    )
    assert Totals({"EUR": eur}, 2, 3, late={"EUR": eur}).overdue_words() == "2 overdue"
    assert Totals({"EUR": eur, "USD": usd}, 0, 3).overdue_words() == ""


def _assorted(count: int, seed: int) -> list[Invoice]:
    """Invoices of every kind a selection treats apart: open, overdue, paid, void, open
    credit notes (signed either way), nothing left to pay, two currencies, two providers
    (one of them owed to the team), no due date, shared due dates and numbers."""
    rng = random.Random(seed)
    today = today_utc()
    made_ = []
    for n in range(count):
        currency = rng.choice(["EUR", "EUR", "USD"])
        status = rng.choice([InvoiceStatus.OPEN] * 4 + [InvoiceStatus.PAID, InvoiceStatus.VOID])
        credit = rng.random() < 0.15
        cents = rng.choice([0, rng.randrange(1, 90_000)]) * (-1 if credit and n % 2 else 1)
        total = Money.from_minor(cents or 500, currency)
        due = None if rng.random() < 0.1 else today + timedelta(days=rng.randrange(-20, 20))
        made_.append(
            Invoice(
                provider=rng.choice(["pay", "collect"]),
                id=f"id-{n}",
                number=f"N-{rng.randrange(30):02d}",
                amount_due=Money.from_minor(cents, currency),
                total_incl_vat=total,
                due=due,
                created=today - timedelta(days=rng.randrange(60)),
                status=status,
                is_credit=credit,
            )
        )
    return made_


def _sums_read_plainly(invoices: list[Invoice], today: date) -> dict[str, Any]:
    by_currency: dict[str, list[Invoice]] = {}
    credits: dict[str, Decimal] = {}
    for invoice in invoices:
        if invoice.payable:
            by_currency.setdefault(invoice.currency, []).append(invoice)
        elif invoice.is_credit and invoice.status is InvoiceStatus.OPEN:
            credits[invoice.currency] = credits.get(invoice.currency, Decimal(0))
            credits[invoice.currency] += invoice.credit_value.amount
    order = sorted(by_currency, key=lambda c: min(sort_key(i, today) for i in by_currency[c]))
    late = {c: [i for i in by_currency[c] if i.is_overdue(today)] for c in order}
    return {
        "amounts": {c: sum(i.amount_due.amount for i in by_currency[c]) for c in order},
        "overdue": sum(len(items) for items in late.values()),
        "count": sum(len(items) for items in by_currency.values()),
        "late": {c: sum(i.amount_due.amount for i in late[c]) for c in order if late[c]},
        "credits": credits,
    }


def _as_read(totals: Totals) -> dict[str, Any]:
    return {
        "amounts": {c: m.amount for c, m in totals.amounts.items()},
        "overdue": totals.overdue,
        "count": totals.count,
        "late": {c: m.amount for c, m in totals.late.items()},
        "credits": {c: m.amount for c, m in totals.credits.items()},
    }


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("side", [Side.AFTER, Side.BEFORE])
def test_one_pass_over_a_page_agrees_with_reading_every_invoice_plainly(
    seed: int, side: Side
) -> None:
    """The selection's single loop (hoisted lookups, a page full after one comparison)
    gives what sorting everything and summing by hand gives, one invoice at a time or all."""
    today = today_utc()
    invoices = _assorted(400, seed)
    ordered = sorted(invoices, key=lambda invoice: sort_key(invoice, today))
    bound = sort_key(ordered[len(ordered) // 3], today)
    window = Window(PAGE_SIZE, side, bound)
    if side is Side.AFTER:
        expected = [i for i in ordered if sort_key(i, today) > bound][:PAGE_SIZE]
        before = sum(sort_key(i, today) <= bound for i in ordered)
    else:
        expected = [i for i in ordered if sort_key(i, today) < bound][-PAGE_SIZE:]
        before = sum(sort_key(i, today) < bound for i in ordered) - PAGE_SIZE
    collecting = frozenset({"collect"})
    one_by_one = Selection(window, today, collecting=collecting)
    for invoice in invoices:
        one_by_one.add(invoice)
    all_at_once = Selection(window, today, collecting=collecting)
    all_at_once.add_all(invoices)
    for selection in (one_by_one, all_at_once):
        page = selection.page()
        assert [i.id for i in page.invoices] == [i.id for i in expected]
        assert page.keys == [sort_key(i, today) for i in expected]
        assert (page.total, page.before) == (len(invoices), before)
        assert page.credit_notes == sum(i.is_credit for i in invoices)
        owed = [i for i in invoices if i.provider == "pay"]
        due_to_us = [i for i in invoices if i.provider == "collect"]
        assert _as_read(page.to_pay) == _sums_read_plainly(owed, today)
        assert _as_read(page.to_collect) == _sums_read_plainly(due_to_us, today)


async def test_an_invoice_settled_here_is_paid_in_the_list_whatever_the_provider_says() -> None:
    """A provider may never mark an invoice its payment page was paid on: what a payment
    through the bot settled for all it asks is listed paid, owes nothing, and leaves an
    open-only list. One it paid less than it asks now still owes the rest."""
    ledger = Ledger(20)
    whole = {i.id: i.amount_due for i in ledger.everything()}
    short = Money(amount=whole["ledger-1"].amount - 1, currency=whole["ledger-1"].currency)
    more = Money(amount=whole["ledger-3"].amount + 1, currency=whole["ledger-3"].currency)
    settled = {
        "ledger": {"ledger-0": whole["ledger-0"], "ledger-1": short, "ledger-2": None},
    }
    settled["ledger"]["ledger-3"] = more  # the provider asks less than was paid: it moved
    window = Window(20)  # all of them on one page
    gathered = await gather_invoices([ledger], InvoiceQuery(), window, settled=settled)
    shown = {i.id: i for i in gathered.page.invoices}
    assert shown["ledger-0"].status is InvoiceStatus.PAID and not shown["ledger-0"].payable
    assert shown["ledger-0"].amount_due.is_zero()
    for key in ("ledger-1", "ledger-2", "ledger-3"):  # short, unknown, or since changed
        assert shown[key].status is InvoiceStatus.OPEN and shown[key].amount_due == whole[key]
    open_ones = [i for i in ledger.everything() if i.payable and i.id != "ledger-0"]
    for currency in ("EUR", "USD"):
        due = [i.amount_due for i in open_ones if i.currency == currency]
        assert gathered.page.to_pay.amounts[currency] == Money.total(due, currency)
    open_only = InvoiceQuery(statuses=frozenset({InvoiceStatus.OPEN}))
    listed = await gather_invoices([ledger], open_only, window, settled=settled)
    assert listed.page.total == len(open_ones)
    assert "ledger-0" not in {i.id for i in listed.page.invoices}


def test_an_overdue_list_does_not_say_again_that_all_of_it_is_overdue() -> None:
    """`/invoices overdue` read "To pay €363.00 + $240.00 (2 overdue: €363.00 +
    $240.00)": every invoice it lists is overdue, so the count and sums say it twice."""
    euro, dollar = Money.of("363.00", "EUR"), Money.of("240.00", "USD")
    late = Totals(
        {"EUR": euro, "USD": dollar}, count=2, overdue=2, late={"EUR": euro, "USD": dollar}
    )
    listed = parse("overdue", lambda word: None)
    assert isinstance(listed, ListInvoices)
    page = Page([], [], 2, 0, late, Totals({}))
    assert summary_of(page, ["Ledger"], 0, listed) == (
        "2 invoices · To pay €363.00 + $240.00 · from Ledger"
    )
    everything = summary_of(page, ["Ledger"], 0)  # an open list still marks the overdue
    assert "(2 overdue: €363.00 + $240.00)" in everything


async def test_a_list_no_provider_answered_counts_nothing() -> None:
    """With every provider down, "0 invoices" and "the providers that answered" say
    more than is known: the list says only that none answered, and why."""
    screen = await show([Flaky(500, per_page=10)])
    summary = screen.message["blocks"][1]["elements"][0]["text"]
    assert summary == "no provider answered", summary
    assert "0 invoices" not in screen.text and "that answered" not in screen.text
    assert ":warning: *Flaky Hosting* is down for maintenance." in screen.text


async def test_a_list_with_invoices_that_could_not_be_read_is_not_said_empty() -> None:
    """An invoice that could not be read may be open, overdue or a match: with nothing
    else listed, "Nothing here" and "nothing open" would say more than is known."""

    class Garbled(Ledger):
        name = "garbled"
        title = "Garbled"

        async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
            page = await super().list_invoices(query)
            return page.model_copy(update={"unreadable": ["INV-7"]})

    screen = await show([Ledger(0), Garbled(0)])
    summary = screen.message["blocks"][1]["elements"][0]["text"]
    assert "nothing open" not in summary and "none of them" not in summary, summary
    said = [b["text"]["text"] for b in screen.message["blocks"] if b["type"] == "section"]
    assert "Nothing here. :tada:" not in said
    assert "Nothing at Ledger; some invoices at Garbled could not be read." in said, said
    searched = await show([Garbled(0)], searched="rack")
    said = [b["text"]["text"] for b in searched.message["blocks"] if b["type"] == "section"]
    assert "No invoice matches “rack”." not in said
    assert "Some invoices at Garbled could not be read." in said, said
