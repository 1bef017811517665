"""i3D's `RANGED-DATA` paging header, and the opaque cursor the core carries between pages.

Requests say `RANGED-DATA: start=0,results=25`. Whether i3D answers with a range (and
a total) on the invoice list is undocumented, so parsing is lenient: unknown keys are
ignored and a missing total means "a full page may have more behind it".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.provider import ProviderError


class BadCursor(ProviderError):
    """A cursor this provider did not mint; the core should start from the first page."""


@dataclass(frozen=True)
class RangedData:
    start: int
    results: int
    total: int | None = None

    def header(self) -> str:
        text = f"start={self.start},results={self.results}"
        return text if self.total is None else f"{text},total={self.total}"

    @classmethod
    def parse(cls, header: str | None) -> RangedData | None:
        """`start=N,results=M[,total=T]`; None when absent or unreadable."""
        if not header:
            return None
        values: dict[str, int] = {}
        for part in header.split(","):
            key, _, value = part.partition("=")
            if value.strip().isdigit():
                values[key.strip().lower()] = int(value)
        if "start" not in values and "results" not in values and "total" not in values:
            return None
        return cls(values.get("start", 0), values.get("results", 0), values.get("total"))


def has_more(start: int, asked: int, got: int, total: int | None) -> bool:
    """Whether the list goes on after `start + got`."""
    if got == 0:
        return False
    if total is not None:
        return start + got < total
    return got >= asked


def encode_cursor(start: int) -> str:
    return f"start:{start}"


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    prefix, _, value = cursor.partition(":")
    if prefix != "start" or not value.isdigit():
        raise BadCursor(
            f"That page link is not one i3D.net's plugin made ({cursor!r}); start over."
        )
    return int(value)
