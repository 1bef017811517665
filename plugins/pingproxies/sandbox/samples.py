"""A sample PingProxies account for the sandbox: one of every case the plugin must handle.

Dates are relative to `now` so "overdue" stays overdue whenever the demo runs. Amounts
are USD cents. `generate_invoices` makes as many ordinary invoices as a load test wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from plugins.pingproxies import wire

DAY = 86_400


@dataclass(frozen=True)
class SavedCard:
    """A card stored with Stripe; choosing it charges at once, or is always declined."""

    id: str
    brand: str
    last4: str
    declines: bool = False
    decline_message: str = "Your card was declined."

    def option(self) -> wire.PaymentOption:
        return wire.PaymentOption(
            payment_method_id=self.id,
            payment_method_type="saved_card",
            payment_method_name=f"{self.brand.title()} ending {self.last4}",
            payment_platform="stripe",
            payment_method_card_brand=self.brand,
            payment_method_card_last4=self.last4,
        )


@dataclass(frozen=True)
class RedirectMethod:
    """A payment platform the payer is sent to; some have a minimum invoice size."""

    id: str
    name: str
    platform: str
    minimum_cents: int = 0

    def refusal(self, cents: int) -> str | None:
        if cents >= self.minimum_cents:
            return None
        dollars, cents = divmod(self.minimum_cents, 100)
        return f"{self.platform.title()} minimum is ${dollars}.{cents:02d}"

    def option(self) -> wire.PaymentOption:
        return wire.PaymentOption(
            payment_method_id=self.id,
            payment_method_type="redirect",
            payment_method_name=self.name,
            payment_platform=self.platform,
        )


def stamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def invoice(
    id: str,
    number: str,
    description: str,
    cents: int,
    *,
    created: int,
    due: int,
    status: str = "open",
    paid_at: int | None = None,
    subtotal: int | None = None,
    currency: str = "usd",
) -> wire.Invoice:
    """An invoice as we expect PingProxies to send it; paid ones have nothing remaining."""
    paid = status == "paid"
    return wire.Invoice(
        invoice_id=id,
        invoice_number=number,
        invoice_status=status,
        invoice_currency=currency,
        invoice_total=cents,
        invoice_subtotal=cents if subtotal is None else subtotal,
        invoice_amount_paid=cents if paid else 0,
        invoice_amount_remaining=0 if paid else cents,
        invoice_description=description,
        invoice_creation_datetime=stamp(created),
        invoice_due_datetime=stamp(due),
        invoice_paid_datetime=stamp(paid_at or created) if paid else None,
        invoice_url=f"https://invoice.stripe.com/i/acct_sandbox/{id}",
    )


def sample_invoices(now: int) -> list[wire.Invoice]:
    def ago(days: int) -> int:
        return now - days * DAY

    return [
        invoice(
            "inv_sbx0101",
            "PING-0101",
            "Residential proxies 50 GB, June",
            12_900,
            created=ago(5),
            due=ago(-25),
        ),
        invoice(
            "inv_sbx0087",
            "PING-0087",
            "ISP proxies x100, May",
            24_000,
            created=ago(35),
            due=ago(5),
        ),
        invoice(
            "inv_sbx0064",
            "PING-0064",
            "Datacenter proxies x50, April",
            7_550,
            created=ago(65),
            due=ago(35),
            status="paid",
            paid_at=ago(40),
        ),
        invoice(
            "inv_sbx0050",
            "PING-0050",
            "Mobile proxies, March (cancelled order)",
            3_000,
            created=ago(90),
            due=ago(60),
            status="void",
        ),
        invoice(
            "inv_sbx0110",
            "PING-0110",
            "Residential proxies 10 GB, July (not finalised)",
            4_500,
            created=ago(1),
            due=ago(-29),
            status="draft",
        ),
        invoice(
            "inv_sbx0102",
            "PING-0102",
            "Residential proxies 5 GB top-up, June",
            1_999,
            created=ago(4),
            due=ago(-26),
            subtotal=1_652,
        ),
    ]


def sample_cards() -> list[SavedCard]:
    return [
        SavedCard("pm_sbxVisa4242", "visa", "4242"),
        SavedCard("pm_sbxVisa0002", "visa", "0002", declines=True),
    ]


def sample_methods() -> list[RedirectMethod]:
    return [
        RedirectMethod("stripe", "Card (Stripe Checkout)", "stripe"),
        RedirectMethod("bitpay", "Crypto (Bitpay)", "bitpay"),
        RedirectMethod("coinpayments", "Crypto (Coinpayments)", "coinpayments", 5_000),
    ]


def generate_invoices(
    count: int, *, now: int, first: int = 1000, currency: str = "usd"
) -> list[wire.Invoice]:
    """`count` deterministic invoices; every fifth is paid, every seventh overdue."""
    made = []
    for n in range(count):
        key = first + n
        cents = 500 + (n * 7_919) % 90_000
        paid = n % 5 == 4
        made.append(
            invoice(
                f"inv_load{key:06d}",
                f"LOAD-{key}",
                f"Load-test invoice {n + 1}",
                cents,
                created=now - 30 * DAY + n,
                due=now - 5 * DAY if n % 7 == 3 else now + 20 * DAY,
                status="paid" if paid else "open",
                paid_at=now - DAY if paid else None,
                currency=currency,
            )
        )
    return made
