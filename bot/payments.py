"""The payment state machine, and the one place a payment becomes paid.

No Slack in here: the Slack layer and the web routes call these functions, and plugins
hear about a confirmed payment through the `payment_confirmed` hook, called inside the
transaction that records it, so a confirmation is never lost and never sent twice.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pluggy

from bot.models import Payment, PaymentState
from bot.store import Store

log = logging.getLogger(__name__)

S = PaymentState

# Paid is reachable from every unpaid state: when the provider says the money landed,
# that is recorded even if we had given up on the payment (late confirmation).
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    S.CREATED: frozenset({S.LINK_ISSUED, S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.LINK_ISSUED: frozenset({S.OPENED, S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.OPENED: frozenset({S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.FAILED: frozenset({S.PAID}),
    S.CANCELLED: frozenset({S.PAID}),
    S.EXPIRED: frozenset({S.PAID}),
    S.PAID: frozenset(),
}

# States the poller and the landing still ask the provider about.
UNSETTLED = frozenset({S.CREATED, S.LINK_ISSUED, S.OPENED})

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
    """A pay link that cannot be used; the message is shown to the payer."""


@dataclass
class Payments:
    store: Store
    pm: pluggy.PluginManager
    token_lifetime: float = TOKEN_LIFETIME
    after_confirmed: list[Callable[[Payment], None]] = field(default_factory=list)
    """Called after the paid transition commits, e.g. to wake the outbox sender."""

    def record(self, draft: Payment, lifetime: float | None = None) -> tuple[Payment, str]:
        """Store a new payment in `created` and mint its pay-link token (returned once)."""
        token = secrets.token_urlsafe(32)
        payment = draft.model_copy(
            update={
                "id": draft.id or uuid.uuid4().hex,
                "state": S.CREATED,
                "created_at": datetime.now(UTC),
            }
        )
        self.store.add_payment(
            payment,
            token_hash=hash_token(token),
            token_expires_at=time.time() + (self.token_lifetime if lifetime is None else lifetime),
        )
        return payment, token

    def move(self, payment_id: str, target: PaymentState, **fields: object) -> bool:
        """Apply one transition; False when it is illegal from where the payment is now.

        A duplicate (the same transition twice) therefore changes nothing the second time.
        """
        if target is S.PAID:
            return self.confirm_paid(payment_id)
        moved = self.store.compare_and_set_state(payment_id, sources_of(target), target, **fields)
        if moved:
            self.store.audit(f"payment.{target.value}", subject=payment_id, **fields)
        return moved

    def confirm_paid(self, payment_id: str, paid_at: datetime | None = None) -> bool:
        """Mark paid and tell the plugins, atomically; True only the first time."""
        when = (paid_at or datetime.now(UTC)).isoformat(timespec="seconds")
        with self.store.transaction():
            if not self.store.compare_and_set_state(
                payment_id, sources_of(S.PAID), S.PAID, paid_at=when
            ):
                return False
            payment = self.store.payment(payment_id)
            assert payment is not None
            self.store.audit(
                "payment.paid",
                team_id=payment.team_id,
                subject=payment.id,
                amount=payment.amount.format(),
                invoices=list(payment.invoice_numbers),
            )
            for impl in self.pm.hook.payment_confirmed.get_hookimpls():
                try:
                    with self.store.transaction():
                        impl.function(payment=payment, outbox=self.store)
                except Exception:
                    log.exception("plugin %s failed in payment_confirmed", impl.plugin_name)
        for callback in self.after_confirmed:
            callback(payment)
        return True

    def redeem(self, token: str) -> Payment:
        """The payment a pay link belongs to, if the link may still be used."""
        found = self.store.payment_by_token(hash_token(token))
        if found is None:
            raise TokenProblem("This payment link is not valid. Ask for a new one in Slack.")
        payment, expires_at = found
        if payment.state is S.PAID:
            raise TokenProblem("This invoice has already been paid with this link.")
        if payment.state not in UNSETTLED:
            raise TokenProblem(
                f"This payment link was {payment.state.value.replace('_', ' ')}. "
                "Ask for a new one in Slack."
            )
        if time.time() > expires_at:
            self.move(payment.id, S.EXPIRED)
            raise TokenProblem("This payment link has expired. Ask for a new one in Slack.")
        return payment
