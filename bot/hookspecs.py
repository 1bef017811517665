"""The plugin author's manual: every hook invoicebot calls, and when.

Implement a hook with `@bot.hookimpl` on a module-level function of the same name and
publish the module under the `invoicebot` entry-point group::

    [project.entry-points.invoicebot]
    acme = "acme_invoicebot"

pluggy hooks are synchronous: do network work in your `Provider`'s async methods, never
inside a hook. Hooks are always called with keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from bot.models import Payment
from bot.provider import Provider, Sandbox

hookspec = pluggy.HookspecMarker("invoicebot")


class Outbox(Protocol):
    """Slack Web API calls to make after the current transaction commits.

    Calls are retried on 429 and 5xx until Slack accepts them, and survive a restart.
    `key` makes a call idempotent: enqueueing the same key twice sends once. `team_id`
    is the workspace whose bot token sends the call (pass `payment.team_id`): with the app
    installed in several workspaces, a call without it can only reach the first one.
    """

    def enqueue(
        self, method: str, args: dict[str, Any], *, key: str, team_id: str | None = None
    ) -> None: ...


@hookspec
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register provider classes by calling `register(MyProvider)` once for each.

    Called once when the plugin manager starts, before any request is served. Register
    the class, not an instance: the core makes one instance per connected workspace.
    Names must be unique across plugins; a clash stops start-up with a clear error.
    """


@hookspec
def payment_confirmed(payment: Payment, outbox: Outbox, superseded: list[Payment]) -> None:
    """An invoice (or several paid together) was settled; called once per settlement.

    `payment` is the attempt the provider's evidence credits (who paid, how, when; its
    `settlement_id` names the settlement). `superseded` are the other attempts on the
    same invoices that ended because of it (links no longer needed), and those that had
    ended before but were still being checked (a charge read as declined, a cancel the
    browser reported), which it stops checking.

    Runs inside the database transaction that records the settlement, so it must be
    quick and must not do I/O: enqueue Slack messages on `outbox` instead, and they are
    sent after the commit. An exception is logged and skips only your own plugin: the
    invoice stays settled and the other plugins still hear of it.
    """


@hookspec
def payment_ended(payment: Payment, outbox: Outbox) -> None:
    """An attempt ended unpaid: declined, cancelled, or an outcome that was unknown and
    is now known (`payment.state`, with the reason in `payment.last_error`). Also one
    given up on (EXPIRED) after a card charge or a payment page its payer opened
    (`payment.start` a `Captured`, or a `Redirect` or `FormPost` with `opened_at` set)
    that the provider never confirmed either way: money may have moved, so never tell
    it as "nothing was charged". (An opened page whose invoice the provider listed unpaid
    to the end, where the invoice shows a page's money, just expires: no call.)

    Same rules as `payment_confirmed`: called inside the transaction, enqueue only.
    """


@hookspec
def payment_paid_twice(payment: Payment, outbox: Outbox, certain: bool) -> None:
    """The provider took money through `payment` (it names this very attempt) after its
    invoices had been settled through another. `certain`: both are transactions the
    provider named, so this is a second payment to refund; otherwise the settlement rests
    on the invoice's word alone and may be this very money, so it is to be checked.
    `payment` stays superseded; `paid_at` and `receipt` say when and under what reference.

    Same rules as `payment_confirmed`: called inside the transaction, enqueue only.
    """


@hookspec
def payment_in_doubt(payment: Payment, outbox: Outbox) -> None:
    """A start cut short (the bot stopped mid-call), or a saved-card charge whose answer
    was lost, is now UNKNOWN: whether the provider acted on it is being asked, and its
    payer may still be reading "Asking…" (the click's own answer may not have reached
    Slack).

    Same rules as `payment_confirmed`: called inside the transaction, enqueue only.
    """


@hookspec
def payment_return_unanswered(payment: Payment, outbox: Outbox, settled: bool) -> None:
    """The payer's browser came back from the page of an attempt that had already
    ended, and its provider could not be asked about that return for about a day:
    invoicebot stops asking, so whether that page took money is known only at the
    provider. Called once per attempt (a stop mid-call may call it again: key what you
    enqueue by the payment's id). `settled`: all its invoices are settled (by this attempt
    or another), so what the page may have taken is a second payment to look for.

    Same rules as `payment_confirmed`: called inside the transaction, enqueue only.
    """


@hookspec
def register_sandboxes(register: Callable[[Sandbox], None]) -> None:
    """Offer a local sandbox of your provider's API by calling `register(Sandbox(...))`.

    Called by `invoicebot demo`, `invoicebot plugins` (to list it) and tests, never by
    `invoicebot run`: import your sandbox code inside the callables, so production never
    loads it. The demo starts the app on loopback, connects your provider to it with the credentials
    you build, and points the sandbox's return URL at the bot's landing route.
    """
