"""Paging over a list that only takes `?limit=`, and the opaque cursor the core carries.

Payfirma documents no offset or cursor for invoices, so page N is read by asking for
the first `start + size + 1` invoices and keeping the tail: the extra one tells us
whether more follow. We never ask beyond `MAX_LIMIT`; an account with more invoices
than that shows the first `MAX_LIMIT` and says so in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeVar

from bot.kit.paging import BadCursor, OffsetCursor

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
T = TypeVar("T")

__all__ = ["CURSOR", "MAX_LIMIT", "BadCursor", "Window"]


@dataclass(frozen=True)
class Window:
    start: int
    size: int

    @property
    def limit(self) -> int:
        """What to ask Payfirma for: everything up to this page, plus one to peek."""
        return min(self.start + self.size + 1, MAX_LIMIT)

    def cut(self, items: list[T]) -> tuple[list[T], int | None]:
        """This page of `items`, and where the next page starts (None at the end)."""
        end = self.start + self.size
        page = items[self.start : end]
        if len(items) > end and end < MAX_LIMIT:
            return page, end
        if len(items) >= MAX_LIMIT and end >= MAX_LIMIT:
            log.warning(
                "Payfirma's invoice list takes only ?limit=; invoices after the first %d "
                "are not shown",
                MAX_LIMIT,
            )
        return page, None


CURSOR = OffsetCursor("Payfirma")
