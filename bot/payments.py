"""The payment-attempt state machine: which moves are legal, and pay-link tokens.

No Slack in here. An attempt (a link, a charge, an e-mailed invoice) is evidence; which
attempt an invoice's payment is credited to is decided in `bot.settlement`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pluggy

from bot.models import Payment, PaymentState
from bot.store import Store

log = logging.getLogger(__name__)

S = PaymentState

# PAID is reached only through `bot.settlement`, which decides which attempt the
# provider's evidence credits: from a live state, from FAILED/EXPIRED when the
# provider ties the money to that very attempt, or from a FAILED/CANCELLED end still
# watched because it rested on ambiguous evidence. SUPERSEDED is final.
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    S.CREATED: frozenset(
        {S.LINK_ISSUED, S.UNKNOWN, S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED, S.SUPERSEDED}
    ),
    S.LINK_ISSUED: frozenset({S.OPENED, S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED, S.SUPERSEDED}),
    S.OPENED: frozenset({S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED, S.SUPERSEDED}),
    S.UNKNOWN: frozenset({S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED, S.SUPERSEDED}),
    S.FAILED: frozenset({S.PAID}),
    S.EXPIRED: frozenset({S.PAID}),
    S.CANCELLED: frozenset({S.PAID}),
    S.SUPERSEDED: frozenset(),
    S.PAID: frozenset(),
}

LIVE = frozenset({S.CREATED, S.LINK_ISSUED, S.OPENED, S.UNKNOWN})
"""Attempts whose outcome can still change; everything else is final."""

UNSETTLED = frozenset({S.CREATED, S.LINK_ISSUED, S.OPENED})
"""Attempts whose pay link may still be used."""

AUDITED_FIELDS = frozenset({"last_error", "opened_at"})

TOKEN_LIFETIME = 30 * 60.0
"""A payer clicking through from Slack: long enough to pay, short enough to be stale soon."""

CUSTOMER_LINK_LIFETIME = 7 * 24 * 3600.0
"""A link the team sends to a customer, who may pay days later."""


def can_move(source: PaymentState, target: PaymentState) -> bool:
    return target in TRANSITIONS[source]


def sources_of(target: PaymentState) -> set[PaymentState]:
    return {state for state, targets in TRANSITIONS.items() if target in targets}


def hash_token(token: str) -> str:
    """Only the hash is stored: a database leak must not leak live payment links."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenProblem(Exception):
    """A pay link that cannot be used; the message is shown to the payer.

    `payment` is the attempt the link belonged to, when the link was one of ours: a page
    words the next step for whoever holds it (a customer is not in Slack)."""

    def __init__(self, message: str, payment: Payment | None = None) -> None:
        super().__init__(message)
        self.payment = payment


@dataclass
class Payments:
    store: Store
    pm: pluggy.PluginManager
    token_lifetime: float = TOKEN_LIFETIME

    def record(
        self,
        draft: Payment,
        lifetime: float | None = None,
        *,
        keep_token: bool = False,
        at: datetime | None = None,
    ) -> tuple[Payment, str]:
        """Store a new attempt in `created` and mint its pay-link token (returned once).

        Only the token's hash is stored; with `keep_token` (a link its holder may need
        again) it is also kept encrypted with the secret key. `at`: when it started, if
        a check made for that moment (its approval) must hold for the record too.
        """
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC) if at is None else at
        payment = draft.model_copy(
            update={
                "id": draft.id or uuid.uuid4().hex,
                "state": S.CREATED,
                "created_at": now,
                "token_hash": hash_token(token),
            }
        )
        self.store.add_payment(
            payment,
            token_hash=hash_token(token),
            token_expires_at=now.timestamp()
            + (self.token_lifetime if lifetime is None else lifetime),
            sealed_token=self.store.seal_text(token) if keep_token else None,
        )
        return payment, token

    def move(self, payment_id: str, target: PaymentState, **fields: object) -> bool:
        """Apply one transition; False when it is illegal from where the payment is now.

        A duplicate (the same transition twice) therefore changes nothing the second time.
        PAID is not a plain move: `bot.settlement.Settlement.settle` makes it.
        """
        if target is S.PAID:
            raise ValueError("a payment becomes paid only by settling its invoices")
        return self.force(payment_id, sources_of(target), target, **fields)

    def force(
        self, payment_id: str, sources: set[PaymentState], target: PaymentState, **fields: object
    ) -> bool:
        """Compare-and-set from `sources` (a subset of the legal ones), with an audit row."""
        legal = sources & sources_of(target)
        with self.store.transaction():
            moved = self.store.compare_and_set_state(payment_id, legal, target, **fields)
            if moved:
                detail: dict[str, Any] = {k: v for k, v in fields.items() if k in AUDITED_FIELDS}
                self.store.audit(f"payment.{target.value}", subject=payment_id, **detail)
        return moved

    def redeem(self, token: str) -> Payment:
        """The payment a pay link belongs to, if the link may still be used."""
        found = self.store.payment_by_token(hash_token(token))
        if found is None:
            raise TokenProblem("This payment link is not valid. Ask for a new one in Slack.")
        payment, expires_at = found
        if payment.state is S.PAID:
            raise TokenProblem("This invoice has already been paid with this link.", payment)
        if payment.state is S.SUPERSEDED and payment.paid_at:
            raise TokenProblem(
                "This invoice had already been recorded paid through another payment, and "
                "a second payment was made through this link: it is being checked, to "
                "refund a second payment.",
                payment,
            )
        if payment.state is S.SUPERSEDED:
            raise TokenProblem(
                "This invoice has been paid through another payment, so this link is no "
                "longer needed. Nothing was charged through it.",
                payment,
            )
        if payment.state not in UNSETTLED:
            ended = {S.FAILED: "failed", S.CANCELLED: "was cancelled"}.get(payment.state)
            raise TokenProblem(
                f"This payment {ended or 'link has expired'}. Ask for a new one in Slack.",
                payment,
            )
        if time.time() > expires_at:
            # A page already opened (or a charged card) may still be paid: the poller
            # ends it after its grace window, not a reload of the old link.
            if not payment.could_have_taken_money:
                self.force(payment.id, {S.CREATED, S.LINK_ISSUED}, S.EXPIRED)
            raise TokenProblem(
                "This payment link has expired. Ask for a new one in Slack.",
                self.store.payment(payment.id) or payment,
            )
        return payment


def still_unpaid(
    payment: Payment, paid_ids: Collection[str] | None
) -> tuple[list[str], list[str]] | None:
    """(numbers paid, numbers left) when a settlement of `paid_ids` covers only some of
    `payment`'s invoices; None when it covers all of them, or none is known."""
    if not paid_ids:
        return None
    pairs = list(zip(payment.invoice_ids, payment.invoice_numbers, strict=False))
    paid = [number for key, number in pairs if key in paid_ids]
    left = [number for key, number in pairs if key not in paid_ids]
    return (paid, left) if paid and left else None
