"""Approvals: which payments need someone else's yes first, and what that yes is bound to.

No Slack in here. A workspace's policy is a list of brackets (per currency, optionally
per provider): from an amount up, a payment needs 0, 1 or 2 approvals from named people
or user groups. An approval is bound to one provider, the exact invoices and the exact
total (credit notes netted), and it expires: a changed amount needs a new approval.
Every decision is a compare-and-set in the store, so a double click counts once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel

from bot.approvals_policy import Policy, approvals_phrase
from bot.approvals_store import ApprovalStore, Row
from bot.models import Payment, PaymentState
from bot.money import Money
from bot.store import Store

log = logging.getLogger(__name__)

EXPIRY_RETRY = 300.0
"""The most seconds before a request whose expiry failed is tried again: it waits as
long again as it has been overdue, so a passing failure costs a second or two, and one
that lasts is tried less and less often."""
EXPIRY_BATCHES = 10
"""Batches one sweep reads at most while some it read fail and are set aside."""

POLICY_KEY = "approvals"
"""The team setting that holds a saved policy (it overrides the environment's seed)."""


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Outcome(StrEnum):
    """What one click on Approve or Reject did."""

    COUNTED = "counted"
    """An approval counted; more are needed."""
    APPROVED = "approved"
    REJECTED = "rejected"
    REPEATED = "repeated"
    """This person had already decided; nothing changed."""
    CLOSED = "closed"
    """The request was already approved, rejected or expired."""
    EXPIRED = "expired"
    """The request had run out of time; it is expired now."""
    OWN = "own"
    """The requester cannot decide their own request."""
    NOT_APPROVER = "not_approver"


@dataclass(frozen=True)
class Binding:
    """What an approval is for: one provider, these invoices, this exact total."""

    provider: str
    invoice_ids: tuple[str, ...]
    amount: Money

    @classmethod
    def of(cls, provider: str, invoice_ids: list[str] | tuple[str, ...], amount: Money) -> Binding:
        return cls(provider, tuple(sorted(set(invoice_ids))), amount)

    @property
    def invoices_key(self) -> str:
        return f"{self.provider}|{','.join(self.invoice_ids)}"

    @property
    def key(self) -> str:
        return f"{self.invoices_key}|{self.amount.amount}{self.amount.currency}"


class Request(BaseModel):
    """One request for approval, with the decisions so far."""

    id: str
    team_id: str
    provider: str
    invoice_ids: tuple[str, ...]
    invoice_numbers: tuple[str, ...]
    amount: Money
    requester: str
    note: str = ""
    due: str | None = None
    needed: int
    approvers: tuple[str, ...]
    state: State
    created_at: float
    expires_at: float
    decided_at: float | None = None
    reason: str | None = None
    rejected_by: str | None = None
    approved_by: tuple[str, ...] = ()
    billing_ts: str | None = None
    """The billing post's ts, for a request posted before the outbox carried that post
    (since, its outbox row holds the ts)."""
    billing_channel: str | None = None
    """Where the billing post is, and so its thread; None before 018."""
    rule: str | None = None
    """The bracket it was asked under, written out (`Bracket.line`); None before 016."""
    netted: str | None = None
    """The credit notes taken off, as the pay menu wrote them (mrkdwn: "€1,452.00 −
    credit CRN-1 €24.20 = €1,427.80"); None when none were, or before 021."""
    credits: tuple[str, ...] = ()
    """The numbers of those credit notes; empty when none were, or before 027."""

    @property
    def binding(self) -> Binding:
        return Binding.of(self.provider, self.invoice_ids, self.amount)

    def waiting(self, now: float) -> bool:
        """Pending and still in time: one whose time ran out reads as expired before
        the sweep marks it so."""
        return self.state is State.PENDING and now < self.expires_at

    def valid(self, now: float) -> bool:
        return self.state is State.APPROVED and now < self.expires_at


class ApprovalNeeded(Exception):
    """A payment that needs an approval it does not have; the message says what to do."""


@dataclass
class Approvals:
    """The workspace's policy and its requests: what the Slack layer and checkout ask."""

    store: Store
    seed: Policy = field(default_factory=Policy)
    after_change: list[Callable[[], None]] = field(default_factory=list)
    """Called after a change queued Slack calls (the outbox sender's wake-up)."""

    @property
    def rows(self) -> ApprovalStore:
        return ApprovalStore(self.store)

    def policy(self, team_id: str) -> Policy:
        saved = self.rows.setting(team_id, POLICY_KEY)
        return Policy.model_validate(saved) if saved is not None else self.seed

    def save_policy(self, team_id: str, policy: Policy, *, user_id: str) -> None:
        self.rows.put_setting(team_id, POLICY_KEY, policy.model_dump(mode="json"), user_id)
        self.store.audit(
            "approvals.policy_saved",
            team_id=team_id,
            user_id=user_id,
            policy=policy.text(),
            hours=policy.hours,
        )

    def latest(self, team_id: str, binding: Binding) -> Request | None:
        """The newest request for these invoices, whatever its amount or state."""
        row = self.rows.latest(team_id, binding.invoices_key)
        return _request(row) if row else None

    def approved(self, team_id: str, binding: Binding, now: float | None = None) -> Request | None:
        """A live approval for exactly this binding, under the rule that applies now."""
        latest = self.latest(team_id, binding)
        moment = time.time() if now is None else now
        if latest and latest.binding == binding and latest.valid(moment):
            return latest if self.holds(team_id, latest) else None
        return None

    def holds(self, team_id: str, request: Request, policy: Policy | None = None) -> bool:
        """An approval counts under the rule it was asked under: once an admin changes
        the bracket that applies (its floor, the approvals it needs or who may give
        them, in any direction), it is asked again. Saving it unchanged changes nothing.
        `policy`: the workspace's, when the caller has read it already (a list)."""
        policy = self.policy(team_id) if policy is None else policy
        bracket = policy.needs(request.provider, request.amount)
        if bracket is None:
            return True
        if request.rule is None:  # asked before rules were kept: its count still binds
            return request.needed >= bracket.needed
        return request.rule == bracket.rule()

    def require(self, team_id: str, binding: Binding, now: float | None = None) -> None:
        """Raise `ApprovalNeeded` unless the payment needs no approval or has a live one
        at `now` (the payment's start, as recorded)."""
        moment = time.time() if now is None else now
        bracket = self.policy(team_id).needs(binding.provider, binding.amount)
        if bracket is None or self.approved(team_id, binding, moment):
            return
        latest = self.latest(team_id, binding)
        if latest and latest.binding == binding and latest.valid(moment):
            raise ApprovalNeeded(
                "The approval settings changed after this payment was approved: payments of "
                f"{bracket.floor.format()} and above now need "
                f"{approvals_phrase(bracket.needed)}. Nothing was paid; open the pay menu "
                "again to request approval."
            )
        raise ApprovalNeeded(
            f"Payments of {bracket.floor.format()} and above need "
            f"{approvals_phrase(bracket.needed)} first, and this one has none that is still "
            "valid. Nothing was paid; open the pay menu again to request approval."
        )

    def open(
        self,
        *,
        team_id: str,
        binding: Binding,
        invoice_numbers: tuple[str, ...],
        requester: str,
        note: str,
        due: str | None,
        needed: int,
        approvers: tuple[str, ...],
        rule: str | None = None,
        netted: str | None = None,
        credits: tuple[str, ...] = (),
    ) -> Request | None:
        """Store a new pending request; None when one for the same payment is pending."""
        now = time.time()
        hours = self.policy(team_id).hours
        request = Request(
            id=uuid.uuid4().hex,
            team_id=team_id,
            provider=binding.provider,
            invoice_ids=binding.invoice_ids,
            invoice_numbers=invoice_numbers,
            amount=binding.amount,
            requester=requester,
            note=note,
            due=due,
            needed=needed,
            approvers=approvers,
            rule=rule,
            netted=netted,
            credits=credits,
            state=State.PENDING,
            created_at=now,
            expires_at=now + hours * 3600,
        )
        if not self.rows.insert(request.model_dump(mode="json"), binding.key, binding.invoices_key):
            return None
        self.store.audit(
            "approval.requested",
            team_id=team_id,
            user_id=requester,
            subject=request.id,
            invoices=list(invoice_numbers),
            amount=binding.amount.format(),
            approvers=list(approvers),
        )
        return request

    def replace_outdated(
        self, team_id: str, binding: Binding, then: Callable[[Request], None] | None = None
    ) -> Request | None:
        """End the pending request for these invoices when it asks another amount than
        `binding` (the amount changed before anyone decided): approving it could pay
        nothing, and it would hold back a request for the amount due now until it
        expired. Expire it when its time ran out and the sweep has not come by yet: the
        lists and the menu read it as expired, so a new request is not refused for it.
        The request ended, whose messages are to be rewritten; else None.
        `then` queues those rewrites in the same transaction: ended but untold, its
        approvers would keep buttons that can no longer count."""
        now = time.time()
        with self.store.claim():
            pending = self.latest(team_id, binding)  # one pending at most: the latest
            if pending is None or pending.state is not State.PENDING:
                return None
            ran_out = not pending.waiting(now)
            if ran_out:
                self.rows.expire(pending.id, State.PENDING, now)
            elif pending.binding != binding:
                reason = f"the amount due is now {binding.amount.format()}"
                self.rows.move(
                    pending.id, State.PENDING, State.EXPIRED, decided_at=now, reason=reason
                )
            else:
                return None
            ended = self.get(pending.id)
            if then is not None and ended is not None:
                then(ended)
        if ran_out:
            self.store.audit(
                "approval.expired", team_id=team_id, subject=pending.id, was=State.PENDING.value
            )
        else:
            self.store.audit(
                "approval.outdated",
                team_id=team_id,
                subject=pending.id,
                amount=pending.amount.format(),
                now_due=binding.amount.format(),
            )
        return ended

    def behind(self, payment: Payment) -> Request | None:
        """The approval `payment` was started under: exactly its invoices and total,
        approved before it began."""
        binding = Binding.of(payment.provider, payment.invoice_ids, payment.amount)
        moment = payment.created_at.timestamp()
        row = self.rows.approved_before(payment.team_id, binding.key, moment)
        return _request(row) if row else None

    def credits_used(self, request: Request) -> tuple[str, ...]:
        """The credit notes `request`'s amount took off that a payment of other invoices
        through invoicebot has since used: the provider nets them no more, so the amount
        due now is another than the request's."""
        used = []
        for number in request.credits:
            for payment in self.store.payments_crediting(request.team_id, number):
                when = max(payment.created_at, payment.paid_at or payment.created_at)
                if (
                    payment.provider == request.provider
                    and payment.state is PaymentState.PAID
                    and not set(payment.invoice_ids) & set(request.invoice_ids)
                    and when.timestamp() > request.created_at
                ):
                    used.append(number)
                    break
        return tuple(used)

    def waiting_for(self, team_id: str, user_id: str) -> list[Request]:
        """Pending requests this person may decide or made, newest first; not those
        whose time ran out."""
        return [_request(row) for row in self.rows.for_user(team_id, user_id, time.time())]

    def printed_number(self, team_id: str, number: str) -> str:
        """`number` as the requests for approval print it (it may be typed in any case)."""
        return self.rows.printed_number(team_id, number)

    def asked(self, team_id: str, user_id: str, number: str) -> bool:
        """Whether this person was asked to approve paying the invoice printed `number`:
        such an approver may read its history without being a payer."""
        return self.rows.asked(team_id, user_id, number)

    def get(self, request_id: str) -> Request | None:
        row = self.rows.get(request_id)
        return _request(row) if row else None

    def decide(
        self,
        request_id: str,
        team_id: str,
        user_id: str,
        *,
        approve: bool,
        reason: str = "",
        then: Callable[[Outcome, Request], None] | None = None,
    ) -> tuple[Outcome, Request | None]:
        """Count one person's decision, once, in one write-locked transaction.

        Its time is read once the lock is held: a click kept waiting while another
        process held it must not count on a request that ran out meanwhile. `then`
        queues what the decision tells, in the same transaction: a stop in between
        would leave it counted (a click again only "already decided") and told no one."""
        rows = self.rows
        with self.store.claim():
            now = time.time()
            request = self.get(request_id)
            outcome = judge(request, team_id, user_id, now)
            if request is not None and outcome is None:
                if not rows.add_decision(request_id, user_id, approve=approve, reason=reason):
                    outcome = Outcome.REPEATED
                elif not approve:
                    rows.move(
                        request_id, State.PENDING, State.REJECTED,
                        decided_at=now, reason=reason, rejected_by=user_id,
                    )  # fmt: skip
                    outcome = Outcome.REJECTED
                elif len(rows.approvers_of(request_id)) >= request.needed:
                    hours = self.policy(request.team_id).hours
                    rows.move(
                        request_id, State.PENDING, State.APPROVED,
                        decided_at=now, expires_at=now + hours * 3600,
                    )  # fmt: skip
                    outcome = Outcome.APPROVED
                else:
                    outcome = Outcome.COUNTED
            elif outcome is Outcome.EXPIRED:
                rows.move(request_id, State.PENDING, State.EXPIRED, decided_at=now)
            assert outcome is not None
            current = self.get(request_id)
            if then is not None and current is not None:
                then(outcome, current)
        self.store.audit(
            f"approval.{outcome.value}",
            team_id=current.team_id if current else None,
            user_id=user_id,
            subject=request_id,
            reason=reason if outcome is Outcome.REJECTED else None,
        )
        return outcome, current

    def expire_due(
        self, now: float | None = None, then: Callable[[Request], None] | None = None
    ) -> list[Request]:
        """Requests and approvals whose time ran out, now marked expired (each once).

        `then` queues what each expiry tells, in its transaction: a stop in between
        would leave it expired, its messages still showing buttons, and told no one.
        One that fails is set aside for a while (`EXPIRY_RETRY`), behind the others,
        so that however many fail, the rest expire on time."""
        moment = time.time() if now is None else now
        expired: list[Request] = []
        for _ in range(EXPIRY_BATCHES):
            aside = 0  # set aside: the next batch holds the ones behind them
            for row in self.rows.due_to_expire(moment):
                try:
                    request = self._expire(row["id"], moment, then)
                except Exception as error:
                    aside += self._expiry_failed(row, moment, error)
                    continue
                if request is not None:
                    expired.append(request)
            if not aside:
                break
        return expired

    def _expire(
        self, request_id: str, moment: float, then: Callable[[Request], None] | None
    ) -> Request | None:
        """The request, expired now; None when it had moved on meanwhile."""
        for state in (State.PENDING, State.APPROVED):
            # Under the approvals' lock, like a decision: a click counted just as
            # the time ran out is either in before it, or finds it expired.
            with self.store.claim():
                done = self.rows.expire(request_id, state, moment)
                request = self.get(request_id) if done else None
                if then is not None and request is not None:
                    then(request)
            if request is not None:
                self.store.audit(
                    "approval.expired", team_id=request.team_id, subject=request.id,
                    was=state.value,
                )  # fmt: skip
                return request
        return None

    def _expiry_failed(self, row: Row, moment: float, error: Exception) -> bool:
        """Set the failed expiry aside until its retry (False when that failed too); the
        first failure is logged with its traceback, the retries in a line each."""
        if row.get("expire_after") is None:
            log.error("expiring approval %s failed; trying again later", row["id"], exc_info=error)
        else:
            log.warning("expiring approval %s failed again: %r", row["id"], error)
        try:
            overdue = moment - float(row["expires_at"])
            self.rows.retry_expiry(row["id"], moment + min(EXPIRY_RETRY, max(overdue, 1.0)))
        except Exception as unsaved:  # the next sweep tries it again, first
            log.warning("could not set approval %s aside: %r", row["id"], unsaved)
            return False
        return True

    def messages(self, request_id: str) -> list[tuple[str, str, str]]:
        """(viewer, channel, ts) of every DM that shows this request."""
        return self.rows.messages(request_id)

    def remember_message(self, request_id: str, viewer: str, channel: str, ts: str) -> None:
        """Keep where the DM is (its rewrites need it); its attempt is no longer in doubt."""
        with self.store.transaction():
            self.rows.add_message(request_id, viewer, channel, ts)

    def attempting(self, request_id: str, viewer: str, channel: str) -> None:
        """Note, before posting it, that a DM to `viewer` in `channel` is on its way:
        should its answer be lost, the next delivery looks for it (`attempt`)."""
        self.rows.add_attempt(request_id, viewer, channel, time.time())

    def not_posted(self, request_id: str, viewer: str) -> None:
        """Slack refused the DM to `viewer` in its answer: nothing is in doubt, and the
        next delivery posts it without looking for it first."""
        self.rows.drop_attempt(request_id, viewer)

    def attempt(self, request_id: str, viewer: str) -> tuple[str, float, float | None] | None:
        """(channel, when, read below) of a DM to `viewer` whose answer never came: it may
        be in that channel, posted between when and when plus the call's time; its
        history was read already from `read below` down (None: not yet)."""
        return self.rows.attempt(request_id, viewer)

    def searched_below(self, request_id: str, viewer: str, below: float) -> None:
        """The DM's history was read down to `below` without finding the DM: a lookup cut
        short by Slack's limit goes on from there."""
        self.rows.set_searched_below(request_id, viewer, below)

    def undelivered(self, before: float, lease: float) -> list[Request]:
        """Pending requests whose DMs were not all sent (the bot stopped meanwhile, or
        Slack refused for now), each taken for `lease` seconds."""
        taken = self.rows.undelivered(before, time.time(), lease)
        found = (self.get(request_id) for request_id in taken)
        return [request for request in found if request is not None]

    def retry_delivery(self, request_id: str, after: float) -> None:
        """Slack refused a DM for now: its request is sent again in `after` seconds."""
        self.rows.retry_delivery(request_id, time.time() + after)

    def delivered(self, request_id: str) -> None:
        self.rows.set_delivered(request_id, time.time())

    def post_to_billing(self, request_id: str, channel: str, post: Callable[[], None]) -> None:
        """Note `channel` as where the request is posted (later lines go in its thread
        there, even once another channel is the billing channel) and queue its post
        (`post`), once, in one transaction: delivered again after a stop, the request
        finds it queued, and the outbox finds a post whose answer the stop lost."""
        with self.store.transaction():
            if self.rows.set_billing_channel(request_id, channel):
                post()

    def queued_to_billing(self, team_id: str | None = None) -> list[str]:
        """Waiting requests whose post to the billing channel was queued in the outbox
        (`post_to_billing`), which knows whether it went out or was refused."""
        return self.rows.queued_to_billing(team_id, time.time())

    def changed(self) -> None:
        for wake in self.after_change:
            wake()


def judge(request: Request | None, team_id: str, user_id: str, now: float) -> Outcome | None:
    """Why this person's click cannot count, or None when it can."""
    if request is None:
        return Outcome.CLOSED
    if request.team_id != team_id:
        return Outcome.NOT_APPROVER
    if request.state is not State.PENDING:
        return Outcome.REPEATED if user_id in request.approved_by else Outcome.CLOSED
    if now >= request.expires_at:
        return Outcome.EXPIRED
    if user_id == request.requester:
        return Outcome.OWN
    if user_id not in request.approvers:
        return Outcome.NOT_APPROVER
    return None


def _request(row: Row) -> Request:
    return Request.model_validate(row)
