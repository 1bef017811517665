"""The schedules: the billing channel's digest and each day's reminders.

Each round asks the clock (injectable: tests and `INVOICEBOT_CLOCK_FILE` move it) which
period of each schedule is due, and claims it by compare-and-set under the key
(schedule, team, period) before doing anything: a restart neither loses a period (one
missed while down fires at start-up if at most `GRACE` late) nor repeats one. What a run
posts goes through the outbox in the transaction that marks the run done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.access import Access
from bot.approvals import Approvals
from bot.checkout import charges_in_doubt
from bot.clock import Clock
from bot.connections import Connections
from bot.invoices import bridged_since, covered
from bot.models import Invoice, InvoiceStatus
from bot.outbox import DIGEST_EVENT
from bot.provider import Direction, Provider, ProviderError
from bot.reminding import can_remind, due_for_auto_reminder, remind_customer, under_way
from bot.runs import CUSTOMER, DUE, Reminder, Runs
from bot.slack.approvals_gate import label_pay_buttons
from bot.slack.blocks.digest import DigestFacts, digest_message, due_soon_message
from bot.snapshots import Snapshots
from bot.text import say
from bot.timetable import Timetable, period_due

log = logging.getLogger(__name__)

DIGEST = "digest"
DAILY = "daily"
READ_WITHIN = 60.0
"""Seconds a provider gets to hand over its invoices for a scheduled run."""


@dataclass
class Scheduler:
    runs: Runs
    connections: Connections
    snapshots: Snapshots
    access: Access
    timetable: Timetable
    clock: Clock
    billing_channel: str | Callable[[str], str | None]
    """One channel, or each workspace's (None: not chosen yet, the digest is skipped)."""
    tick: float = 30.0
    wake: Callable[[], None] = lambda: None
    """Called after a run queued messages, so the outbox sends them at once."""
    approvals: Approvals | None = None
    """The policy that turns **Pay** into **Request approval**, as in the list."""

    def _gate(self, team_id: str, message: dict[str, Any], invoices: list[Invoice]) -> None:
        if self.approvals is not None:
            label_pay_buttons(self.approvals, team_id, message["blocks"], invoices)

    def teams(self) -> list[str]:
        rows = self.runs.store.db.execute("SELECT DISTINCT team_id FROM connections").fetchall()
        return sorted(str(row[0]) for row in rows)

    async def run_once(self) -> list[tuple[str, str, str]]:
        """Do every period that is due and not yet done; returns (schedule, team, period)."""
        now = self.clock.now()
        done = []
        jobs: list[tuple[str, Callable[[str, str], Awaitable[None]]]] = [(DAILY, self._daily)]
        slots = {DAILY: self.timetable.daily}
        if self.timetable.digest is not None:
            jobs.insert(0, (DIGEST, self._digest))
            slots[DIGEST] = self.timetable.digest
        for team_id in self.teams():
            for schedule, job in jobs:
                due = period_due(slots[schedule], self.timetable.zone, now)
                if due is None or not self.runs.claim_run(schedule, team_id, due[0]):
                    continue
                try:
                    await job(team_id, due[0])
                except Exception:
                    log.exception("the %s run %s of %s failed; retrying", schedule, due[0], team_id)
                    self.runs.release_run(schedule, team_id, due[0])
                    continue
                done.append((schedule, team_id, due[0]))
                self.wake()
        return done

    async def _invoices(
        self, team_id: str, providers: list[Provider]
    ) -> tuple[list[Invoice], list[tuple[str, str, str]], list[tuple[str, str, tuple[str, ...]]]]:
        """Every open invoice of these connections, the ones that did not answer, and
        the labels of invoices they sent that could not be read (any might be open), each
        by provider name and title (see `DigestFacts`); an invoice a payment through the
        bot settled is not open while the provider may not have booked it yet (see
        `bot.invoices.paid_here`, `bridged_since`)."""

        async def read(
            provider: Provider,
        ) -> tuple[Provider, list[Invoice] | str, tuple[str, ...]]:
            try:
                snapshot = await asyncio.wait_for(self.snapshots.read(provider), READ_WITHIN)
            except ProviderError as error:
                return provider, say(error), ()
            except TimeoutError:
                return provider, f"no answer within {READ_WITHIN:.0f} s", ()
            settled = self.runs.store.settled_amounts(
                team_id, provider.name, fresh=True, since=bridged_since(provider)
            )
            still = [i for i in snapshot.invoices if i.status is InvoiceStatus.OPEN]
            unpaid = [i for i in still if not covered(i, settled.get(i.id))]
            return provider, unpaid, snapshot.unreadable

        invoices: list[Invoice] = []
        failed: list[tuple[str, str, str]] = []
        unreadable: list[tuple[str, str, tuple[str, ...]]] = []
        for provider, got, unread in await asyncio.gather(*(read(p) for p in providers)):
            if isinstance(got, str):
                failed.append((provider.name, provider.title, got))
            else:
                invoices += got
            if unread:
                unreadable.append((provider.name, provider.title, unread))
        return invoices, failed, unreadable

    def _last_reminders(self, team_id: str) -> dict[tuple[str, str], Reminder]:
        last: dict[tuple[str, str], Reminder] = {}
        for reminder in self.runs.reminders(team_id, kind=CUSTOMER):
            last[(reminder.provider, reminder.invoice_id)] = reminder  # oldest first
        return last

    async def _digest(self, team_id: str, period: str) -> None:
        providers = self.connections.connected(team_id)
        invoices, failed, unreadable = await self._invoices(team_id, providers)
        facts = DigestFacts(
            today=date.fromisoformat(period),
            ahead=self.timetable.digest_ahead,
            providers={p.name: p for p in providers},
            invoices=invoices,
            failed=failed,
            unreadable=unreadable,
            reminded=self._last_reminders(team_id),
            in_doubt=charges_in_doubt(self.runs.store, team_id, invoices),
        )
        run = f"{team_id}:{period}"
        channel = (
            self.billing_channel
            if isinstance(self.billing_channel, str)
            else self.billing_channel(team_id)
        )
        digest = digest_message(facts)
        self._gate(team_id, digest, invoices)
        with self.runs.store.transaction():
            if channel is not None:
                self.runs.store.enqueue(
                    "chat.postMessage",
                    {
                        "channel": channel,
                        **digest,
                        "metadata": {"event_type": DIGEST_EVENT, "event_payload": {"run": run}},
                    },
                    key=f"digest:{run}",
                    team_id=team_id,
                )
            self.runs.finish_run(DIGEST, team_id, period)
        self.runs.store.audit("digest.queued", team_id=team_id, subject=period)

    async def _daily(self, team_id: str, period: str) -> None:
        today = date.fromisoformat(period)
        timetable = self.timetable
        if timetable.due_reminder_days or timetable.auto_remind is not None:
            providers = self.connections.connected(team_id)
            invoices, _, _ = await self._invoices(team_id, providers)
            by_name = {p.name: p for p in providers}
            if timetable.due_reminder_days:
                await self._due_soon(team_id, today, invoices, by_name)
            if timetable.auto_remind is not None:
                await self._auto_remind(team_id, today, invoices, by_name)
        with self.runs.store.transaction():
            self.runs.finish_run(DAILY, team_id, period)

    async def _due_soon(
        self, team_id: str, today: date, invoices: list[Invoice], by_name: dict[str, Provider]
    ) -> None:
        """One DM to each payer per payable that falls due within the set days, a day."""
        payers = sorted(await self.access.payers(team_id))
        window = self.timetable.due_reminder_days
        for invoice in invoices:
            provider = by_name[invoice.provider]
            if (
                provider.capabilities.direction is not Direction.PAYABLE
                or not invoice.payable
                or invoice.due is None
                or not 0 <= (invoice.due - today).days <= window
            ):
                continue
            if under_way(self.runs.store, team_id, provider.name, invoice.id, payable=True):
                continue  # told tomorrow if it is still owed then; not claimed today
            with self.runs.store.transaction():
                claimed = self.runs.claim_reminder(
                    DUE, team_id, provider.name, invoice.id, invoice.number, today.isoformat()
                )
                if claimed is None:
                    continue
                message = due_soon_message(invoice, provider, today)
                self._gate(team_id, message, [invoice])
                for user in payers:
                    self.runs.store.enqueue(
                        "chat.postMessage",
                        {"channel": user, **message},
                        key=f"due:{team_id}:{provider.name}:{invoice.id}:{today}:{user}",
                        team_id=team_id,
                    )
                self.runs.reminder_sent(claimed, "sent", ",".join(payers))
            self.runs.store.audit(
                "reminder.due",
                team_id=team_id,
                subject=f"{provider.name}:{invoice.number}",
                invoice_id=invoice.id,
                to=payers,
            )

    async def _auto_remind(
        self, team_id: str, today: date, invoices: list[Invoice], by_name: dict[str, Provider]
    ) -> None:
        assert self.timetable.auto_remind is not None
        every, at_most = self.timetable.auto_remind
        for invoice in invoices:
            provider = by_name[invoice.provider]
            if not can_remind(provider) or not invoice.payable or not invoice.is_overdue(today):
                continue
            earlier = self.runs.reminders(
                team_id, kind=CUSTOMER, provider=provider.name, invoice_id=invoice.id
            )
            if not due_for_auto_reminder(earlier, today, every, at_most):
                continue
            try:
                await remind_customer(
                    self.runs.store,
                    self.runs,
                    provider,
                    invoice,
                    team_id=team_id,
                    today=today,
                    user_id=None,
                    automatic=True,
                )
            except ProviderError as error:
                log.warning("automatic reminder for %s failed: %s", invoice.number, error)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("schedule round failed; trying again")
            await asyncio.sleep(self.tick)
