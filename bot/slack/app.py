"""The Bolt `AsyncApp`: request verification on, every listener registered here."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.installations import Installations
from bot.oauth_states import OAuthStates
from bot.settings import Settings
from bot.slack import (
    actions,
    approvals,
    commands,
    connect,
    customers,
    home,
    install,
    new_invoice,
    people,
    records,
    reminders,
    stale_clicks,
)
from bot.slack.blocks.digest import DIGEST_PREFIX
from bot.slack.errors import on_error
from bot.slack.responses import AnswerRouting
from bot.slack.services import Services
from bot.workspaces import InstalledWorkspaces


@dataclass(frozen=True)
class OAuth:
    """What a bot installed by OAuth in several workspaces keeps its installs in."""

    installations: Installations
    states: OAuthStates
    workspaces: InstalledWorkspaces


QUICK_RETRY_SECONDS = 1
"""The longest Retry-After a listener's Slack call waits out. Its calls race a 3-second
deadline (a trigger_id, a submission's ack) or a person watching; a longer wait is told
instead ("Slack did not take invoicebot's request just now… try again in N s")."""


ANSWER_BY: ContextVar[float | None] = ContextVar("answer_by", default=None)
"""When (`time.monotonic()`) the Slack request being handled must have been answered:
its trigger_id dies 3 s after Slack sent it. Set for each request's listeners."""

ANSWER_SECONDS = 2.5
"""From receiving a request to its deadline: Slack's 3 s, less the time it took to come."""

CALL_MARGIN = 0.4
"""What the retried call and the one after it (a views.open) may take, at least."""

RETRY_JITTER = 0.2


class QuickRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retries a 429 only when Slack asks for a short wait (see `QUICK_RETRY_SECONDS`)
    and the wait leaves time before the request's deadline (`ANSWER_BY`): a trigger_id
    spent on waiting would fail anyway, and then as a confusing error."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        try:
            wait = _retry_after(response)
        except ValueError:
            return False
        if wait > QUICK_RETRY_SECONDS:
            return False
        deadline = ANSWER_BY.get()
        latest = time.monotonic() + wait + RETRY_JITTER + CALL_MARGIN
        return deadline is None or latest <= deadline

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Slack's wait and a little jitter (slack_sdk's own adds up to a whole second)."""
        assert response is not None
        state.next_attempt_requested = True
        await asyncio.sleep(_retry_after(response) + random.random() * RETRY_JITTER)  # noqa: S311
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> int:
    wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
    if wait is None:
        return 1
    return int(wait[0] if isinstance(wait, list) else wait)


def make_web_client(
    settings: Settings, session: aiohttp.ClientSession, *, retries: bool = True
) -> AsyncWebClient:
    """`retries=False` for the outbox: it decides itself what may be sent again, because
    a post whose answer was lost may exist, and an HTTP-level retry would post it twice."""
    handlers = (
        [AsyncConnectionErrorRetryHandler(), QuickRateLimitRetry(max_retry_count=2)]
        if retries
        else []
    )
    token = settings.slack_bot_token
    return AsyncWebClient(
        token=token.get_secret_value() if token else None,  # by OAuth: each request's own
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=handlers,
    )


class _SameToken(logging.Filter):
    """Bolt reads `SLACK_BOT_TOKEN` itself and warns that the client it is given wins:
    that client carries the very same token, so the warning would only alarm whoever
    runs the bot, at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger(f"slack_bolt.{AsyncApp.__name__}").addFilter(_SameToken())


def make_bolt_app(
    settings: Settings, client: AsyncWebClient, svc: Services, oauth: OAuth | None = None
) -> AsyncApp:
    """With `oauth`, requests are answered with their own workspace's token."""
    signing_secret = settings.slack_signing_secret
    authorizing: dict[str, Any] = {"user_facing_authorize_error_message": install.REFUSED_BY_SLACK}
    if oauth is not None:
        pages = install.InstallPages(svc.teams)
        authorizing = {
            "oauth_settings": install.oauth_settings(
                settings, oauth.installations, oauth.states, pages
            ),
            "authorize": install.WorkspaceAuthorize(oauth.workspaces),
            "before_authorize": install.refuse_when_not_installed(oauth.workspaces),
            "user_facing_authorize_error_message": install.NOT_INSTALLED,
        }
    app = AsyncApp(
        name="invoicebot",
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else "",
        # `/slack/events` verifies the signature before anything is read (`intake`);
        # Bolt checking the same HMAC again would only cost every request its time.
        request_verification_enabled=False,
        # Each middleware Bolt runs costs every request, acks included. `intake` answers
        # Slack's certificate check; the bot subscribes to no event it could cause itself
        # (Home opened, uninstalled, tokens revoked) and offers no workflow functions.
        ssl_check_enabled=False,
        ignoring_self_events_enabled=False,
        attaching_function_token_enabled=False,
        process_before_response=True,  # listeners answer as soon as they ack: see `shielded`
        **authorizing,
    )
    app.error(on_error)
    app.use(AnswerRouting(svc.connections.http, DIGEST_PREFIX))
    commands.register(app, svc)
    actions.register(app, svc)
    connect.register(app, svc)
    customers.register(app, svc)
    new_invoice.register(app, svc)
    home.register(app, svc)
    approvals.register(app, svc)
    reminders.register(app, svc)
    records.register(app, svc)
    people.register(app, svc)
    install.register_uninstall(app, svc, oauth.installations if oauth else None)
    stale_clicks.register_last(app)  # after every listener: it takes what none of them did
    return app
