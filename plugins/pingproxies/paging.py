"""PingProxies' `page`/`per_page` paging, and the opaque cursor the core carries between pages.

Pages count from 1 and hold at most 100. A page past the end is empty, and
`total_count` may be -1 when PingProxies finds counting too expensive; then only an
empty or short page ends the walk. The cursor is an offset into the filtered search,
so a Slack page may end in the middle of an API page.
"""

from __future__ import annotations

from bot.provider import ProviderError
from plugins.pingproxies import wire


class BadCursor(ProviderError):
    """A cursor this provider did not mint; the core should start from the first page."""


def has_more(answer: wire.SearchPage, asked_page: int) -> bool:
    """Whether another page may follow `answer`, which was asked for as `asked_page`."""
    got = len(answer.data)
    if got == 0:
        return False
    if answer.total_count >= 0:
        return asked_page * answer.per_page < answer.total_count
    return got >= answer.per_page


def position(offset: int, per_page: int) -> tuple[int, int]:
    """The page holding `offset`, and how many of its items come before it."""
    return offset // per_page + 1, offset % per_page


def encode_cursor(offset: int) -> str:
    return f"offset:{offset}"


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    prefix, _, value = cursor.partition(":")
    if prefix != "offset" or not value.isdigit():
        raise BadCursor(
            f"That page link is not one PingProxies' plugin made ({cursor!r}); start over."
        )
    return int(value)
