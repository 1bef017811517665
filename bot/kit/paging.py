"""Paging helpers: opaque offset cursors, and a guard against servers that ignore paging.

The core carries a provider's cursor between Slack pages without reading it. An offset
with a prefix is enough for most services; `OffsetCursor` makes and checks one, so a
cursor from elsewhere (an old message, another provider) starts over instead of failing.
`Progress` stops a walk when a page repeats the one before or brings nothing new: a
server that ignores `start`/`page` would otherwise be read until a cap.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from bot.kit.errors import possessive
from bot.provider import ProviderError

log = logging.getLogger(__name__)


class BadCursor(ProviderError):
    """A cursor this provider did not mint; the core should start from the first page."""


@dataclass(frozen=True)
class OffsetCursor:
    """`<prefix>:<offset>` cursors for the provider titled `title`."""

    title: str
    prefix: str = "offset"

    def encode(self, offset: int) -> str:
        return f"{self.prefix}:{offset}"

    def decode(self, cursor: str | None) -> int:
        if cursor is None:
            return 0
        prefix, _, value = cursor.partition(":")
        if prefix != self.prefix or not (value.isascii() and value.isdigit()):
            raise BadCursor(
                f"That page link is not one {possessive(self.title)} plugin made ({cursor!r}); "
                "start over."
            )
        return int(value)


def has_more(start: int, asked: int, got: int, total: int | None) -> bool:
    """Whether a list goes on after the page at `start` that brought `got` of `asked`.

    With a total, it decides; without one (or a negative "not counted"), only a short or
    empty page ends the list.
    """
    if got == 0:
        return False
    if total is not None and total >= 0:
        return start + got < total
    return got >= asked


@dataclass
class Progress:
    """Remembers what the walk has seen, to stop when a page brings nothing new."""

    title: str
    seen: set[Hashable] = field(default_factory=set)
    previous: tuple[Hashable, ...] | None = None
    stalled: bool = False
    """Set once a page brought nothing new: the list has no more that can be read."""

    def advances(self, keys: Sequence[Hashable], where: object) -> bool:
        """False (and a warning in the log) when this page repeats the last one or holds
        only what earlier pages held; `keys` identify its entries."""
        page = tuple(keys)
        fresh = not page or (page != self.previous and not set(page) <= self.seen)
        if not fresh:
            self.stalled = True
            log.warning(
                "%s sent a page at %s that repeats what it sent before: it seems to ignore "
                "the requested page, so reading stops here",
                self.title,
                where,
            )
        self.previous = page
        self.seen.update(page)
        return fresh
