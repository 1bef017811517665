"""The table: one row per figure, its limit from the same run, the ratio and the target."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    scenario: str
    measure: str
    invoicebot: str
    limit: str
    ratio: float | None
    target: str
    met: bool

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        return [
            self.scenario,
            self.measure,
            self.invoicebot,
            self.limit,
            ratio,
            self.target,
            "yes" if self.met else "NO",
        ]


HEADINGS = ["scenario", "measure", "invoicebot", "limit", "ratio", "target", "met"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the value below which `fraction` of the values fall."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def markdown(rows: Sequence[Row]) -> str:
    lines = [HEADINGS, ["---"] * len(HEADINGS), *(row.cells() for row in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
