"""Installing invoicebot by OAuth, one workspace after another, and removing it again.

Bolt's OAuth flow runs on our own stores (`bot.installations`, `bot.oauth_states`), so
any process can serve any step. Requests are authorized by `WorkspaceAuthorize`: Bolt's
own rotation would refresh a token without a lock, and two processes spending one
single-use refresh token break the installation; `InstalledWorkspaces` takes a lease.

A workspace of an Enterprise Grid organization installs like any other. An install on the
whole organization (possible only if the manifest enables org deploy) is refused with a
page saying what to do instead, and requests under one are answered, never served: the
billing channel, admins and providers all belong to one workspace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import pages
from bot.installations import Installations, OrgWideInstall
from bot.oauth_states import OAuthStates
from bot.settings import Settings
from bot.slack.services import Services
from bot.team_settings import TeamSettings
from bot.workspaces import InstalledWorkspaces

log = logging.getLogger(__name__)

UNINSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")
NOT_INSTALLED = (
    "invoicebot is not installed in this workspace any more, so nothing was done. "
    "Ask whoever runs invoicebot for your team to install it again."
)
REFUSED_BY_SLACK = (
    "Slack refused invoicebot's bot token, so nothing was done. Tell whoever runs "
    "invoicebot for your team: `SLACK_BOT_TOKEN` must be the app's current Bot User OAuth "
    "Token (OAuth & Permissions)."
)
"""One workspace's answer when `auth.test` refuses the configured token (Bolt's own asks
people to reinstall the app, which is seldom what is wrong)."""
ORG_WIDE = (
    "invoicebot was added to your whole Enterprise Grid organization, but it works one "
    "workspace at a time, so nothing was done. Ask an admin to remove it from the "
    "organization and install it into this workspace instead."
)


class WorkspaceAuthorize(AsyncAuthorize):
    """The bot token of the workspace a request comes from, refreshed under the lease."""

    def __init__(self, workspaces: InstalledWorkspaces) -> None:
        self.workspaces = workspaces

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        bot = await self.workspaces.bot(
            enterprise_id, team_id, is_enterprise_install=bool(context.is_enterprise_install)
        )
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def refuse_when_not_installed(
    workspaces: InstalledWorkspaces,
) -> Callable[..., Awaitable[BoltResponse]]:
    """Bolt's own answer to a workspace with no installation posts to the response_url
    before acking, which Slack shows only after the ack times out: answer in the ack."""

    async def middleware(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        event = (req.body.get("event") or {}).get("type")
        if req.body.get("type") == "url_verification" or (
            req.body.get("type") == "event_callback" and event in UNINSTALL_EVENTS
        ):
            return await next()  # Slack checking the URL, or the workspace already gone
        context = req.context
        if context.is_enterprise_install:  # settings are a workspace's: never served
            log.info("a request for organization %s, installed org-wide", context.enterprise_id)
            return _refusal(req, ORG_WIDE)
        found = await workspaces.installations.async_find_bot(
            enterprise_id=context.enterprise_id, team_id=context.team_id
        )
        if found is not None:
            return await next()
        log.info("a request from workspace %s, which has not installed invoicebot", context.team_id)
        return _refusal(req, NOT_INSTALLED)

    return middleware


def _refusal(req: AsyncBoltRequest, text: str) -> BoltResponse:
    """A command is answered in its ack; anything else has no one to tell."""
    if req.body.get("command"):
        body = json.dumps({"response_type": "ephemeral", "text": text})
        return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})
    return BoltResponse(status=200, body="")


def _html(title: str, body: str, *, status: int, tone: str) -> BoltResponse:
    shown = pages.page(title, body, tone=tone)
    return BoltResponse(
        status=status, body=shown.text or "", headers={"Content-Type": "text/html; charset=utf-8"}
    )


class InstallPages(AsyncCallbackOptions):
    """What the installer's browser shows at the end; the installer becomes an admin."""

    def __init__(self, teams: TeamSettings) -> None:
        super().__init__(success=self._success, failure=self._failure)
        self.teams = teams

    async def _success(self, args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        team_id = installation.team_id or ""
        if installation.user_id:
            self.teams.add_admin(team_id, installation.user_id, by=installation.user_id)
        self.teams.store.audit(
            "workspace.installed", team_id=team_id, user_id=installation.user_id or None
        )
        name = pages.escape(installation.team_name or "your workspace")
        response = _html(
            "invoicebot is installed",
            f"<p>invoicebot is now in {name}. In the channel where paid invoices should be "
            "announced, type <code>/invoices billing</code>; connect a provider with "
            "<code>/invoices connect</code>, and choose who may pay with "
            "<code>/invoices people</code>. You are an invoicebot admin there.</p>",
            status=200,
            tone="ok",
        )
        response.headers["set-cookie"] = [args.settings.state_utils.build_set_cookie_for_deletion()]
        return response

    async def _failure(self, args: AsyncFailureArgs) -> BoltResponse:
        log.info("an install did not complete: %s", args.reason)
        if isinstance(args.error, OrgWideInstall):
            org = pages.escape(args.error.enterprise_name or "your organization")
            text = (
                f"<p>Slack added invoicebot to the whole of {org}, but invoicebot works one "
                "workspace at a time (each with its own billing channel, admins and "
                "providers), so nothing was installed. An organization admin should remove "
                "invoicebot from the organization in Slack's admin settings; then install it "
                "into each workspace that needs it from <a href='/slack/install'>the install "
                "link</a>, choosing the workspace rather than the organization.</p>"
            )
        elif args.reason == "access_denied":
            text = "<p>invoicebot was not installed, as you chose. Nothing changed.</p>"
        else:
            text = (
                "<p>This install link has expired or was already used, so nothing was "
                "installed. <a href='/slack/install'>Start the install again</a>.</p>"
            )
        return _html("invoicebot was not installed", text, status=400, tone="bad")


def oauth_settings(
    settings: Settings, installations: Installations, states: OAuthStates, pages_: InstallPages
) -> AsyncOAuthSettings:
    secret = settings.slack_client_secret
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=sorted(settings.slack_scopes),
        redirect_uri=settings.redirect_url,
        install_page_rendering_enabled=False,  # straight to Slack's own consent page
        callback_options=pages_,
        authorization_url=settings.slack_authorize_url,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=states,
    )


def register_uninstall(app: AsyncApp, svc: Services, installations: Installations | None) -> None:
    """A workspace that removes the app takes its tokens and provider credentials with it;
    its payments and audit log stay, as records."""

    async def forget(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team_id = str(body.get("team_id") or "")
        if event["type"] == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only people's tokens: the bot still works
        if context.is_enterprise_install:
            return  # an organization's install was never kept: nothing to forget
        if installations is not None:  # a Grid workspace is kept under its organization too
            await installations.async_delete_all(
                enterprise_id=context.enterprise_id, team_id=team_id
            )
        providers = svc.connections.forget_team(team_id)
        svc.store.audit(
            "workspace.uninstalled" if event["type"] == "app_uninstalled" else "tokens.revoked",
            team_id=team_id,
            providers_forgotten=providers,
        )
        log.info("workspace %s removed invoicebot; its tokens and credentials are deleted", team_id)

    for name in UNINSTALL_EVENTS:
        app.event(name)(forget)
