"""Slack's text formatting drawn as HTML for the emulator page, the way a person sees it.

mrkdwn: `*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ```pre``` ````, `>` quotes,
`:emoji:` shortcodes, `<url|label>` links, bare URLs and e-mail addresses, `<@U…>`, `<#C…>`,
`<!here>`, `<!subteam^…>` mentions and `<!date^…>` tokens in the viewer's zone. Senders
escape `& < >` as entities; everything that reaches the output is HTML-escaped again, so no text
from the bot (or a provider behind it) can add markup or script to the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import emoji

LINK_SCHEMES = ("http://", "https://", "mailto:")
_CONTROL = re.compile(r"<([^<>\n]*)>")
_CODE = re.compile(r"`([^`\n]+)`")
_PRE = re.compile(r"```(.*?)```", re.DOTALL)
_EMOJI = re.compile(r":([a-z0-9_+'-]+):")
_BARE_URL = re.compile(r"\bhttps?://[^\s<>\ue000\ue001]+")
_URL_TAIL = ".,;:!?'\")]"
_BARE_EMAIL = re.compile(r"(?<![\w.+\-\ue000])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Markers open after a non-word character and close before one, hugging their text.
_STYLES = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
]
_HOLE = re.compile("\ue000(\\d+)\ue001")
_QUOTE = re.compile(r"^(?:&gt;|>) ?")
_MONTHS = "January February March April May June July August September October November December"
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
MONTHS, DAYS = _MONTHS.split(), _DAYS.split()


@cache
def emoji_names() -> dict[str, str]:
    """Emoji short names (`white_check_mark`) to the character they stand for, from the
    `emoji` package's CLDR names and their GitHub-style aliases, which Slack's follow."""
    names: dict[str, str] = {}
    for character, data in emoji.EMOJI_DATA.items():
        for name in (data["en"], *data.get("alias", ())):
            names.setdefault(name.strip(":").lower(), character)
    for tone, modifier in enumerate("\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff", 2):
        names[f"skin-tone-{tone}"] = modifier  # Slack's names for the five modifiers
    return names


def emojize(text: str) -> str:
    """`:tada:` becomes 🎉; names Slack does not know stay as they were typed."""
    names = emoji_names()
    return _EMOJI.sub(lambda m: names.get(m.group(1), m.group(0)), text)


def zone(name: str | None) -> tzinfo:
    """The viewer's time zone; UTC when they have none or it is unknown here."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass
class Viewer:
    """Who is reading, and what they can resolve: their zone, the clock, names of things."""

    user_id: str = ""
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    now: float = 0.0
    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)


def mrkdwn(text: str, viewer: Viewer, *, verbatim: bool = False) -> str:
    """HTML for mrkdwn `text`; `verbatim` (as on a text object) leaves bare URLs unlinked."""
    holes: list[str] = []
    text = str(text).replace("\ue000", "\ufffd").replace("\ue001", "\ufffd")

    def hole(markup: str) -> str:
        holes.append(markup)
        return f"\ue000{len(holes) - 1}\ue001"

    def pre(match: re.Match[str]) -> str:
        body = match.group(1).removeprefix("\n")
        return hole(f"<pre>{_literal(body, viewer)}</pre>")

    text = _PRE.sub(pre, text)
    # A quote is a block of its own, so no line break is needed on either side of it.
    html_text = "".join(
        _quoted(run, viewer, verbatim, hole) for run in _paragraphs(text.split("\n"))
    )
    while _HOLE.search(html_text):
        html_text = _HOLE.sub(lambda m: holes[int(m.group(1))], html_text)
    return html_text


def plain_text(text: str, *, emoji: bool = True) -> str:
    """What a plain_text object shows (no markup); emoji shortcodes unless `emoji` is false."""
    return emojize(str(text)) if emoji else str(text)


def plain_html(text: str, *, emoji: bool = True) -> str:
    return html.escape(plain_text(text, emoji=emoji)).replace("\n", "<br>")


def _paragraphs(lines: list[str]) -> list[tuple[bool, list[str]]]:
    """Runs of lines, each marked quoted (`>` / `&gt;` first) or not; `>>>` quotes the rest."""
    runs: list[tuple[bool, list[str]]] = []
    rest_quoted = False
    for line in lines:
        if not rest_quoted and re.match(r"^(?:&gt;|>){3}", line):
            rest_quoted, line = True, re.sub(r"^(?:&gt;|>){3} ?", "", line)
        quoted = rest_quoted or bool(_QUOTE.match(line))
        if quoted and not rest_quoted:
            line = _QUOTE.sub("", line, count=1)
        if runs and runs[-1][0] == quoted:
            runs[-1][1].append(line)
        else:
            runs.append((quoted, [line]))
    return runs


def _quoted(
    run: tuple[bool, list[str]], viewer: Viewer, verbatim: bool, hole: Callable[[str], str]
) -> str:
    quoted, lines = run
    shown = "<br>".join(_inline(line, viewer, verbatim, hole) for line in lines)
    return f"<blockquote>{shown}</blockquote>" if quoted else shown


def _inline(text: str, viewer: Viewer, verbatim: bool, hole: Callable[[str], str]) -> str:
    text = _CODE.sub(lambda m: hole(f"<code>{_literal(m.group(1), viewer)}</code>"), text)
    text = _CONTROL.sub(lambda m: hole(_control(m.group(1), viewer)), text)
    text = _unescape(text)
    if not verbatim:
        text = _BARE_URL.sub(lambda m: _bare_link(m.group(0), hole), text)
        text = _BARE_EMAIL.sub(lambda m: _bare_email(m.group(0), hole), text)
    markup = html.escape(emojize(text), quote=False)
    for pattern, tag in _STYLES:
        markup = pattern.sub(rf"<{tag}>\1</{tag}>", markup)
    return markup


def _literal(text: str, viewer: Viewer) -> str:
    """Code and pre: no styling or emoji, but links and mentions still resolve."""
    parts = _CONTROL.split(text)
    return "".join(
        _control(part, viewer) if odd else html.escape(_unescape(part), quote=False)
        for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts))
    )


def _unescape(text: str) -> str:
    """The three entities Slack asks senders to use; any other `&…;` shows as typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _bare_link(url: str, hole: Callable[[str], str]) -> str:
    trimmed = url.rstrip(_URL_TAIL)
    return hole(_anchor(trimmed, html.escape(trimmed))) + url[len(trimmed) :]


def _bare_email(address: str, hole: Callable[[str], str]) -> str:
    trimmed = address.rstrip(".-")
    return hole(_anchor(f"mailto:{trimmed}", html.escape(trimmed))) + address[len(trimmed) :]


def _anchor(url: str, label_html: str) -> str:
    href = html.escape(url, quote=True)
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{label_html}</a>'


def _mention(text: str, kind: str) -> str:
    return f'<span class="mention {kind}">{html.escape(text)}</span>'


def _control(inner: str, viewer: Viewer) -> str:
    """One `<…>` sequence: a link, a mention, a broadcast or a date."""
    target, bar, label = inner.partition("|")
    target, label = _unescape(target), _unescape(label)
    if target.startswith("@"):
        user_id = target[1:]
        name = viewer.users.get(user_id) or label or user_id
        return _mention(f"@{name}", "me" if user_id == viewer.user_id else "user")
    if target.startswith("#"):
        name = viewer.channels.get(target[1:]) or label or target[1:]
        return _mention(f"#{name}", "channel")
    if target.startswith("!"):
        return _special(target[1:], label if bar else None, viewer)
    if target.lower().startswith(LINK_SCHEMES):
        return _anchor(target, html.escape(emojize(label or target)))
    return html.escape(label or f"<{inner}>")


def _special(command: str, label: str | None, viewer: Viewer) -> str:
    name, _, rest = command.partition("^")
    if name in ("here", "channel", "everyone"):
        return _mention(f"@{name}", "broadcast")
    if name == "subteam":
        handle = viewer.groups.get(rest) or (label or "").removeprefix("@") or rest
        return _mention(f"@{handle}", "group")
    if name == "date":
        return date_token(rest, label, viewer)
    return html.escape(label if label is not None else f"<!{command}>")


def date_token(spec: str, fallback: str | None, viewer: Viewer) -> str:
    """`unix^format[^link]` in the viewer's zone; the fallback text when it cannot be read."""
    stamp, _, rest = spec.partition("^")
    template, _, link = rest.partition("^")
    try:
        when = datetime.fromtimestamp(int(stamp), viewer.tz)
        now = datetime.fromtimestamp(viewer.now, viewer.tz)
    except (ValueError, OverflowError, OSError):
        return html.escape(fallback or "")
    if not template:
        return html.escape(fallback or "")
    shown = html.escape(format_date(template, when, now))
    if link.lower().startswith(("http://", "https://")):
        return _anchor(link, shown)
    return shown


def format_date(template: str, when: datetime, now: datetime) -> str:
    """Slack's date tokens (`{date_short_pretty} at {time}`); unknown tokens stay as typed."""

    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        relative = _relative_day(when, now)
        if name.endswith("_pretty") and relative:
            return relative.capitalize() if match.start() == 0 else relative
        if name == "day_divider_pretty":
            return _long(when, year=when.year != now.year)
        shown = _DATE_TOKENS.get(name.removesuffix("_pretty"))
        return shown(when, now) if shown else match.group(0)

    return re.sub(r"\{([a-z_]+)\}", token, template)


def _relative_day(when: datetime, now: datetime) -> str | None:
    days = (when.date() - now.date()).days
    return {-1: "yesterday", 0: "today", 1: "tomorrow"}.get(days)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _long(when: datetime, *, year: bool = True) -> str:
    shown = f"{DAYS[when.weekday()]}, {MONTHS[when.month - 1]} {_ordinal(when.day)}"
    return f"{shown}, {when.year}" if year else shown


def clock_time(when: datetime, *, seconds: bool = False) -> str:
    """12-hour time, Slack's default for a user who has not chosen 24-hour."""
    hour = when.hour % 12 or 12
    secs = f":{when.second:02d}" if seconds else ""
    return f"{hour}:{when.minute:02d}{secs} {'AM' if when.hour < 12 else 'PM'}"


def _ago(when: datetime, now: datetime) -> str:
    seconds = int((now - when).total_seconds())
    span = abs(seconds)
    if span < 60:
        return "just now"
    units = ((31_536_000, "year"), (2_592_000, "month"), (86_400, "day"), (3600, "hour"))
    size, unit = next(((s, u) for s, u in units if span >= s), (60, "minute"))
    count = span // size
    words = f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{words} ago" if seconds >= 0 else f"in {words}"


_DATE_TOKENS: dict[str, Callable[[datetime, datetime], str]] = {
    "date_num": lambda w, _: f"{w.year:04d}-{w.month:02d}-{w.day:02d}",
    "date_slash": lambda w, _: f"{w.day:02d}/{w.month:02d}/{w.year:04d}",
    "date": lambda w, _: f"{MONTHS[w.month - 1]} {_ordinal(w.day)}, {w.year}",
    "date_short": lambda w, _: f"{MONTHS[w.month - 1][:3]} {w.day}, {w.year}",
    "date_long": lambda w, _: _long(w),
    "date_long_full": lambda w, _: f"{MONTHS[w.month - 1]} {w.day}, {w.year}",
    "time": lambda w, _: clock_time(w),
    "time_secs": lambda w, _: clock_time(w, seconds=True),
    "ago": _ago,
}


def annotate(value: Any, viewer: Viewer) -> Any:
    """A copy of blocks or a view in which every text object also carries its `html`
    (and plain_text its `shown` words, for places that take no markup, like a select)."""
    if isinstance(value, list):
        return [annotate(item, viewer) for item in value]
    if not isinstance(value, dict):
        return value
    copy = {key: annotate(item, viewer) for key, item in value.items()}
    kind, text = value.get("type"), value.get("text")
    if kind == "mrkdwn" and isinstance(text, str):
        copy["html"] = mrkdwn(text, viewer, verbatim=bool(value.get("verbatim")))
    elif kind == "plain_text" and isinstance(text, str):
        emoji = value.get("emoji", True) is not False
        copy["html"] = plain_html(text, emoji=emoji)
        copy["shown"] = plain_text(text, emoji=emoji)
    elif kind == "markdown" and isinstance(text, str):
        copy["html"] = mrkdwn(text, viewer)
    return copy
