"""The table: figures measured round by round, each against its limit from the same round.

A scenario's round yields `Figure`s: a number, its unit, the limit it is held against
(measured in that round, alternating with the bot) and the `Target`. `summarise` groups
one figure's rounds into a `Row`: the median over rounds with min-max, the median ratio
with min-max, and the verdict, which is taken on the median (or on every round, for
counts that must hold every time). One good round out of three is not a met target.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Op = Literal["<=", ">=", "<", "=="]
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    "==": operator.eq,
}
DECIMALS = {"ms": 1, "req/s": 0, "MiB": 1, "KiB": 2, "ms/1,000 invoices": 1, "x": 2}


@dataclass(frozen=True)
class Target:
    """`ratio op bound` (value/limit), `value - limit op bound` (on="over"), or `value op bound`.

    `every_round`: it must hold in each round, not only for the median (counts of errors
    and confirmations, where one bad round is one too many).
    """

    op: Op
    bound: float
    on: Literal["ratio", "over", "value"] = "ratio"
    every_round: bool = False

    def holds(self, number: float) -> bool:
        """False for NaN: a figure that could not be measured is not met."""
        return not math.isnan(number) and OPS[self.op](number, self.bound)

    def subject(self, value: float, limit: float | None) -> float:
        """What the target compares: the ratio, the excess over the limit, or the value."""
        if self.on == "value":
            return value
        if limit is None:
            return math.nan
        if self.on == "over":
            return value - limit
        return value / limit if limit else math.nan

    def describe(self, unit: str) -> str:
        bound = f"{self.bound:,g}"
        if self.on == "ratio":
            text = f"{self.op} {self.bound:.2f}x"
        elif self.on == "over":
            text = f"{self.op} limit + {bound} {unit}".rstrip()
        else:
            text = f"{self.op} {bound} {unit}".rstrip()
        return text + (" every round" if self.every_round else "")


@dataclass(frozen=True)
class Figure:
    """One figure in one round: `value` (in `unit`) against `limit` (same unit, same round)."""

    scenario: str
    measure: str
    value: float
    unit: str
    limit: float | None = None
    target: Target | None = None
    limit_note: str = ""  # what the limit is, where the heading does not say

    @property
    def key(self) -> tuple[str, str]:
        return (self.scenario, self.measure)


def number(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "never" if value > 0 else "-inf"
    return f"{value:,.{DECIMALS.get(unit, 0)}f}"


def spread(values: Sequence[float], unit: str) -> str:
    """`median unit (min-max)`, or only the median for one round."""
    text = f"{number(statistics.median(values), unit)} {unit}".rstrip()
    if len(values) > 1:
        low, high = min(values), max(values)
        text += f" ({number(low, unit)}–{number(high, unit)})"
    return text


@dataclass(frozen=True)
class Row:
    """One figure over all rounds."""

    scenario: str
    measure: str
    unit: str
    values: tuple[float, ...]
    limits: tuple[float, ...] | None
    target: Target | None
    limit_note: str = ""

    @property
    def ratios(self) -> tuple[float, ...] | None:
        if self.limits is None:
            return None
        return tuple(
            v / x if x else math.nan for v, x in zip(self.values, self.limits, strict=True)
        )

    @property
    def subjects(self) -> tuple[float, ...]:
        """Per round, what the target compares."""
        if self.target is None:
            return ()
        limits = self.limits or tuple(None for _ in self.values)
        return tuple(self.target.subject(v, x) for v, x in zip(self.values, limits, strict=True))

    @property
    def met(self) -> bool | None:
        """None without a target; else whether the median (or every round) meets it."""
        if self.target is None:
            return None
        subjects = self.subjects
        if self.target.every_round:
            return all(self.target.holds(s) for s in subjects)
        return self.target.holds(median(subjects))

    def cells(self) -> list[str]:
        ratios = self.ratios
        verdict = {None: "", True: "yes", False: "NO"}[self.met]
        if verdict and self.target is not None and self.target.on == "over":
            verdict += f" ({'+' if median(self.subjects) >= 0 else ''}"
            verdict += f"{number(median(self.subjects), self.unit)} {self.unit})"
        limit = spread(self.limits, self.unit) if self.limits else ""
        if limit and self.limit_note:
            limit += f" {self.limit_note}"
        return [
            self.scenario,
            self.measure,
            spread(self.values, self.unit),
            limit,
            _ratio_cell(ratios),
            self.target.describe(self.unit) if self.target else "",
            verdict,
        ]


def _ratio_cell(ratios: Sequence[float] | None) -> str:
    if not ratios or any(math.isnan(r) for r in ratios):
        return ""
    return spread(ratios, "x").replace(" x", "x", 1)


def median(values: Sequence[float]) -> float:
    """The median; NaN when there is nothing, or when a round could not be measured."""
    if not values or any(math.isnan(v) for v in values):
        return math.nan
    return float(statistics.median(values))


def summarise(figures: Iterable[Figure]) -> list[Row]:
    """Group each figure's rounds into one row, in the order the figures first appeared."""
    grouped: dict[tuple[str, str], list[Figure]] = {}
    for figure in figures:
        grouped.setdefault(figure.key, []).append(figure)
    rows = []
    for (scenario, measure), rounds in grouped.items():
        first = rounds[0]
        limits = [f.limit for f in rounds]
        rows.append(
            Row(
                scenario,
                measure,
                first.unit,
                tuple(f.value for f in rounds),
                None
                if any(x is None for x in limits)
                else tuple(x for x in limits if x is not None),
                first.target,
                first.limit_note,
            )
        )
    return rows


HEADINGS = ["scenario", "measure", "invoicebot", "limit", "ratio", "target", "met"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the value below which `fraction` of the values fall."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def ms(seconds: float) -> float:
    return seconds * 1000


def markdown(rows: Sequence[Row]) -> str:
    lines = [HEADINGS, ["---"] * len(HEADINGS), *(row.cells() for row in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def all_met(rows: Sequence[Row]) -> bool:
    return all(row.met is not False for row in rows)
