"""Approval policies: brackets per currency (and provider) and who approves in each.

Pure values, read from the written form admins and `INVOICEBOT_APPROVALS` use; no store
and no Slack, so settings can check a seed at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from bot.money import Money, currency_code, minor_units

DEFAULT_HOURS = 24.0
MAX_APPROVALS = 2
_MINIMUM = re.compile(r"-?[0-9][0-9_]*(?:\.[0-9]+)?")
"""A bracket's amount as written in settings: digits (underscores may group them) and
one decimal point. `Decimal` also reads exponents ("5e2" is 500) and other digits than
0 to 9, which no one means in an amount."""
_NEEDED = re.compile(r"[0-9]+")

_APPROVER = re.compile(
    r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>|([UWS][A-Z0-9]+)"
)


class PolicyError(ValueError):
    """A policy that cannot be read; the message names the line and what is wrong."""


class Bracket(BaseModel):
    """From `minimum` up (in `currency`, at `provider` or any), `needed` approvals from
    `approvers`: user ids (U…, W…) and user group ids (S…)."""

    model_config = ConfigDict(frozen=True)

    currency: str
    minimum: Decimal
    needed: int = Field(ge=0, le=MAX_APPROVALS)
    approvers: tuple[str, ...] = ()
    provider: str | None = None

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(a for a in self.approvers if not a.startswith("S"))

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(a for a in self.approvers if a.startswith("S"))

    @property
    def key(self) -> tuple[str | None, str, Decimal]:
        """Two brackets with the same key cannot both stand."""
        return (self.provider, self.currency, self.minimum)

    @property
    def floor(self) -> Money:
        return Money.rounded(self.minimum, self.currency)

    def rule(self) -> str:
        """The bracket written out with its approvers in order, so that two brackets
        alike but for the order their approvers were chosen in read the same."""
        return self.model_copy(update={"approvers": tuple(sorted(self.approvers))}).line()

    def line(self) -> str:
        """The bracket in the written form `parse` reads."""
        head = f"{self.provider} " if self.provider else ""
        who = f" {','.join(self.approvers)}" if self.approvers else ""
        return f"{head}{self.currency} {self.minimum} {self.needed}{who}"


class Policy(BaseModel):
    """A workspace's brackets and how long an approval stays good for."""

    model_config = ConfigDict(frozen=True)

    brackets: tuple[Bracket, ...] = ()
    hours: float = Field(default=DEFAULT_HOURS, gt=0)

    def bracket_for(self, provider: str, amount: Money) -> Bracket | None:
        """The highest bracket `amount` reaches; a provider's own brackets in a currency
        replace the general ones in that currency."""
        same = [b for b in self.brackets if b.currency == amount.currency]
        own = [b for b in same if b.provider == provider]
        candidates = own or [b for b in same if b.provider is None]
        reached = [b for b in candidates if amount.amount >= b.minimum]
        return max(reached, key=lambda b: b.minimum, default=None)

    def needs(self, provider: str, amount: Money) -> Bracket | None:
        """The bracket when this payment needs at least one approval, else None."""
        bracket = self.bracket_for(provider, amount)
        return bracket if bracket is not None and bracket.needed > 0 else None

    def text(self) -> str:
        return "\n".join(bracket.line() for bracket in self.brackets)

    @classmethod
    def parse(cls, text: str, hours: float = DEFAULT_HOURS) -> Policy:
        """Brackets one per line (or separated by `;`): `[provider] CUR MINIMUM NEEDED
        [APPROVER,…]`, e.g. `EUR 500 1 U0ALEX,S0FINANCE` or `i3d USD 100 0`."""
        brackets = []
        for number, raw in enumerate(re.split(r"[;\n]", text), start=1):
            line = raw.strip()
            if line and not line.startswith("#"):
                brackets.append(_bracket(line, number))
        policy = cls.of(brackets, hours)
        if undercuts := undercut(policy.brackets):
            higher, lower = next(iter(undercuts.items()))
            raise PolicyError(
                f"`{higher.line()}` needs fewer approvals than `{lower.line()}`, which "
                "starts lower: a larger payment cannot need fewer."
            )
        return policy

    @classmethod
    def of(cls, brackets: list[Bracket], hours: float = DEFAULT_HOURS) -> Policy:
        """The policy with these brackets in order; PolicyError if two start at the same
        amount in the same currency for the same provider (or for any)."""
        seen: set[tuple[str | None, str, Decimal]] = set()
        for bracket in brackets:
            if bracket.key in seen:
                raise PolicyError(f"Two brackets start at {bracket.minimum} {bracket.currency}.")
            seen.add(bracket.key)
        ordered = sorted(brackets, key=lambda b: (b.provider or "", b.currency, b.minimum))
        return cls(brackets=tuple(ordered), hours=hours)


def undercut(brackets: Sequence[Bracket]) -> dict[Bracket, Bracket]:
    """Each bracket that needs fewer approvals than one starting lower in its currency
    at its provider (or for any), with the lower one that needs the most. Such a policy
    would ask less of a larger payment than of a smaller one, so it is refused."""
    found: dict[Bracket, Bracket] = {}
    for higher in brackets:
        lower = [
            b
            for b in brackets
            if (b.provider, b.currency) == (higher.provider, higher.currency)
            and b.minimum < higher.minimum
            and b.needed > higher.needed
        ]
        if lower:
            found[higher] = max(lower, key=lambda b: (b.needed, b.minimum))
    return found


def _bracket(line: str, number: int) -> Bracket:
    where = f"Bracket {number} (`{line}`)"  # brackets may share a line, split by `;`
    words = line.replace(",", " , ").split()
    provider = None
    if len(words) > 1 and re.fullmatch(r"[A-Za-z]{3}", words[1]):  # provider, then currency
        provider = words.pop(0).lower()
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", provider):
            raise PolicyError(f"{where}: `{provider}` is not a provider name.")
    if len(words) < 3:
        raise PolicyError(
            f"{where}: write currency, amount and approvals needed, e.g. `EUR 500 1 U0ALEX`."
        )
    try:
        currency = currency_code(words[0])
    except ValueError:
        raise PolicyError(
            f"{where}: `{words[0]}` is not a currency; write its ISO 4217 code, like EUR."
        ) from None
    if not _MINIMUM.fullmatch(words[1]) or not _NEEDED.fullmatch(words[2]):
        raise PolicyError(f"{where}: `{' '.join(words[:3])}` should read like `EUR 500 1`.")
    minimum = Decimal(words[1].replace("_", ""))
    needed = int(words[2])
    if minimum < 0:
        raise PolicyError(f"{where}: the amount must be zero or more.")
    places = minor_units(currency)
    if -int(minimum.as_tuple().exponent) > places:
        raise PolicyError(f"{where}: {currency} amounts have at most {places} decimals.")
    if not 0 <= needed <= MAX_APPROVALS:
        raise PolicyError(f"{where}: approvals needed must be 0, 1 or 2.")
    approvers: list[str] = []
    for word in words[3:]:
        if word == ",":
            continue
        found = _APPROVER.fullmatch(word)
        if found is None:
            raise PolicyError(f"{where}: `{word}` is not a person (U…) or user group (S…) id.")
        approvers.append(next(g for g in found.groups() if g))
    if needed and not approvers:
        raise PolicyError(f"{where}: say who may approve (people or user groups).")
    people = {a for a in approvers if not a.startswith("S")}
    if needed == 2 and len(people) < 2 and len(people) == len(set(approvers)):
        raise PolicyError(
            f"{where}: two approvals need two different people: name at least two, or a user group."
        )
    return Bracket(
        provider=provider,
        currency=currency,
        minimum=minimum,
        needed=needed,
        approvers=tuple(dict.fromkeys(approvers)),
    )


def approvals_phrase(count: int) -> str:
    """ "one approval" / "two approvals from two different people", for sentences."""
    return "one approval" if count == 1 else "two approvals from two different people"
