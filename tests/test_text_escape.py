"""Provider text in Slack's mrkdwn: nothing in it may ping, link, hide or reverse."""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

import pytest

from bot.provider import ProviderUnavailable
from bot.slack.blocks.kit import clip, confirm_dialog, md, option, plain
from bot.text import escape, one_line, say
from slack_emulator.mrkdwn import Viewer, mrkdwn


def test_mentions_and_links_become_text() -> None:
    assert escape("<!channel> & <https://x|y>") == "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"


def test_control_and_bidirectional_override_characters_are_dropped() -> None:
    # U+202E before "00.063€" would show it reversed, "€360.00", inside a description.
    assert escape("Hosting \u202e 00.063€ \u202c end") == "Hosting  00.063€  end"
    assert escape("a\x1b[31mred\x07\x00\x85b") == "a[31mredb"
    assert escape("isolate \u2066x\u2069") == "isolate x"
    assert escape("marks \u200e-5\u200f \u061c") == "marks -5 "
    assert escape("two\nlines\tand a tab") == "two\nlines\tand a tab"  # kept
    assert escape("Zoë · 東京 · €5") == "Zoë · 東京 · €5"


def test_a_lone_surrogate_from_a_providers_json_is_dropped() -> None:
    """`json.loads` reads an escaped lone surrogate into the text; no UTF-8 encoder
    takes it, so a list carrying one could not be posted at all."""
    description = json.loads('"Hosting \\ud800 plan \\udfff"')
    assert escape(description) == "Hosting  plan "
    assert plain(description)["text"] == "Hosting  plan "
    assert escape("emoji \U0001f600 stays") == "emoji \U0001f600 stays"


def test_an_option_the_provider_left_unnamed_shows_its_id() -> None:
    """Slack refuses an option with no text, and with it the whole pay menu."""
    assert option("  ", "ideal")["text"]["text"] == "ideal"
    assert option("\u202e \u200f", "ideal")["text"]["text"] == "ideal"  # nothing shown
    assert option("iDEAL", "10")["text"]["text"] == "iDEAL"


def test_plain_text_drops_direction_characters_as_mrkdwn_does() -> None:
    """Headers, buttons, options and dialog titles are plain text, which no escaping
    reaches: the cut every text object passes drops them there too."""
    assert plain("Pay INV-1\u202e00.01 \u2066x\u2069\u200e")["text"] == "Pay INV-100.01 x"
    assert md("*Total:* \u200f-5 €")["text"] == "*Total:* -5 €"
    assert clip("\u202e" * 10 + "INV-1", 6) == "INV-1"  # dropped before it is measured


def test_names_and_numbers_stay_on_one_line() -> None:
    """A provider's line breaks cannot stretch a list or split #billing's record."""
    assert one_line("ACME\n\n\nCorp\t <b>") == "ACME Corp &lt;b&gt;"
    assert one_line("  INV-1  ") == "INV-1"


def test_clipped_mrkdwn_never_ends_inside_an_escaped_character_or_a_mention() -> None:
    """A cut through `&amp;` would show "&am…" as typed; one through `<@U…>` or a date
    token would show the raw markup."""
    assert md("a" * 2996 + "&amp;b")["text"] == "a" * 2996 + "…"
    assert md("a" * 2997 + "&lt;b")["text"] == "a" * 2997 + "…"
    assert md("a" * 2995 + "&gt;" + "b" * 9)["text"] == "a" * 2995 + "&gt;…"
    assert md("a" * 2990 + "<@U0PAYER> paid")["text"] == "a" * 2990 + "…"
    assert md("a" * 2980 + "<!date^1^{date_short}|2026-12-01> b")["text"] == "a" * 2980 + "…"
    assert md("a" * 2980 + "<@U0PAYER> " + "b" * 30)["text"].endswith("<@U0PAYER> " + "b" * 8 + "…")
    assert plain("a" * 70 + " < 5 & 6", 75)["text"] == "a" * 70 + " < 5…"  # shown as typed


def test_a_short_clip_never_ends_inside_an_escaped_character_either() -> None:
    """A limit of a few characters leaves less than an entity's length before the cut."""
    assert clip(" &amp;b", 4, mrkdwn=True) == " …"
    assert clip("&lt;b", 3, mrkdwn=True) == "…"


BOTS_MARKUP = "*Total:* €10.00 with *Visa ending 4242* (_saved_, ~old~ `/invoices pay`) *done*"


@pytest.mark.parametrize("limit", range(1, len(BOTS_MARKUP) + 1))
def test_a_cut_never_leaves_one_of_the_bots_markers_showing(limit: int) -> None:
    """A cut before a closing `*`, `_`, `~` or backtick showed the opening one as typed:
    the span is closed after the "…" (or dropped when nothing of it is left)."""
    cut = clip(BOTS_MARKUP, limit, mrkdwn=True)
    shown = mrkdwn(cut, Viewer())
    assert len(cut) <= limit
    assert not any(marker in shown for marker in "*_~`"), (cut, shown)


def test_a_long_styled_text_is_cut_within_slacks_limits_and_stays_styled() -> None:
    dialog = confirm_dialog(
        "Charge?", f"Charge *€10.00* to *{' '.join(['Visa'] * 80)}* now?", "Charge"
    )
    text = dialog["text"]["text"]
    assert len(text) == 300 and text.endswith("…*")
    assert mrkdwn(text, Viewer()).count("<b>") == 2
    assert md("*_" + "a" * 3000 + "_*")["text"] == "*_" + "a" * 2995 + "…_*"
    assert clip("Paid *INV-1*", 8, mrkdwn=True) == "Paid …"  # nothing left to style


def test_a_providers_own_markers_are_cut_as_they_are() -> None:
    """Provider text keeps `*` as sent (mrkdwn cannot escape it): a marker that styled
    nothing before the cut is not paired up after it."""
    assert clip("2*3 = 6 and 4*5 = 20", 12, mrkdwn=True) == "2*3 = 6 and…"


def test_cutting_a_long_description_costs_about_what_escaping_it_does() -> None:
    """Every list row cuts its description: finding the styled spans a cut may run
    through must not try every character (it cost some twenty escapes of the same text)."""
    text = ("Dedicated server hosting for March, rack 12, bandwidth 3.2 TB, " * 50)[:3000]

    def cost(call: Callable[[], object]) -> float:
        return min(timeit.repeat(call, number=20, repeat=5))

    assert clip(text, 1000, mrkdwn=True).endswith("…")
    assert cost(lambda: clip(text, 1000, mrkdwn=True)) < 10 * cost(lambda: escape(text))


def test_a_providers_message_is_one_sentence_on_one_line() -> None:
    """A provider's error is quoted within a line (the digest's "did not answer (…)", a
    list's warning): its own line breaks showed lines of their own in #billing."""
    error = ProviderUnavailable("i3D.net refused: Oops\n*INV-1 is paid* by <@U1>")
    said = say(error)
    assert "\n" not in said and said.startswith("i3D.net refused: Oops *INV-1 is paid*")
