"""Sample accounts for the sandbox: one of every case the plugin must handle.

Dates are relative to `now` so "overdue" stays overdue whenever the demo runs.
`generate_invoices` makes as many ordinary invoices as a load test wants.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from plugins.i3d import wire

DAY = 86_400
SIGNS = {"EUR": "€", "USD": "$", "GBP": "£"}


@dataclass(frozen=True)
class SandboxMethod:
    """A payment method and the currencies it works for (empty: all of them)."""

    method: wire.PaymentMethod
    currencies: frozenset[str] = field(default_factory=frozenset)

    def offered_for(self, currency: str) -> bool:
        return self.method.isSelectable == 1 and (
            not self.currencies or currency in self.currencies
        )


def invoice(
    id: str,
    number: str,
    description: str,
    cents_incl: int,
    cents_excl: int,
    *,
    created: int,
    due: int,
    currency: str = "EUR",
    paid_at: int = 0,
    credit: bool = False,
) -> wire.Invoice:
    """An invoice as i3D sends it: paid ones have paymentStatus 1 and nothing remaining."""
    return wire.Invoice(
        id=id,
        creationDate=created,
        dueDate=due,
        invoiceNumber=number,
        invoiceHash=hashlib.sha256(f"i3d-sandbox:{id}".encode()).hexdigest()[:32],
        description=description,
        currency=currency,
        currencySign=SIGNS.get(currency, currency),
        amountIncVAT=str(cents_incl),
        amountExclVAT=str(cents_excl),
        paymentStatus=1 if paid_at else 0,
        paymentDate=paid_at,
        isCredit=1 if credit else 0,
        remainingAmount="0" if paid_at else str(cents_incl),
        totalPaidAmount=str(cents_incl) if paid_at else "0",
    )


def sample_invoices(now: int) -> list[wire.Invoice]:
    def ago(days: int) -> int:
        return now - days * DAY

    return [
        invoice(
            "410001",
            "INV-24-0101",
            "Dedicated server AMS-01, May",
            12_100,
            10_000,
            created=ago(5),
            due=ago(-25),
        ),
        invoice(
            "410002",
            "INV-24-0087",
            "Dedicated server AMS-01, April",
            36_300,
            30_000,
            created=ago(40),
            due=ago(10),
        ),
        invoice(
            "410003",
            "INV-24-0055",
            "Bandwidth overage, March",
            4_840,
            4_000,
            created=ago(70),
            due=ago(40),
            paid_at=ago(45),
        ),
        invoice(
            "410004",
            "CRN-24-0003",
            "Credit for network outage, April",
            2_420,
            2_000,
            created=ago(20),
            due=ago(-10),
            credit=True,
        ),
        invoice(
            "410005",
            "INV-24-0102",
            "Game server fleet US-East, May",
            123_456,
            102_030,
            created=ago(4),
            due=ago(-26),
            currency="USD",
        ),
        invoice(
            "410006",
            "INV-24-0103",
            "DDoS protection add-on, May",
            999,
            999,
            created=ago(4),
            due=ago(-26),
            currency="USD",
        ),
        invoice(
            "410007",
            "INV-24-0104",
            "Colocation rack AMS-02, June",
            145_200,
            120_000,
            created=ago(3),
            due=ago(-20),
        ),
        invoice(
            "410008",
            "INV-24-0105",
            "Server hardware for AMS-02",
            605_000,
            500_000,
            created=ago(2),
            due=ago(-28),
        ),
    ]


def sample_methods() -> list[SandboxMethod]:
    banks = [
        ("ABNANL2A", "ABN AMRO"),
        ("INGBNL2A", "ING"),
        ("RABONL2U", "Rabobank"),
        ("SNSBNL2A", "SNS Bank"),
    ]
    issuers = [wire.PaymentMethodIssuers(id=bic, name=name) for bic, name in banks]
    return [
        SandboxMethod(
            wire.PaymentMethod(
                id=10, name="iDEAL", isSelectable=1, paymentProviderId=2, issuers=issuers
            ),
            frozenset({"EUR"}),
        ),
        SandboxMethod(
            wire.PaymentMethod(id=20, name="Credit card", isSelectable=1, paymentProviderId=3)
        ),
        SandboxMethod(
            wire.PaymentMethod(id=30, name="PayPal", isSelectable=1, paymentProviderId=4)
        ),
        SandboxMethod(
            wire.PaymentMethod(id=40, name="SEPA Direct Debit", isSelectable=0, paymentProviderId=1)
        ),
    ]


def generate_invoices(
    count: int, *, now: int, first_id: int = 900_000, currency: str = "EUR"
) -> list[wire.Invoice]:
    """`count` deterministic invoices; every fifth is paid, every seventh overdue."""
    made = []
    for n in range(count):
        excl = 1_000 + (n * 7_919) % 90_000
        due = now - 5 * DAY if n % 7 == 3 else now + 20 * DAY
        made.append(
            invoice(
                str(first_id + n),
                f"LOAD-{first_id + n}",
                f"Load-test invoice {n + 1}",
                excl * 121 // 100,
                excl,
                created=now - 30 * DAY,
                due=due,
                currency=currency,
                paid_at=now - DAY if n % 5 == 4 else 0,
            )
        )
    return made
