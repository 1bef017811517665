"""The page draws text the way Slack does: emoji, dates, links, mentions, styles, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from slack_emulator.mrkdwn import Viewer, annotate, emoji_names, mrkdwn, plain_text, zone

# Wednesday 2 December 2026, 04:45:00 UTC: 05:45 in Amsterdam.
STAMP = int(datetime(2026, 12, 2, 4, 45, tzinfo=UTC).timestamp())
PAYER = Viewer(
    user_id="U0PAYER",
    tz=zone("Europe/Amsterdam"),
    now=STAMP + 120,
    users={"U0PAYER": "Pat Payer", "U0ADMIN": "Alex Admin"},
    channels={"C0BILLING": "billing"},
    groups={"S0PAYERS": "payers"},
)
ROOT = Path(__file__).resolve().parents[2]


def words(markup: str) -> str:
    """What a person reads: the HTML without its tags, entities decoded."""
    text = re.sub(r"<[^>]+>", "", markup)
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    )


def test_emoji_shortcodes_become_emoji_and_unknown_ones_stay() -> None:
    assert mrkdwn(":red_circle: overdue :tada:", PAYER) == "🔴 overdue 🎉"
    assert mrkdwn(":no_such_emoji: at 12:00:00", PAYER) == ":no_such_emoji: at 12:00:00"
    assert mrkdwn(":+1::skin-tone-3:", PAYER) == "👍🏼"


def test_every_shortcode_the_bot_writes_is_known() -> None:
    used = set()
    for folder in ("bot", "plugins"):
        for source in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r":([a-z][a-z0-9_+-]*):", source.read_text(encoding="utf-8")))
    assert used >= {"warning", "white_check_mark", "red_circle"}
    assert sorted(name for name in used if name not in emoji_names()) == []


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{date_num}", "2026-12-02"),
        ("{date}", "December 2nd, 2026"),
        ("{date_short}", "Dec 2, 2026"),
        ("{date_long}", "Wednesday, December 2nd, 2026"),
        ("{date_pretty}", "Today"),
        ("{date_short_pretty} at {time}", "Today at 5:45 AM"),
        ("due {date_long_pretty}", "due today"),
        ("{time_secs}", "5:45:00 AM"),
        ("{ago}", "2 minutes ago"),
        ("{date_slash}", "02/12/2026"),
        ("{date_long_full}", "December 2, 2026"),
        ("{unknown} {date_num}", "{unknown} 2026-12-02"),
    ],
)
def test_date_tokens_show_in_the_viewers_zone(template: str, expected: str) -> None:
    shown = mrkdwn(f"<!date^{STAMP}^{template}|2026-12-02 04:45 UTC>", PAYER)
    assert shown == expected
    assert "mention" not in shown


def test_pretty_dates_say_yesterday_and_tomorrow_and_otherwise_the_date() -> None:
    day = 86_400
    token = "<!date^{}^{{date_short_pretty}}|x>"
    assert mrkdwn(token.format(STAMP - day), PAYER) == "Yesterday"
    assert mrkdwn(token.format(STAMP + day), PAYER) == "Tomorrow"
    assert mrkdwn(token.format(STAMP - 3 * day), PAYER) == "Nov 29, 2026"
    assert mrkdwn(f"<!date^{STAMP - 3 * day}^{{ago}}|x>", PAYER) == "3 days ago"
    assert mrkdwn(f"<!date^{STAMP + 2 * 3600 + 200}^{{ago}}|x>", PAYER) == "in 2 hours"


def test_a_date_is_in_utc_for_a_viewer_without_a_zone() -> None:
    utc = Viewer(now=STAMP)
    assert mrkdwn(f"<!date^{STAMP}^{{time}} on {{date_num}}|x>", utc) == "4:45 AM on 2026-12-02"
    assert zone("Not/AZone") == zone(None)


def test_an_unreadable_date_shows_its_fallback() -> None:
    assert mrkdwn("<!date^soon^{date}|some day &lt;soon&gt;>", PAYER) == "some day &lt;soon&gt;"
    assert mrkdwn(f"<!date^{STAMP}|only fallback>", PAYER) == "only fallback"


def test_a_date_with_a_link_is_a_link() -> None:
    shown = mrkdwn(f"<!date^{STAMP}^{{date_num}}^https://example.test/a?b=1&amp;c=2|x>", PAYER)
    assert shown.startswith('<a href="https://example.test/a?b=1&amp;c=2"')
    assert words(shown) == "2026-12-02"


def test_links_labelled_bare_and_not_clickable_schemes() -> None:
    labelled = mrkdwn("Open <https://pay.test/t/1?a=1&amp;b=2|the pay page> now", PAYER)
    assert '<a href="https://pay.test/t/1?a=1&amp;b=2"' in labelled
    assert words(labelled) == "Open the pay page now"
    bare = mrkdwn("See https://pay.test/x, then <https://pay.test/y>.", PAYER)
    assert bare.count("<a href=") == 2 and 'href="https://pay.test/x"' in bare
    assert words(bare) == "See https://pay.test/x, then https://pay.test/y."
    assert "<a" not in mrkdwn("https://pay.test/x", PAYER, verbatim=True)
    assert mrkdwn("<mailto:ap@acme.test|AP>", PAYER).startswith('<a href="mailto:ap@acme.test"')
    assert mrkdwn("<javascript:alert(1)|click>", PAYER) == "click"
    mail = mrkdwn("Jordan (jordan@maple.example).", PAYER)
    assert 'href="mailto:jordan@maple.example"' in mail
    assert words(mail) == "Jordan (jordan@maple.example)."


def test_mentions_are_styled_and_named() -> None:
    shown = mrkdwn(
        "<@U0ADMIN> <@U0PAYER> <#C0BILLING> <#C9|other> <!here> <!subteam^S0PAYERS>", PAYER
    )
    assert words(shown) == "@Alex Admin @Pat Payer #billing #other @here @payers"
    assert '<span class="mention user">@Alex Admin</span>' in shown
    assert '<span class="mention me">@Pat Payer</span>' in shown
    assert '<span class="mention broadcast">@here</span>' in shown
    assert '<span class="mention channel">#billing</span>' in shown


def test_bold_italic_strike_code_pre_and_quotes() -> None:
    assert mrkdwn("*paid* _late_ ~void~", PAYER) == "<b>paid</b> <i>late</i> <s>void</s>"
    assert mrkdwn("snake_case_name 2*3*4 * not *", PAYER) == "snake_case_name 2*3*4 * not *"
    assert mrkdwn("`*id* :tada:`", PAYER) == "<code>*id* :tada:</code>"
    assert mrkdwn("```\nline *1*\nline 2```", PAYER) == "<pre>line *1*\nline 2</pre>"
    assert mrkdwn("&gt; said *this*\n&gt; too\nreply", PAYER) == (
        "<blockquote>said <b>this</b><br>too</blockquote>reply"
    )
    assert mrkdwn("one\ntwo", PAYER) == "one<br>two"


def test_slacks_entities_show_as_characters_and_stay_escaped() -> None:
    assert mrkdwn("AT&amp;T &lt;3 &gt; 2", PAYER) == "AT&amp;T &lt;3 &gt; 2"
    assert words(mrkdwn("AT&amp;T &lt;3 &quot;", PAYER)) == "AT&T <3 &quot;"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "<img src=x onerror=alert(1)>",
        '<https://a.test/"onmouseover="alert(1)|x>',
        "<https://a.test|<b onclick=alert(1)>>",
        "`&lt;img src=x onerror=alert(1)&gt;`",
        "```<img src=x onerror=alert(1)>```",
        "*&lt;svg onload=alert(1)&gt;*",
        "<!date^1^{date}^javascript:alert(1)|x>",
        "<@U1|&lt;img src=x onerror=alert(1)&gt;>",
        "\ue0000\ue001 <https://a.test|x>",
    ],
)
def test_provider_text_cannot_add_markup(hostile: str) -> None:
    shown = mrkdwn(hostile, PAYER)
    tags = re.findall(r"<(/?[a-z]+)", shown)
    assert set(tags) <= {"a", "/a", "b", "/b", "code", "/code", "pre", "/pre", "span", "/span"}
    assert not re.search(r"<[^>]*\son\w+=", shown)
    assert "javascript:" not in re.findall(r'href="([^"]*)"', shown)
    assert "<script" not in shown and "<img" not in shown


def test_plain_text_shows_emoji_unless_told_not_to() -> None:
    assert plain_text("Paid :white_check_mark:") == "Paid ✅"
    assert plain_text("Paid :white_check_mark:", emoji=False) == "Paid :white_check_mark:"


def test_annotate_gives_every_text_object_its_html_and_leaves_the_original() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":warning: *late*"}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "https://x.test", "verbatim": True}],
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Pay :moneybag:", "emoji": True},
            },
        },
        {"type": "context", "elements": [{"type": "plain_text", "text": "<b>", "emoji": False}]},
    ]
    shown = annotate(blocks, PAYER)
    assert shown[0]["text"]["html"] == "⚠️ <b>late</b>"
    assert shown[1]["fields"][0]["html"] == "https://x.test"
    assert shown[1]["accessory"]["text"] == {
        "type": "plain_text",
        "text": "Pay :moneybag:",
        "emoji": True,
        "html": "Pay 💰",
        "shown": "Pay 💰",
    }
    assert shown[2]["elements"][0]["html"] == "&lt;b&gt;"
    assert "html" not in blocks[0]["text"]
