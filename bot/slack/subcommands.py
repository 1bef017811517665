"""What a person typed after `/invoices`, parsed into one request (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.models import InvoiceStatus
from bot.slack.blocks.kit import escape

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
class Help:
    pass


@dataclass(frozen=True)
class Unknown:
    problem: str


Subcommand = ListInvoices | PayInvoice | Connect | NewInvoice | Status | Settings | Help | Unknown


def parse(text: str, provider_named: Callable[[str], str | None]) -> Subcommand:
    """`provider_named` maps a word to a provider's name, or None if it names none."""
    words = text.split()
    if not words:
        return ListInvoices()
    head, rest = words[0].casefold(), words[1:]
    if head == "help":
        return Help()
    if head == "status":
        return Status() if not rest else Unknown("`status` takes nothing after it.")
    if head == "settings":
        return Settings() if not rest else Unknown("`settings` takes nothing after it.")
    if head == "search":
        if not rest:
            return Unknown("Say what to search for, e.g. `/invoices search hosting`.")
        return ListInvoices(statuses=frozenset(), text=" ".join(rest))
    if head == "pay":
        if len(rest) != 1:
            return Unknown("Say which invoice to pay, e.g. `/invoices pay INV-24-0101`.")
        return PayInvoice(rest[0])
    if head in ("connect", "new"):
        if len(rest) != 1:
            return Unknown(f"Say which provider, e.g. `/invoices {escape(head)} i3d`.")
        name = provider_named(rest[0])
        if name is None:
            return Unknown(f"There is no provider called `{escape(rest[0])}`.")
        return Connect(name) if head == "connect" else NewInvoice(name)
    return _listing(words, provider_named)


def _listing(words: list[str], provider_named: Callable[[str], str | None]) -> Subcommand:
    statuses: frozenset[InvoiceStatus] | None = None
    overdue = False
    providers: list[str] = []
    for word in words:
        key = word.casefold()
        if key == "overdue":
            overdue = True
        elif key in _STATUS_WORDS:
            statuses = _STATUS_WORDS[key] | (statuses or frozenset())
            if key == "all":
                statuses = frozenset()
        elif (name := provider_named(word)) is not None:
            providers.append(name)
        else:
            return Unknown(f"I don't know `{escape(word)}`.")
    if overdue:
        statuses = frozenset({InvoiceStatus.OPEN})
    return ListInvoices(
        statuses=frozenset({InvoiceStatus.OPEN}) if statuses is None else statuses,
        overdue_only=overdue,
        providers=tuple(dict.fromkeys(providers)),
    )


HELP_LINES = (
    ("/invoices", "open invoices at every connected provider, overdue first"),
    ("/invoices all", "every invoice, whatever its status (`paid`, `overdue` likewise)"),
    ("/invoices i3d", "only one provider's invoices (combine: `/invoices paid i3d`)"),
    ("/invoices search hosting", "invoices whose number or description matches"),
    ("/invoices pay INV-24-0101", "straight to paying one invoice"),
    ("/invoices status", "which providers are connected and whether they answer"),
    ("/invoices connect i3d", "connect a provider (admins)"),
    ("/invoices new payfirma", "create an invoice, for providers that can"),
    ("/invoices settings", "who must approve which payments (admins)"),
    ("/invoices help", "this list"),
)
