"""i3D's `RANGED-DATA` paging header, and the cursor the core carries between pages.

Requests say `RANGED-DATA: start=0,results=25`. Whether i3D answers with a range (and
a total) on the invoice list is undocumented, so parsing is lenient: unknown keys are
ignored and a missing total means "a full page may have more behind it".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.kit.paging import OffsetCursor

CURSOR = OffsetCursor("i3D.net", prefix="start")


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
            if value.strip().isascii() and value.strip().isdigit():  # "²": int() refuses it
                values[key.strip().lower()] = int(value)
        if "start" not in values and "results" not in values and "total" not in values:
            return None
        return cls(values.get("start", 0), values.get("results", 0), values.get("total"))
