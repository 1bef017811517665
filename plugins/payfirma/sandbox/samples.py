"""A sample merchant account: one invoice for every case the plugin must handle.

Open invoices come with odd and even whole-dollar totals, so the payment page can be
shown approving (odd) and declining (even); there is a paid one, a draft, CAD and
USD, and two invoices for one customer. Dates are relative to `now` (unix seconds).
`generate_invoices` makes as many ordinary invoices as a load test wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from plugins.payfirma import wire
from plugins.payfirma.sandbox.billing import MERCHANT, priced

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str
    company: str


NORTHWIND = Customer(5001, "Dana", "Whitfield", "dana@northwind.example", "Northwind Traders")
MAPLE = Customer(5002, "Jordan", "Lee", "jordan@mapleleaf.example", "Maple Leaf Bakery")
HARBOUR = Customer(5003, "Sam", "Okafor", "sam@harbourlabs.example", "Harbour Labs Inc.")

#: (description, quantity, unit price, tax1 percent, tax2 percent)
Line = tuple[str, str, str, str, str]


def invoice(
    invoice_id: int,
    customer: Customer,
    lines: list[Line],
    *,
    now_ms: int,
    age_days: int,
    due_in_days: int,
    currency: str = "CAD",
    status: str = "UNPAID",
    description: str = "",
) -> wire.Invoice:
    """An invoice as Payfirma's retrieve call shows it, totals computed like the sandbox's."""
    items = [
        wire.Item(
            item=name,
            quantity=Decimal(quantity),
            price=Decimal(price),
            tax1=wire.Tax(percentile=True, amount=Decimal(tax1)) if tax1 != "0" else None,
            tax2=wire.Tax(percentile=True, amount=Decimal(tax2)) if tax2 != "0" else None,
        )
        for name, quantity, price, tax1, tax2 in lines
    ]
    created = now_ms - age_days * DAY_MS
    return wire.Invoice.model_validate(
        {
            **MERCHANT,
            "invoice_id": invoice_id,
            "status": status,
            "description": description or lines[0][0],
            "created_date": created,
            "due_date": created + (age_days + due_in_days) * DAY_MS,
            "currency": currency,
            "customer_id": customer.id,
            "company": customer.company,
            "recipient_email": customer.email,
            "recipient_first_name": customer.first_name,
            "recipient_last_name": customer.last_name,
            "resend_invoice": status != "DRAFT",
            **priced(items, "line"),
        }
    )


def sample_invoices(now: int) -> list[wire.Invoice]:
    """212947 and 212950 decline (even dollars); 212948 and 212949 are approved (odd)."""
    ms = now * 1000
    return [
        # Shaped like the documented retrieve example: 10 x $10 + 0.5 % + 2 % = $102.50.
        invoice(
            212947,
            NORTHWIND,
            [("Consulting hours", "10", "10", "0.5", "2")],
            now_ms=ms,
            age_days=3,
            due_in_days=27,
        ),
        invoice(
            212948,
            MAPLE,
            [("Pastry boxes", "3", "17.50", "10", "0")],
            now_ms=ms,
            age_days=40,
            due_in_days=-10,
            description="Pastry boxes, March",
        ),
        invoice(
            212949,
            HARBOUR,
            [("Support plan", "1", "299.00", "7.5", "0")],
            now_ms=ms,
            age_days=2,
            due_in_days=28,
            currency="USD",
        ),
        invoice(
            212950,
            NORTHWIND,
            [("Ten cents", "1", "0.10", "0", "0"), ("Twenty cents", "1", "0.20", "0", "0")],
            now_ms=ms,
            age_days=1,
            due_in_days=14,
            currency="USD",
            description="Small change test",
        ),
        invoice(
            212951,
            MAPLE,
            [("Delivery", "2", "22.50", "0", "0")],
            now_ms=ms,
            age_days=60,
            due_in_days=30,
            status="PAID",
        ),
        invoice(
            212952,
            HARBOUR,
            [("Consulting", "2.5", "35.20", "0", "0")],
            now_ms=ms,
            age_days=0,
            due_in_days=30,
            currency="USD",
            status="DRAFT",
        ),
    ]


def generate_invoices(
    count: int, *, now: int, first_id: int = 300_000, currency: str = "CAD"
) -> list[wire.Invoice]:
    """`count` deterministic invoices; every fifth is paid, every seventh overdue."""
    people = (NORTHWIND, MAPLE, HARBOUR)
    made = []
    for n in range(count):
        price = f"{10 + (n * 7_919) % 900}.{n % 100:02d}"
        made.append(
            invoice(
                first_id + n,
                people[n % 3],
                [(f"Load-test service {n + 1}", str(1 + n % 4), price, "5", "0")],
                now_ms=now * 1000,
                age_days=30,
                due_in_days=-5 if n % 7 == 3 else 20,
                currency=currency,
                status="PAID" if n % 5 == 4 else "UNPAID",
            )
        )
    return made
