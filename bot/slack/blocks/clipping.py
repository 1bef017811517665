"""Text cut to Slack's length limits without breaking what mrkdwn shows.

A cut must not fall inside an escaped character or a `<…>` token, and must not strand
an emphasis or code marker: `*Visa ending 4242*` cut before its closing `*` would show
the opening one as typed. A span that would have been styled whole is closed after the
"…" instead, so the cut text reads styled as far as it goes.
"""

from __future__ import annotations

import re

from bot.text import shown

ESCAPED = re.compile("&(?:amp|lt|gt);")
TOKEN = re.compile(r"<[^<>\n]*>")
"""A link, mention or date: markers inside it are not emphasis."""
CODE = re.compile(r"`[^`\n]+`")
EMPHASIS = [
    re.compile(rf"{m}(?<![\w{m}]{m})(?=\S)[^{m}\n]*?\S{m}(?![\w{m}])")
    for m in (re.escape("*"), "_", "~")
]
"""Bold, italic and strike as Slack pairs them: opening after a non-word character,
closing before one, hugging their text, on one line. The marker comes first and the
look back after it, so the search skips to markers instead of trying every character
(a long description is cut in every list row)."""
HIDDEN = "\ue000"


def clip(text: str, limit: int, *, mrkdwn: bool = False) -> str:
    """`text` in at most `limit` characters, cut with "…". In mrkdwn the cut never falls
    inside an escaped character ("&am…" would show as typed) or a `<…>` token (a
    mention, link or date would show as raw markup): it moves back before it. A code
    or emphasis span the cut runs through is closed after the "…". Characters that
    would hide or reorder the text are dropped first, wherever it came from."""
    text = shown(text)
    if len(text) <= limit:
        return text
    if not mrkdwn:
        return text[: limit - 1] + "…"
    spans = _styled(text)
    reserve = 0
    while True:
        cut = _cut(text, limit - 1 - reserve)
        closers = ""
        for start, end in sorted(spans, reverse=True):  # innermost first
            if start >= len(cut) or end <= len(cut):
                continue
            if cut[start + 1 :].strip():
                closers += text[start]
            else:
                cut = cut[:start]  # nothing of it is left to style
        if len(closers) <= reserve:
            return cut + "…" + closers
        reserve = len(closers)


def _cut(text: str, size: int) -> str:
    cut = text[: max(size, 0)]
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and (entity := ESCAPED.match(text, amp)) and entity.end() > len(cut):
        cut = cut[:amp]
    opened = cut.rfind("<")
    if opened != -1 and ">" not in cut[opened:]:
        cut = cut[:opened]
    return cut


def _styled(text: str) -> list[tuple[int, int]]:
    """Where `text` has code and emphasis spans Slack would style, as (start, end) of
    each; Slack reads no emphasis inside code or a `<…>` token, so those are hidden."""
    spans = [match.span() for match in CODE.finditer(text)]
    hidden = text
    for pattern in (CODE, TOKEN):
        hidden = pattern.sub(lambda m: HIDDEN * len(m.group(0)), hidden)
    return spans + [match.span() for pattern in EMPHASIS for match in pattern.finditer(hidden)]
