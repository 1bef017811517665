"""`/invoices pay NUMBER` and `/invoices history NUMBER` as people type numbers: in any case."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bot.history import printing, story
from bot.models import InvoiceAmount, Money, Payment
from bot.payments import Payments
from bot.plugins import make_plugin_manager
from bot.provider import InvoiceNotFound, SeveralInvoices
from bot.runs import CUSTOMER, Runs
from bot.slack import finding
from bot.slack.commands import _pay_invoice
from bot.slack.finding import Lookup, look_up
from bot.slack.records import _whereabouts
from bot.snapshots import Snapshot
from bot.store import Store


class Lookups:
    """A provider that finds nothing by number, whose list holds `numbers`."""

    name, title = "acme", "Acme"

    def __init__(self, *numbers: str) -> None:
        self.numbers = numbers
        self.asked: list[str] = []

    async def get_invoice(self, number: str) -> Any:
        self.asked.append(number)
        raise InvoiceNotFound("no such invoice")


def services(provider: Lookups) -> Any:
    async def read(_: Lookups) -> Snapshot:
        invoices = tuple(SimpleNamespace(number=n) for n in provider.numbers)
        return Snapshot(invoices, (), 0.0)  # type: ignore[arg-type]

    return SimpleNamespace(
        connections=SimpleNamespace(connected=lambda _: [provider]),
        snapshots=SimpleNamespace(
            read=read, ready=lambda _: False, just_read=lambda _: None
        ),  # no list at hand
    )


async def test_a_number_in_another_case_is_tried_once_and_the_typed_one_is_said() -> None:
    """Even when the list holds the number in two cases and neither can be looked up."""
    provider = Lookups("INV-7", "inv-7")
    said = str(await _pay_invoice(services(provider), "T0TEAM", "U0PAYER", "Inv-7"))
    assert provider.asked == ["Inv-7"], "two printed forms: none is guessed"
    provider = Lookups("INV-7")
    said = str(await _pay_invoice(services(provider), "T0TEAM", "U0PAYER", "inv-7"))
    assert provider.asked == ["inv-7", "INV-7"]
    assert "No invoice numbered “inv-7” at Acme." in said


def test_history_finds_what_was_recorded_under_the_number_as_typed(database: str) -> None:
    store = Store(database)
    try:
        store.audit("payment.menu", team_id="T0TEAM", user_id="U0PAYER", subject="inv-24-0087")
        store.audit("payment.menu", team_id="T0OTHER", user_id="U0PAYER", subject="INV-24-0087")
        told = [event.text for event in story(store, "T0TEAM", "INV-24-0087", {})]
        assert len(told) == 1 and "U0PAYER" in told[0]
        # an invoice nobody paid: its reminders are found in whatever case it is typed
        runs = Runs(store)
        for team in ("T0TEAM", "T0OTHER"):
            runs.claim_reminder(CUSTOMER, team, "payfirma", "7", "INV-7", "2026-12-01")
        told = [event.text for event in story(store, "T0TEAM", "inv-7", {})]
        assert len(told) == 1 and "Customer reminded" in told[0]
    finally:
        store.close()


class Hangs(Lookups):
    async def get_invoice(self, number: str) -> Any:
        await asyncio.sleep(60)


async def test_a_search_that_runs_out_of_time_says_so_not_that_the_provider_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lookup that reads a huge account's whole list may take longer than the budget
    while the provider answers every page: "not answering" would be untrue."""
    monkeypatch.setattr(finding, "LOOKUP_SECONDS", 0.05)
    said = str(await _pay_invoice(services(Hangs()), "T0TEAM", "U0PAYER", "INV-7"))
    assert "Could not look for “INV-7” at Acme in time: the search took too long." in said
    assert "not answering" not in said
    assert "Try again in a moment, or find it with `/invoices search INV-7`." in said
    told = _whereabouts([Hangs()], Lookup(silent=["Acme"], slow=["Acme"]), "INV-7")  # type: ignore[list-item]
    assert "could not be checked in time: the search took too long" in told
    assert "not answering" not in told


def test_history_without_providers_does_not_say_check_the_number() -> None:
    said = _whereabouts([], Lookup(), "INV-7")
    assert "no provider is connected" in said and "check the number" not in said


def test_the_payments_that_took_a_credit_note_off_are_found_in_any_case(database: str) -> None:
    store = Store(database)
    try:
        payments = Payments(store, make_plugin_manager(entry_point_plugins=False))
        euro = Money.of("96.80", "EUR")
        took, _ = payments.record(
            Payment(
                team_id="T0TEAM", provider="i3d", invoice_ids=("1",), invoice_numbers=("INV-1",),
                amount=euro, method_id="10", method_name="iDEAL", user_id="U0PAYER",
                credits=(InvoiceAmount(number="CRN-3", amount=Money.of("24.20", "EUR")),),
            )
        )  # fmt: skip
        payments.record(took.model_copy(update={"id": "", "credits": ()}))
        assert [p.id for p in store.payments_crediting("T0TEAM", "crn-3")] == [took.id]
        assert store.payments_crediting("T0OTHER", "CRN-3") == []
    finally:
        store.close()


def test_two_providers_printing_the_same_number_are_told_apart_in_its_history(
    database: str,
) -> None:
    store = Store(database)
    try:
        payments = Payments(store, make_plugin_manager(entry_point_plugins=False))
        for provider, method in (("i3d", "iDEAL"), ("pingproxies", "Visa")):
            payments.record(
                Payment(
                    team_id="T0TEAM", provider=provider, invoice_ids=(provider,),
                    invoice_numbers=("2026-001",), amount=Money.of("10.00", "EUR"),
                    method_id="m", method_name=method, user_id="U0PAYER",
                )
            )  # fmt: skip
        titles = {"i3d": "i3D.net", "pingproxies": "PingProxies"}
        told = [event.text for event in story(store, "T0TEAM", "2026-001", titles)]
        assert sorted(text.split(":")[0] for text in told) == ["PingProxies", "i3D.net"], told
        only = [e.text for e in story(store, "T0TEAM", "2026-001", titles) if "Visa" in e.text]
        assert only[0].startswith("PingProxies: Payment started by <@U0PAYER>")
        assert only[0].endswith("(now being started)"), "where it stands, in words"
        store.db.execute("DELETE FROM payments WHERE provider = 'pingproxies'")
        alone = [event.text for event in story(store, "T0TEAM", "2026-001", titles)]
        assert alone[0].startswith("Payment started"), "one provider: no label"
    finally:
        store.close()


class Holds:
    """A provider that has one invoice, found by its number or by `alias` (its id)."""

    def __init__(self, title: str, number: str, alias: str) -> None:
        self.name, self.title, self.number, self.alias = title.lower(), title, number, alias

    async def get_invoice(self, number: str) -> Any:
        if number in (self.number, self.alias):
            return SimpleNamespace(number=self.number)
        raise InvoiceNotFound("no such invoice")


async def test_a_provider_that_prints_the_number_beats_one_that_took_it_for_an_id() -> None:
    by_id, printed = Holds("First", "F-1", "7"), Holds("Second", "7", "S-9")
    lookup = await look_up([by_id, printed], "7")  # type: ignore[list-item]
    assert lookup.found is not None and lookup.found[0] is printed
    lookup = await look_up([by_id], "7")  # type: ignore[list-item]
    assert lookup.found is not None and lookup.found[1].number == "F-1"


async def test_a_long_number_is_cut_so_the_answer_still_says_why() -> None:
    """A provider's number of thousands of characters, over several lines, must not push
    "cannot be paid: it is paid" past what Slack shows of a section."""
    from bot.models import Invoice, InvoiceStatus

    number = "INV-" + "9" * 2000 + "\nsecond line" + "9" * 2000
    paid = Invoice(
        provider="acme",
        id="1",
        number=number,
        amount_due=Money.of("0", "EUR"),
        total_incl_vat=Money.of("10", "EUR"),
        status=InvoiceStatus.PAID,
    )

    class Paid(Lookups):
        async def get_invoice(self, key: str) -> Any:
            return paid

    svc = services(Paid())
    svc.checkout = SimpleNamespace(paid_already=lambda *a: None, charge_in_doubt=lambda *a: None)
    answer = await _pay_invoice(svc, "T0TEAM", "U0PAYER", number)
    text = answer["blocks"][0]["text"]["text"]
    assert text.endswith("cannot be paid: it is paid.") and len(text) < 200, text
    assert "\n" not in text


class Twins(Lookups):
    """A provider with two invoices printed with one number."""

    async def get_invoice(self, number: str) -> Any:
        raise SeveralInvoices("Acme has 2 invoices numbered it.", ["a<1>", "b2"])


async def test_two_invoices_by_one_number_are_named_and_neither_is_paid() -> None:
    """Paying the wrong one costs money: each is named by an id that finds it alone."""
    twins, elsewhere = Twins(), Holds("Other", "INV-7", "x")  # printed elsewhere: no way out
    svc = services(twins)
    svc.connections = SimpleNamespace(connected=lambda _: [twins, elsewhere])
    said = str(await _pay_invoice(svc, "T0TEAM", "U0PAYER", "INV-7"))
    assert "Acme has 2 invoices that go by “INV-7” (ids `a&lt;1&gt;`, `b2`)" in said
    assert "none was picked" in said and "`/invoices search INV-7`" in said
    assert "type its id after `/invoices pay`" in said
    lookup = await look_up([twins, elsewhere], "INV-7")  # type: ignore[list-item]
    assert lookup.found is None
    told = _whereabouts([], lookup, "INV-7")
    assert "none was picked" in told and "after `/invoices history`" in told
    assert "Pay button" not in told  # a search's buttons pay; they tell no story


class WithId(Holds):
    """As `Holds`, its invoice's id being `alias`."""

    async def get_invoice(self, number: str) -> Any:
        if number in (self.number, self.alias):
            return SimpleNamespace(number=self.number, id=self.alias)
        raise InvoiceNotFound("no such invoice")


async def test_two_providers_printing_the_typed_number_are_both_named_and_neither_paid() -> None:
    """The first provider printing it was paid: a guess, when another prints it too."""
    first, second = WithId("First", "2026-001", "f1"), WithId("Second", "2026-001", "s1")
    svc = services(Lookups())
    svc.connections = SimpleNamespace(connected=lambda _: [first, second])
    said = str(await _pay_invoice(svc, "T0TEAM", "U0PAYER", "2026-001"))
    assert "First has an invoice that goes by “2026-001” (id `f1`)" in said
    assert "Second has an invoice that goes by “2026-001” (id `s1`)" in said
    assert "none was picked" in said
    alone = await look_up([first], "2026-001")  # type: ignore[list-item]
    assert alone.found is not None and not alone.several
    by_id = await look_up([first, second], "s1")  # type: ignore[list-item]
    assert by_id.found is not None and by_id.found[0] is second and not by_id.several


def test_a_menu_at_another_provider_under_the_same_number_is_told_as_its_own(
    database: str,
) -> None:
    """A pay menu opened for PingProxies' 2026-001 is not told as a request to pay
    i3D.net's 2026-001, though only the latter was ever paid."""
    store = Store(database)
    try:
        payments = Payments(store, make_plugin_manager(entry_point_plugins=False))
        payments.record(
            Payment(
                team_id="T0TEAM", provider="i3d", invoice_ids=("7",),
                invoice_numbers=("2026-001",), amount=Money.of("10.00", "EUR"),
                method_id="m", method_name="iDEAL", user_id="U0PAYER",
            )
        )  # fmt: skip
        store.audit(
            "payment.menu", team_id="T0TEAM", user_id="U0OTHER", subject="pingproxies|9||",
            invoices=["2026-001"],
        )  # fmt: skip
        titles = {"i3d": "i3D.net", "pingproxies": "PingProxies"}
        told = [event.text for event in story(store, "T0TEAM", "2026-001", titles)]
        asked = [text for text in told if "asked for the ways" in text]
        assert asked == ["PingProxies: <@U0OTHER> asked for the ways to pay it"], told
        assert all(text.startswith("i3D.net: ") for text in told if "Payment started" in text)
        assert printing(store, "T0TEAM", "2026-001") == ["i3d", "pingproxies"], "for the note"
    finally:
        store.close()


def test_a_menu_of_an_invoice_paid_together_with_this_one_is_not_this_ones(
    database: str,
) -> None:
    store = Store(database)
    try:
        payments = Payments(store, make_plugin_manager(entry_point_plugins=False))
        payments.record(
            Payment(
                team_id="T0TEAM", provider="i3d", invoice_ids=("7", "8"),
                invoice_numbers=("INV-7", "INV-8"), amount=Money.of("10.00", "EUR"),
                method_id="m", method_name="iDEAL", user_id="U0PAYER",
            )
        )  # fmt: skip
        # Rows as the bot wrote them before menus named their numbers, so found by id.
        store.audit("payment.menu", team_id="T0TEAM", user_id="U0EIGHT", subject="i3d|8||")
        store.audit("payment.menu", team_id="T0TEAM", user_id="U0SEVEN", subject="i3d|7||")
        told = [event.text for event in story(store, "T0TEAM", "INV-7", {})]
        asked = [text for text in told if "asked for the ways" in text]
        assert asked == ["<@U0SEVEN> asked for the ways to pay it"], told
    finally:
        store.close()


class Huge:
    """A provider whose lookup by number reads its whole list, as i3D.net's does, and
    whose list, a page at a time, takes longer to read than a lookup may wait."""

    name, title = "acme", "Acme"

    def __init__(self, *numbers: str) -> None:
        from bot.models import Invoice, InvoiceStatus

        self.invoices = [
            Invoice(
                provider="acme", id=str(index), number=number, status=InvoiceStatus.OPEN,
                amount_due=Money.of("10", "EUR"), total_incl_vat=Money.of("10", "EUR"),
            )
            for index, number in enumerate(numbers)
        ]  # fmt: skip
        self.asked: list[str] = []
        self.held: asyncio.Event | None = None
        """When set up, pages past the third wait for it: a read that cannot end early."""

    async def list_invoices(self, query: Any) -> Any:
        from bot.models import InvoicePage

        at = int(query.cursor or 0)
        await asyncio.sleep(0.03)
        if self.held is not None and at >= 3:
            await self.held.wait()
        following = str(at + 1) if at + 1 < len(self.invoices) else None
        return InvoicePage(invoices=self.invoices[at : at + 1], next_cursor=following)

    async def get_invoice(self, number: str) -> Any:
        self.asked.append(number)
        found, cursor = [], None
        while True:
            page = await self.list_invoices(SimpleNamespace(cursor=cursor))
            found += [i for i in page.invoices if number in (i.id, i.number)]
            if (cursor := page.next_cursor) is None:
                break
        if len(found) > 1:
            raise SeveralInvoices("Acme has several.", [i.id for i in found])
        if not found:
            raise InvoiceNotFound("no such invoice")
        return found[0]


@pytest.mark.parametrize("twice", [False, True])
async def test_a_lookup_cut_short_leaves_the_list_read_on_for_the_next_try(
    monkeypatch: pytest.MonkeyPatch, twice: bool
) -> None:
    """A huge account's lookup ran out of time and started from scratch on each try, so
    it might never finish: its list is now read on and shared, and the next try finds
    the invoice in it, or the two that go by its number."""
    from bot.slack.finding import find
    from bot.snapshots import Snapshots

    monkeypatch.setattr(finding, "LOOKUP_SECONDS", 0.2)
    numbers = [f"INV-{n}" for n in range(10)]
    huge = Huge(*numbers, *(["INV-7"] if twice else []))
    huge.held = asyncio.Event()  # the list takes longer to read than a lookup may wait
    svc = SimpleNamespace(snapshots=Snapshots())
    first = await find(svc, [huge], "INV-7")  # type: ignore[arg-type,list-item]
    assert first.slow == ["Acme"] and first.found is None
    await asyncio.sleep(0.05)
    assert svc.snapshots.ready(huge) and svc.snapshots.just_read(huge) is None, "read on"
    # The number typed again while the list is read on: however slow the machine, the
    # try waits for that read, and nothing but it may answer (the provider is asked once).
    monkeypatch.setattr(finding, "LOOKUP_SECONDS", 30.0)
    trying = asyncio.ensure_future(find(svc, [huge], "INV-7"))  # type: ignore[arg-type,list-item]
    await asyncio.sleep(0.05)
    assert not trying.done()
    huge.held.set()
    second = await trying
    assert huge.asked == ["INV-7"], "the second try reads the shared list, not its own"
    assert not second.silent
    if twice:
        assert second.found is None
        assert [(p, list(e.ids)) for p, e in second.several] == [(huge, ["7", "10"])]
    else:
        assert second.found is not None and second.found[1].id == "7" and not second.several
    third = await find(svc, [huge], "INV-7")  # type: ignore[arg-type,list-item]
    assert third.found == second.found, "kept"
    assert [e.ids for _, e in third.several] == [e.ids for _, e in second.several]
    assert huge.asked == ["INV-7"]


async def test_a_list_read_on_for_longer_than_lists_keep_one_still_answers_the_next_try(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list read on after a lookup ran out of time took longer than a list is kept
    fresh from its start (a huge account): the try made just after it ended found it
    stale at once, asked the provider from scratch again, and ran out of time again,
    however often it was typed. A read that ended moments ago answers it."""
    from bot.slack.finding import find
    from bot.snapshots import Snapshots

    monkeypatch.setattr(finding, "LOOKUP_SECONDS", 0.2)
    huge = Huge(*[f"INV-{n}" for n in range(15)])  # 0.45 s to read
    svc = SimpleNamespace(snapshots=Snapshots(fresh=0.3))
    first = await find(svc, [huge], "INV-7")  # type: ignore[arg-type,list-item]
    assert first.slow == ["Acme"]
    await asyncio.sleep(0.5)  # the list read on has just been read, and it is typed again
    second = await find(svc, [huge], "INV-7")  # type: ignore[arg-type,list-item]
    assert huge.asked == ["INV-7"], "the list just read answers, not the provider again"
    assert second.found is not None and second.found[1].id == "7"


class Other(Lookups):
    name, title = "other", "Other"


async def test_one_provider_that_lacks_the_number_is_said_to_not_have_it_in_the_singular(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With one provider silent and one that answered, "Other do not have it" is bad
    grammar in front of a finance team."""
    monkeypatch.setattr(finding, "LOOKUP_SECONDS", 0.05)
    svc = services(Hangs())
    svc.connections = SimpleNamespace(connected=lambda _: [Hangs(), Other()])
    said = str(await _pay_invoice(svc, "T0TEAM", "U0PAYER", "INV-7"))
    assert " Other does not have it; try again in a moment" in said, said
    told = _whereabouts([Hangs(), Other()], Lookup(silent=["Acme", "Other"]), "INV-7")  # type: ignore[list-item]
    assert "Whether Acme and Other have it could not be checked" in told, told
