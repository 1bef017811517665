"""`/invoices` with status words: they add up, `all` wins wherever it is typed, and
`overdue` refuses a status it contradicts instead of quietly ignoring it."""

from __future__ import annotations

import pytest

from bot.models import InvoiceStatus
from bot.slack.subcommands import ListInvoices, NewInvoice, Unknown, parse


@pytest.mark.parametrize(
    ("typed", "statuses"),
    [
        ("all paid", frozenset()),
        ("paid all", frozenset()),
        ("paid void", frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID})),
        ("", frozenset({InvoiceStatus.OPEN})),
        ("i3d", frozenset({InvoiceStatus.OPEN})),
    ],
)
def test_all_takes_every_status_wherever_it_is_typed(
    typed: str, statuses: frozenset[InvoiceStatus]
) -> None:
    request = parse(typed, lambda word: "i3d" if word == "i3d" else None)
    assert isinstance(request, ListInvoices)
    assert request.statuses == statuses


@pytest.mark.parametrize("typed", ["overdue", "overdue all", "open overdue", "i3d overdue all"])
def test_overdue_narrows_to_open_invoices(typed: str) -> None:
    request = parse(typed, lambda word: "i3d" if word == "i3d" else None)
    assert isinstance(request, ListInvoices)
    assert request.overdue_only and request.statuses == {InvoiceStatus.OPEN}
    assert request.title == "Overdue invoices"


@pytest.mark.parametrize(
    ("typed", "word"), [("paid i3d overdue all", "paid"), ("overdue void", "void")]
)
def test_overdue_with_a_settled_status_is_refused(typed: str, word: str) -> None:
    request = parse(typed, lambda word: "i3d" if word == "i3d" else None)
    assert isinstance(request, Unknown)
    assert f"cannot go with `{word}`" in request.problem


def _named(word: str) -> str | None:
    return word if word in ("i3d", "payfirma", "acme") else None


def test_new_alone_goes_to_the_one_provider_that_creates_invoices() -> None:
    assert parse("new", _named, ["i3d", "payfirma"], ["payfirma"]) == NewInvoice("payfirma")


def test_new_offers_only_providers_that_create_invoices() -> None:
    request = parse("new", _named, ["i3d", "payfirma", "acme"], ["payfirma", "acme"])
    assert isinstance(request, Unknown)
    assert "`acme`, `payfirma`" in request.problem and "i3d" not in request.problem
    request = parse("new nope", _named, ["i3d", "payfirma"], ["payfirma"])
    assert isinstance(request, Unknown)
    assert "`payfirma`" in request.problem and "i3d" not in request.problem
    request = parse("new payfirma extra", _named, ["i3d", "payfirma"], ["payfirma"])
    assert isinstance(request, Unknown) and "i3d" not in request.problem


def test_new_says_when_no_provider_creates_invoices() -> None:
    request = parse("new", _named, ["i3d"], [])
    assert request == Unknown("None of the installed providers can create invoices.")


def test_new_with_an_unknown_name_says_when_no_provider_creates_invoices() -> None:
    request = parse("new stripe", _named, ["i3d"], [])
    assert request == Unknown(
        "There is no provider called `stripe`. None of the installed providers can create invoices."
    )
