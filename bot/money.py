"""Exact money: a `Decimal` amount in an ISO 4217 currency, never a float.

Providers speak cents as integers (PingProxies), cents as strings (i3D) or decimal
dollars (Payfirma); each converts at its edge into `Money`, and nothing past that edge
does arithmetic on anything else.

`Money` builds its validator when first used (`defer_build`), as the models do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import MAX_PREC, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic import ConfigDict, field_validator, model_validator
from pydantic.dataclasses import dataclass

# ISO 4217 currencies whose minor unit is not 2 digits; every other code has 2.
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF".split(), 0),
    "XPF": 0,
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    # Units of account: nobody types them (`CURRENCIES`), but a provider may send them.
    **dict.fromkeys("CLF UYW".split(), 4),
}

# Prefix symbols people expect; other currencies print their code.
_SYMBOLS: dict[str, str] = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "INR": "₹",
}


def minor_units(currency: str) -> int:
    """Digits after the decimal point for `currency` (JPY 0, EUR 2, KWD 3)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


@lru_cache(maxsize=256)
def iso_code(value: str) -> str:
    """`value` as an ISO 4217 code (three ASCII letters, upper case), or ValueError."""
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {value!r}")
    return code


# The currencies of ISO 4217's current list (amendments to 2025), for codes people choose
# or type. Left out: fund and accounting units (BOV CHE CHW CLF COU MXV USN UYI UYW XAD
# XDR XSU XUA), precious metals (XAG XAU XPD XPT), bond units (XBA to XBD), and XTS and
# XXX (testing, "no currency"). Withdrawn codes (HRK, ANG, SLL, CUC...) are out too.
# Python carries no such list; update this one when ISO withdraws or adds a currency.
CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP
    SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF
    XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()
)


def currency_code(value: str) -> str:
    """`value` as the code of a currency people pay in (`CURRENCIES`), or ValueError
    saying so: for codes a person chooses or types. Providers' answers are read with
    `iso_code`, which takes any three letters, so an invoice in a currency newer than
    this list still shows (in its code, with two decimals)."""
    code = iso_code(value)
    if code not in CURRENCIES:
        raise ValueError(f"{code} is not a currency in ISO 4217, like EUR or USD")
    return code


_UNITS: dict[str, tuple[str, int, str]] = {}

MAX_DIGITS = 20
"""Digits an amount read from a provider may have, counted in minor units: far beyond
any invoice (10^18 euros), and few enough that a sum of up to 10^8 of them stays within
the 28 digits Python's decimals carry by default, so totals stay exact. At 28 digits
each, two invoices already summed past that: the total failed, and the whole list."""

_EXACT = Context(prec=MAX_PREC)
"""Moving the decimal point never rounds, however many digits (the default keeps 28)."""


def _unit(currency: str) -> tuple[str, int, str]:
    """The ISO code, the exponent of its minor unit (EUR: -2) and that exponent as a
    decimal suffix ("E-2"); kept in a plain dict, which the hot path reads inline."""
    known = _UNITS.get(currency)
    if known is None:
        code = iso_code(currency)
        exponent = -minor_units(code)
        known = (code, exponent, f"E{exponent}")
        if len(_UNITS) < 256:
            _UNITS[currency] = known
    return known


_new = object.__new__
_set = object.__setattr__


@dataclass(frozen=True, slots=True, config=ConfigDict(defer_build=True))
class Money:
    """An amount of one currency, exact to the currency's minor unit.

    Construction refuses floats and refuses more decimals than the currency has, so a
    conversion bug fails loudly instead of losing a cent; use `Money.rounded` where a
    computation (tax, a percentage) legitimately produces more digits.

    A pydantic dataclass, not a model: it validates and serialises the same way as a
    field of a model, holds no dict, and builds from cents in two thirds of a model's
    time, which a big account's list does two or three times per invoice.
    """

    amount: Decimal
    currency: str

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("money amounts must not be floats; pass a str, int or Decimal")
        if isinstance(value, str):
            if not value.strip().isascii():  # `Decimal` reads Arabic-Indic or fullwidth 12
                raise ValueError(f"not a decimal amount: {value!r}")
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                raise ValueError(f"not a decimal amount: {value!r}") from None
        return value

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        return iso_code(value)

    @model_validator(mode="after")
    def _exact_to_minor_unit(self) -> Money:
        if not self.amount.is_finite():
            raise ValueError("money amounts must be finite")
        step = Decimal(1).scaleb(-minor_units(self.currency))
        try:
            quantized = self.amount.quantize(step)
        except InvalidOperation:  # more digits than a decimal carries: no real amount
            raise ValueError(f"{self.amount} is more than any amount can be") from None
        if quantized != self.amount:
            raise ValueError(
                f"{self.amount} has more decimals than {self.currency} allows "
                f"({minor_units(self.currency)}); round it with Money.rounded"
            )
        object.__setattr__(self, "amount", quantized)
        return self

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Validated: `_no_float` reads a str or an int into the `Decimal` the field holds."""
        return cls(amount=amount, currency=currency)  # type: ignore[arg-type]

    @classmethod
    def rounded(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Round half up to the currency's minor unit (what invoices and tax tables do)."""
        step = Decimal(1).scaleb(-minor_units(currency))
        return cls(amount=Decimal(amount).quantize(step, rounding=ROUND_HALF_UP), currency=currency)

    @classmethod
    def from_minor(cls, units: int | str, currency: str) -> Money:
        """From an integer count of minor units, e.g. cents; strings like "12345" too."""
        code, exponent, suffix = _UNITS.get(currency) or _unit(currency)
        if units.__class__ is str:
            text = units.strip()
            if text.isdigit() and text.isascii():  # most amounts: read as they are written
                amount = Decimal(text + suffix)
            elif text[:1] == "-" and text[1:].isdigit() and text.isascii():
                amount = Decimal(int(text)).scaleb(exponent, _EXACT)  # "-0" is 0, not -0
            else:
                raise ValueError(f"not a whole number of minor units: {units!r}")
        else:
            amount = Decimal(units).scaleb(exponent, _EXACT)
        if amount.adjusted() - exponent >= MAX_DIGITS:
            raise ValueError(f"{units!r} minor units is more than any amount can be")
        # A whole number of minor units is exact by construction, so validation is
        # skipped (set past the frozen `__setattr__`): the hot path of a big account.
        made = _new(cls)
        _set(made, "amount", amount)
        _set(made, "currency", code)
        return made

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def total(cls, items: Iterable[Money], currency: str) -> Money:
        """Sum of `items`, all in `currency`; the zero amount when there are none."""
        result = cls.zero(currency)
        for item in items:
            result = result + item
        return result

    def to_minor(self) -> int:
        return int(self.amount.scaleb(minor_units(self.currency)))

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: object) -> Money:
        return Money(amount=self.amount + self._same_currency(other).amount, currency=self.currency)

    def __sub__(self, other: object) -> Money:
        return Money(amount=self.amount - self._same_currency(other).amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: object) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._same_currency(other).amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def format(self) -> str:
        """For people: `€1,234.50`, `-$3.00`, `¥1,000`, `KWD 1.250`."""
        digits = minor_units(self.currency)
        number = f"{abs(self.amount):,.{digits}f}"
        sign = "-" if self.amount < 0 else ""
        symbol = _SYMBOLS.get(self.currency)
        if symbol:
            return f"{sign}{symbol}{number}"
        return f"{sign}{self.currency} {number}"

    def __str__(self) -> str:
        return self.format()


class AmountError(ValueError):
    """A typed amount that cannot be read without guessing; the message is for people."""


_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:[.,][0-9]{3})*")


def bounded(money: Money) -> Money:
    """`money`, an amount a provider sent in major units (dollars), held to the
    `MAX_DIGITS` that `Money.from_minor` holds minor units to; else ValueError."""
    if money.amount and money.amount.adjusted() + minor_units(money.currency) >= MAX_DIGITS:
        raise ValueError(f"{money.amount} {money.currency} is more than any amount can be")
    return money


def _grouped(whole: str, separator: str) -> str:
    """`whole` without its thousands separators, or AmountError if they do not group by 3."""
    if separator not in whole:
        return whole
    if _GROUPED.fullmatch(whole) is None or set(re.sub("[0-9]", "", whole)) != {separator}:
        raise AmountError(
            f"“{whole}” does not group thousands by three; type it without separators, "
            f"like {whole.replace(separator, '')}."
        )
    return whole.replace(separator, "")


def thousands_mark(currency: str) -> str:
    """The separator people group thousands with when typing `currency`: "." for EUR."""
    return "." if currency.upper() == "EUR" else ","


def parse_amount(
    text: str,
    places: int,
    *,
    thousands: str = ",",
    allow_zero: bool = False,
    what: str = "amount",
    example: str | None = None,
) -> Decimal:
    """A positive amount a person typed, with at most `places` decimals; else AmountError
    (whose hints show `example`, or an amount with `places` decimals).

    One rule, nothing guessed ("12,50" is never 1250):
    - digits with at most one decimal separator, `.` or `,`; no signs, symbols, spaces
      or exponents; zero only when `allow_zero`;
    - a lone separator followed by one to `places` digits is the decimal one: "12,50"
      and "12.5" are both twelve and a half;
    - a lone separator followed by exactly three digits is a thousands separator only
      when it is the currency's `thousands` mark and three decimals are impossible
      ("1,234" in CAD, "1.234" in EUR); otherwise it is refused as ambiguous, unless
      the digits before it cannot lead a group of thousands ("0,001", "1234,567"):
      then it is the decimal one;
    - when both marks appear the last is the decimal one and the other must group the
      whole part by three ("1,234.50", "1.234,50"); repeats of one mark group thousands.
    """
    raw = text.strip()
    if example is None:
        example = "12" if places == 0 else "12." + "50".ljust(places, "0")[:places]
    if not raw:
        raise AmountError(f"Type the {what}, like {example}.")
    if raw.startswith("-"):
        floor = "0 or more" if allow_zero else "more than 0"
        raise AmountError(f"The {what} must be {floor}.")
    if any(char.isdigit() and not char.isascii() for char in raw):
        raise AmountError(f"Type the {what} with the digits 0 to 9, like {example}.")
    if not re.fullmatch(r"[0-9.,]+", raw) or not raw[0].isdigit() or not raw[-1].isdigit():
        raise AmountError(f"Type only the number, like {example}.")
    dots, commas = raw.count("."), raw.count(",")
    if dots and commas:
        decimal_mark = "." if raw.rfind(".") > raw.rfind(",") else ","
        whole, _, fraction = raw.rpartition(decimal_mark)
        if decimal_mark in whole:
            raise AmountError(f"“{raw}” has more than one decimal separator.")
        whole = _grouped(whole, "," if decimal_mark == "." else ".")
    elif dots + commas == 0:
        whole, fraction = raw, ""
    elif dots + commas > 1:
        whole, fraction = _grouped(raw, "." if dots else ","), ""
    else:
        mark = "." if dots else ","
        whole, _, fraction = raw.partition(mark)
        # "0,001" and "1234,567" cannot be thousands: their mark is a decimal one
        grouping = len(fraction) == 3 and _GROUPED.fullmatch(whole) is not None
        if grouping and places < 3 and mark == thousands:
            whole, fraction = _grouped(raw, mark), ""
        elif grouping and places < 3:  # the decimal reading is not allowed either
            raise AmountError(
                f"“{raw}” has 3 decimals, and at most {places} are allowed, like {example}; "
                f"if you meant {whole}{fraction}, type it without a thousands separator."
            )
        elif grouping:
            raise AmountError(
                f"“{raw}” could be {whole}{fraction} or {whole}.{fraction}; "
                "type it without a thousands separator."
            )
    if len(fraction) > places:
        if places == 0:
            raise AmountError(f"Type a whole number, like {example} (no decimals).")
        raise AmountError(f"At most {places} decimals, like {example}.")
    if len(whole) > 12:
        raise AmountError(f"That {what} is too large.")
    number = Decimal(f"{whole}.{fraction}" if fraction else whole)
    if number == 0 and not allow_zero:
        raise AmountError(f"The {what} must be more than 0.")
    return number
