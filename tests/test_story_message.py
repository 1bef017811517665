"""`/invoices history`'s message stays one Slack takes, however long an invoice's story
and its lines: a refused message would show nothing at all."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.records import story_message
from slack_emulator.blockkit import validate_message


def texts(message: dict[str, Any]) -> list[str]:
    return [str(block["text"]["text"]) for block in message["blocks"] if block["type"] == "section"]


def note(message: dict[str, Any]) -> str:
    last = message["blocks"][-1]
    return str(last["elements"][0]["text"]) if last["type"] == "context" else ""


def test_a_first_line_too_long_for_a_section_is_cut_not_left_empty() -> None:
    message = story_message("INV-1", ["x" * 2950, "Settled"])
    assert validate_message(message) == []
    first, *_ = texts(message)
    assert first.endswith("…") and len(first) <= 3000
    assert "Settled" in texts(message)[-1]
    assert all(text.strip() for text in texts(message))


@pytest.mark.parametrize("length", [1000, 2000, 2950, 5000])
def test_many_long_lines_keep_to_fifty_blocks_and_say_how_many_are_left_out(
    length: int,
) -> None:
    lines = [f"event {i} " + "y" * length for i in range(80)]
    message = story_message("INV-1", lines)
    assert validate_message(message) == []
    shown = "\n".join(texts(message))
    assert "event 79 " in shown, "the latest events are the ones shown"
    left_out = int(note(message).split()[1])
    assert note(message) == f"The {left_out} earliest events are in `/invoices export`."
    assert f"event {left_out} " in shown and f"event {left_out - 1} " not in shown
    assert sum(text.count("event ") for text in texts(message)) == 80 - left_out


def test_short_lines_are_still_the_latest_sixty() -> None:
    message = story_message("INV-1", [f"event {i}" for i in range(100)])
    assert validate_message(message) == []
    assert len(texts(message)) == 1 and texts(message)[0].startswith("event 40\n")
    assert note(message) == "The 40 earliest events are in `/invoices export`."


def test_a_number_with_no_story_is_notified_as_what_the_message_says() -> None:
    """The notification (the message's `text`) is all a phone shows: "0 events" of an
    invoice no provider has would read as an invoice that exists."""
    absent = "No invoice numbered “NOPE-1” at i3D.net, and invoicebot has no record of it."
    message = story_message("NOPE-1", [], absent)
    assert message["text"] == f"The story of invoice NOPE-1: {absent}"
    untouched = story_message("INV-1", [])
    assert "0 events" not in untouched["text"]
    assert "has no record of invoice INV-1" in untouched["text"]
