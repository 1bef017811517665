"""PingProxies' `page`/`per_page` paging, and the cursor the core carries between pages.

Pages count from 1 and hold at most 100. A page past the end is empty, and
`total_count` may be -1 when PingProxies finds counting too expensive; then only an
empty or short page ends the walk. The cursor is an offset into the filtered search,
so a Slack page may end in the middle of an API page.
"""

from __future__ import annotations

from bot.kit import paging
from bot.kit.paging import BadCursor, OffsetCursor
from plugins.pingproxies import wire

CURSOR = OffsetCursor("PingProxies")

__all__ = ["CURSOR", "BadCursor", "has_more", "position"]


def has_more(answer: wire.SearchPage, asked_page: int, received: int) -> bool:
    """Whether another page may follow `answer`, which was asked for as `asked_page` and
    brought `received` entries. Unreadable entries count: without a total, a full page
    with one invoice that could not be read is still full, not the end of the list."""
    start = (asked_page - 1) * answer.per_page
    return paging.has_more(start, answer.per_page, received, answer.total_count)


def position(offset: int, per_page: int) -> tuple[int, int]:
    """The page holding `offset`, and how many of its items come before it."""
    return offset // per_page + 1, offset % per_page
