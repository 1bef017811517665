"""What a person typed after `/invoices`, parsed into one request (pure, no I/O)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.models import InvoiceStatus
from bot.slack.blocks.kit import escape
from bot.slack.values import MAX_TEXT

_STATUS_WORDS: dict[str, frozenset[InvoiceStatus]] = {
    "open": frozenset({InvoiceStatus.OPEN}),
    "all": frozenset(),
    "paid": frozenset({InvoiceStatus.PAID}),
    "draft": frozenset({InvoiceStatus.DRAFT}),
    "drafts": frozenset({InvoiceStatus.DRAFT}),
    "void": frozenset({InvoiceStatus.VOID}),
}


@dataclass(frozen=True)
class ListInvoices:
    statuses: frozenset[InvoiceStatus] = frozenset({InvoiceStatus.OPEN})
    overdue_only: bool = False
    providers: tuple[str, ...] = ()
    text: str | None = None

    @property
    def title(self) -> str:
        if self.text:
            return f"Invoices matching “{self.text}”"
        if self.overdue_only:
            return "Overdue invoices"
        if not self.statuses:
            return "All invoices"
        return " and ".join(sorted(s.value for s in self.statuses)).capitalize() + " invoices"


@dataclass(frozen=True)
class PayInvoice:
    number: str


@dataclass(frozen=True)
class Connect:
    provider: str


@dataclass(frozen=True)
class NewInvoice:
    provider: str


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Settings:
    """The approval settings dialog (admins)."""


@dataclass(frozen=True)
class Export:
    """Records from `first` to `last` (both included); None: the defaults (this month)."""

    first: date | None = None
    last: date | None = None


EXPORT_DAYS = 3660
"""The longest export, in days (ten years), from the command and the App Home dialog."""


@dataclass(frozen=True)
class History:
    number: str


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class People:
    """Choose the workspace's admins and payers in a dialog."""


@dataclass(frozen=True)
class Billing:
    """Make the channel the command was typed in the workspace's billing channel."""


@dataclass(frozen=True)
class Unknown:
    problem: str


Subcommand = (
    ListInvoices
    | PayInvoice
    | Connect
    | NewInvoice
    | Status
    | Settings
    | Billing
    | People
    | Export
    | History
    | Help
    | Unknown
)


def parse(
    text: str,
    provider_named: Callable[[str], str | None],
    installed: Iterable[str] = (),
    creating: Iterable[str] = (),
) -> Subcommand:
    """`provider_named` maps a word to a provider's name, or None if it names none;
    `installed` are the names an admin may type, listed when a provider is not found;
    `creating` are those of them that can create invoices, the only ones `new` offers."""
    words = text.split()
    if not words:
        return ListInvoices()
    head, rest = words[0].casefold(), words[1:]
    if head == "help":
        return Help()
    if head == "status":
        return Status() if not rest else Unknown("`status` takes nothing after it.")
    if head == "people":
        return People() if not rest else Unknown("`people` takes nothing after it.")
    if head == "billing":
        return Billing() if not rest else Unknown("Type `/invoices billing` in the channel.")
    if head == "settings":
        return Settings() if not rest else Unknown("`settings` takes nothing after it.")
    if head == "search" and len(text) > MAX_TEXT:
        return Unknown(TOO_LONG)
    if head == "search":
        searched = " ".join(unquoted(rest))
        if not searched:
            return Unknown("Say what to search for, e.g. `/invoices search server`.")
        return ListInvoices(statuses=frozenset(), text=searched)
    if head == "export":
        return _export(rest)
    if head == "history":
        if len(rest) != 1:
            return Unknown(_one_number(head, rest, "Say which invoice"))
        return History(rest[0])
    if head == "pay":
        if len(rest) != 1:
            return Unknown(_one_number(head, rest, "Say which invoice to pay"))
        return PayInvoice(rest[0])
    if head == "new" and len(rest) != 1:
        return _new_for(sorted(creating), typed=bool(rest))
    if head in ("connect", "new"):
        names = ", ".join(
            f"`{name}`" for name in sorted(installed if head == "connect" else creating)
        )
        which = "The providers are" if head == "connect" else _CREATING
        known = f" {which} {names}." if names else ""
        if head == "new" and not names:
            known = f" {NONE_CREATING}"
        if len(rest) != 1:
            return Unknown(f"Say which provider, e.g. `/invoices connect i3d`.{known}")
        name = provider_named(rest[0])
        if name is None:
            return Unknown(f"There is no provider called `{escape(rest[0])}`.{known}")
        return Connect(name) if head == "connect" else NewInvoice(name)
    if len(text) > MAX_TEXT:
        return Unknown(TOO_LONG)
    return _listing(words, provider_named)


def _new_for(creating: list[str], *, typed: bool) -> Subcommand:
    """`new` alone (`typed` False) opens the form of the one provider that can create
    invoices; otherwise the choice is among only those that can (naming one that cannot
    would just be refused)."""
    if len(creating) == 1 and not typed:
        return NewInvoice(creating[0])
    if not creating:
        return Unknown(NONE_CREATING)
    names = ", ".join(f"`{name}`" for name in creating)
    return Unknown(f"Say which provider, e.g. `/invoices new {creating[0]}`. {_CREATING} {names}.")


_CREATING = "The providers that can create invoices are"
NONE_CREATING = "None of the installed providers can create invoices."


TOO_LONG = (
    f"That is longer than a list can be paged with ({MAX_TEXT} characters at most): "
    "shorten the search."
)


QUOTES = ('"“”', "'‘’")
"""Quote marks, straight and curly, by kind: a phrase opened with one of a kind is closed
by any of the same kind (keyboards and phones mix “ and ”, or type ”Swedish” quotes)."""


def unquoted(words: list[str]) -> list[str]:
    """`words` without the quotes around a word or phrase, as people type a search
    (`"fleet"`, `“server rack”`): Slack sends them as typed, and no invoice holds them. A
    quote with no partner, or inside a word (O'Brien), stays."""
    words = list(words)
    start = 0
    while start < len(words):
        kind = next((marks for marks in QUOTES if words[start][:1] in marks), None)
        end = None if kind is None else _closing(words, start, kind)
        if end is not None:
            words[start] = words[start][1:]
            words[end] = words[end][:-1]
            start = end
        start += 1
    return [word for word in words if word]


def _closing(words: list[str], start: int, kind: str) -> int | None:
    """The word that closes the quote opening `words[start]`, if any. Apostrophes around
    a single letter are an elision, not quotes: `rock 'n' roll` is searched as typed."""
    if _elision(words[start], kind):
        return None
    for end in range(start, len(words)):
        word = words[end]
        if word[-1:] in kind and (end > start or len(word) > 1) and not _elision(word, kind):
            return end
    return None


def _elision(word: str, kind: str) -> bool:
    return kind == QUOTES[1] and len(word) == 3 and word[0] in kind and word[-1] in kind


def _one_number(head: str, rest: list[str], ask: str) -> str:
    """Nothing typed after `head`: ask; more than a number (a provider's name, two
    numbers): say that the number alone is wanted, since numbers are looked up in
    every account."""
    example = f"`/invoices {head} INV-24-0101`"
    if not rest:
        return f"{ask}, e.g. {example}."
    return f"Type just the invoice number after `{head}`, e.g. {example}."


DATE_HELP = "write dates as YYYY-MM-DD, or YYYY-MM for a whole month"


def _day(word: str, *, end: bool) -> date | str:
    """A date, or the start (`end` False) or last day of a `YYYY-MM` month; a problem
    sentence when the word is neither."""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}", word):
            first = date.fromisoformat(word + "-01")
            if not end:
                return first
            return first.replace(day=calendar.monthrange(first.year, first.month)[1])
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", word):
            return date.fromisoformat(word)
    except ValueError:
        return f"“{escape(word)}” is not a date in the calendar: {DATE_HELP}."
    return f"“{escape(word)}” is not a date: {DATE_HELP}."


def _export(words: list[str]) -> Subcommand:
    """`export`, `export 2026-11`, `export 2026-11-01 2026-11-30`."""
    if len(words) > 2:
        return Unknown("Say at most two dates, e.g. `/invoices export 2026-11-01 2026-11-30`.")
    if not words:
        return Export()
    first = _day(words[0], end=False)
    last = _day(words[-1], end=True)
    for problem in (first, last):
        if isinstance(problem, str):
            return Unknown(problem)
    assert isinstance(first, date) and isinstance(last, date)
    if first > last:
        return Unknown(
            f"The range starts on {first.isoformat()}, after it ends on {last.isoformat()}: "
            "put the earlier date first."
        )
    if last - first > timedelta(days=EXPORT_DAYS):
        return Unknown("At most ten years at once: give a shorter range.")
    return Export(first, last)


def _listing(words: list[str], provider_named: Callable[[str], str | None]) -> Subcommand:
    """Status words add up (`paid void`), `all` takes every status wherever it stands,
    and `overdue` narrows to open invoices past their due day."""
    said: dict[str, frozenset[InvoiceStatus]] = {}
    overdue = False
    providers: list[str] = []
    for word in words:
        key = word.casefold()
        if key == "overdue":
            overdue = True
        elif key in _STATUS_WORDS:
            said[key] = _STATUS_WORDS[key]
        elif (name := provider_named(word)) is not None:
            providers.append(name)
        else:
            return Unknown(f"I don't know `{escape(word)}`.")
    statuses = frozenset({InvoiceStatus.OPEN})
    if said:
        statuses = frozenset() if "all" in said else frozenset().union(*said.values())
    if overdue:
        others = [word for word, kind in said.items() if kind and InvoiceStatus.OPEN not in kind]
        if others:
            return Unknown(
                f"Overdue invoices are unpaid ones, so `overdue` cannot go with `{others[0]}`: "
                "type one or the other."
            )
        statuses = frozenset({InvoiceStatus.OPEN})
    return ListInvoices(
        statuses=statuses,
        overdue_only=overdue,
        providers=tuple(dict.fromkeys(providers)),
    )


NEW_LINE = "/invoices new"
"""Help's line for creating invoices; `help_lines` names a provider that can, or drops it."""

PROVIDER = "{provider}"
"""Where help names a provider; `help_lines` puts one installed here in its place."""
DRAFTS_LINE = "/invoices drafts"

HELP_LINES = (
    ("/invoices", "open invoices at every connected provider, overdue first"),
    ("/invoices all", "every invoice, whatever its status (`paid`, `overdue` likewise)"),
    (
        f"/invoices {PROVIDER}",
        f"only one provider's invoices (combine: `/invoices paid {PROVIDER}`)",
    ),
    ("/invoices search server", "invoices whose number, description or customer matches"),
    ("/invoices pay INV-24-0101", "straight to paying one invoice"),
    ("/invoices status", "which providers are connected and whether they answer"),
    ("/invoices history INV-24-0101", "one invoice's story: requests, payments, reminders"),
    ("/invoices export 2026-11", "settlements and the audit log as CSV files (or two dates)"),
    (f"/invoices connect {PROVIDER}", "connect a provider (admins)"),
    ("/invoices billing", "announce paid invoices in this channel (admins)"),
    ("/invoices people", "choose who may pay and who administers (admins)"),
    (NEW_LINE, "create an invoice"),
    (DRAFTS_LINE, "invoices saved as drafts; one to a customer has Send by e-mail"),
    ("/invoices settings", "who must approve which payments (admins)"),
    ("/invoices help", "this list"),
)
OPERATOR_SETS = frozenset({"/invoices billing", "/invoices people"})
"""Lines left out of help where one bot token serves one workspace: its operator sets
the billing channel and who may pay, and these commands only say so."""


def help_lines(
    *,
    oauth: bool,
    creating: Sequence[str],
    installed: Sequence[str],
    drafts: bool,
) -> list[tuple[str, str]]:
    """Help as this install answers it: `new` names a provider that can create invoices
    (all of them if several), and is left out where none is installed; examples name the
    first of the `installed` providers (and are left out without one); `drafts` is offered
    only where an installed provider keeps drafts. An example naming a provider not
    installed here would only be refused."""
    lines: list[tuple[str, str]] = []
    for command, meaning in HELP_LINES:
        if command in OPERATOR_SETS and not oauth:
            continue
        if PROVIDER in command:
            if not installed:
                continue
            command = command.replace(PROVIDER, installed[0])
            meaning = meaning.replace(PROVIDER, installed[0])
        if command == DRAFTS_LINE and not drafts:
            continue
        if command == NEW_LINE:
            if not creating:
                continue
            command = f"{NEW_LINE} {creating[0]}"
            if len(creating) > 1:
                meaning += " (" + ", ".join(f"`{name}`" for name in creating) + ")"
        lines.append((command, meaning))
    return lines
