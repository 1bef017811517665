"""`/invoices search` reads quotes as people type them, not as part of the text."""

from __future__ import annotations

import pytest

from bot.slack.subcommands import ListInvoices, Unknown, parse


def searched(typed: str) -> str | None:
    request = parse(typed, lambda word: None)
    assert isinstance(request, ListInvoices), request
    return request.text


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ('search "fleet"', "fleet"),
        ("search 'fleet'", "fleet"),
        ("search “fleet”", "fleet"),
        ("search ‘fleet’", "fleet"),
        ("search ”fleet”", "fleet"),  # Swedish, or a phone's second guess
        ('search "server fleet"', "server fleet"),
        ("search “Game server fleet”", "Game server fleet"),
        ('search " fleet "', "fleet"),
        ('search "fleet" US-East', "fleet US-East"),
        ("search server fleet", "server fleet"),
        ("search O'Brien", "O'Brien"),
        ("search 'O'Brien'", "O'Brien"),
        ('search "fleet', '"fleet'),  # no partner: as typed
        ("search “fleet'", "“fleet'"),  # not of a kind
        ('search 12" rack', '12" rack'),
        ("search rock 'n' roll", "rock 'n' roll"),  # an elision, not a quoted n
        ("search rock ‘n’ roll", "rock ‘n’ roll"),
        ("search 'rock 'n' roll'", "rock 'n' roll"),
        ('search "n"', "n"),  # double quotes around one letter are still quotes
    ],
)
def test_quotes_around_a_word_or_phrase_are_left_out(typed: str, text: str) -> None:
    assert searched(typed) == text


def test_a_quoted_phrase_is_titled_once_quoted() -> None:
    request = parse("search “server fleet”", lambda word: None)
    assert isinstance(request, ListInvoices)
    assert request.title == "Invoices matching “server fleet”"


@pytest.mark.parametrize("typed", ['search ""', "search “”", "search ' '"])
def test_nothing_but_quotes_asks_what_to_search_for(typed: str) -> None:
    assert parse(typed, lambda word: None) == Unknown(
        "Say what to search for, e.g. `/invoices search server`."
    )


@pytest.mark.parametrize("typed", ["search " + "x" * 500, "i3d all " + "server " * 80])
def test_a_list_longer_than_its_page_buttons_can_carry_is_refused_first(typed: str) -> None:
    """Its Next and Previous buttons would carry the words cut, and answer "tampered"."""
    said = parse(typed, lambda word: "i3d" if word == "i3d" else None)
    assert isinstance(said, Unknown) and "500 characters at most" in said.problem
    assert isinstance(parse("search " + "x" * 490, lambda word: None), ListInvoices)
