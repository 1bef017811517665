"""Installing the app by OAuth: Slack's authorize page, `oauth.v2.access`, rotating tokens.

Several workspaces can install the app; each is an `Emulator` of its own, served by the
same web server, and a Web API call reaches the workspace its token was issued for.
As in Slack:

- `GET /oauth/v2/authorize` refuses an unknown client id or a redirect URI the app did
  not register (an error page, no redirect); when the person allows (the emulator's
  stand-in for clicking *Allow* is the `user` query argument), it redirects to the
  redirect URI with a `code` and the `state`; `deny=1` redirects with `error=access_denied`.
- A code works once, within ten minutes, with the redirect URI it was issued for.
- With token rotation on, the bot token expires (`token_expired` after `expires_in`
  seconds) and `grant_type=refresh_token` trades a refresh token, once, for a new pair:
  using a refresh token twice fails with `invalid_refresh_token`.
- A token has the scopes its install asked for, and a refreshed one the same; methods
  that need another answer `missing_scope` (see `directory_methods.SCOPES`).
- A workspace of an Enterprise Grid organization installs the app on itself: the answer
  names the workspace in `team` and its organization in `enterprise`, with
  `is_enterprise_install` false. Only an app with org deploy enabled is offered the whole
  organization (`org=1`, the stand-in for choosing it on Slack's page): then `team` is
  null, `is_enterprise_install` true, and every workspace of the organization sends
  requests as an organization's install.
- Uninstalling revokes every token of the workspace (`invalid_auth` afterwards) and sends
  the app `app_uninstalled`, then `tokens_revoked`.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from slack_emulator.calls import SlackError
from slack_emulator.payloads import event_callback
from slack_emulator.workspace import BOT_USER_ID, Workspace

if TYPE_CHECKING:
    from slack_emulator.client import Emulator

CODE_SECONDS = 600.0
TOKEN_SECONDS = 43_200
"""A rotating bot token lives twelve hours, as in Slack."""


@dataclass
class OAuthApp:
    """The app's OAuth settings as its manifest declares them."""

    client_id: str
    client_secret: str
    redirect_urls: list[str]
    scopes: list[str]
    token_rotation: bool = True
    token_seconds: int = TOKEN_SECONDS
    org_deploy: bool = False
    """The manifest's `org_deploy_enabled`: installing on a whole Grid organization."""


@dataclass
class _Code:
    team_id: str
    user_id: str
    redirect_uri: str | None
    """As sent to the authorize page: oauth.v2.access must then send the same."""
    scopes: list[str]
    expires_at: float
    org_wide: bool = False


@dataclass
class _Token:
    team_id: str
    expires_at: float | None
    scopes: frozenset[str]


@dataclass
class OAuthServer:
    """Every installation of one app, across the workspaces served here."""

    app: OAuthApp
    emulators: dict[str, Emulator] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token: team
    granted: dict[str, list[str]] = field(default_factory=dict)  # team: scopes installed
    spent_refresh_tokens: set[str] = field(default_factory=set)
    refreshes: int = 0

    def add(self, emulator: Emulator) -> None:
        emulator.oauth = self
        self.emulators[emulator.workspace.team_id] = emulator

    def now(self) -> float:
        return time.time()

    # the person's side ---------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> str:
        """The URL Slack sends the browser to after the person chose (or a SlackError)."""
        if query.get("client_id") != self.app.client_id:
            raise SlackError("invalid_client_id")
        redirect_uri = query.get("redirect_uri") or self.app.redirect_urls[0]
        if redirect_uri not in self.app.redirect_urls:
            raise SlackError("bad_redirect_uri")
        scopes = [s for s in (query.get("scope") or "").split(",") if s]
        if not scopes or any(s not in self.app.scopes for s in scopes):
            raise SlackError("invalid_scope")
        emulator = self.emulators.get(query.get("team") or "")
        user_id = query.get("user") or ""
        if emulator is None or user_id not in emulator.workspace.users:
            raise SlackError("not_signed_in")
        org_wide = bool(query.get("org"))
        if org_wide and not (self.app.org_deploy and emulator.workspace.enterprise):
            raise SlackError("org_install_not_offered")
        answer: dict[str, str] = {}
        if query.get("deny"):
            answer["error"] = "access_denied"
        else:
            code = f"{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
            self.codes[code] = _Code(
                emulator.workspace.team_id,
                user_id,
                query.get("redirect_uri"),
                scopes,
                self.now() + CODE_SECONDS,
                org_wide,
            )
            answer["code"] = code
        if query.get("state"):
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return redirect_uri + separator + urlencode(answer)

    def uninstall_events(self, team_id: str) -> list[str]:
        """Revoke the workspace's tokens; the event bodies Slack then sends the app."""
        self.tokens = {t: v for t, v in self.tokens.items() if v.team_id != team_id}
        self.refresh_tokens = {t: v for t, v in self.refresh_tokens.items() if v != team_id}
        ws, revoked = self.emulators[team_id].workspace, {"bot": [BOT_USER_ID]}
        return [
            event_callback(ws, {"type": "app_uninstalled"}, self.now()),
            event_callback(ws, {"type": "tokens_revoked", "tokens": revoked}, self.now()),
        ]

    # the app's side ------------------------------------------------------------------

    def emulator_for(self, token: str) -> tuple[Emulator, frozenset[str]]:
        """The workspace a token speaks for, and the scopes its install granted."""
        issued = self.tokens.get(token)
        if issued is None:
            raise SlackError("invalid_auth")
        if issued.expires_at is not None and issued.expires_at <= self.now():
            raise SlackError("token_expired")
        return self.emulators[issued.team_id], issued.scopes

    def access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """`oauth.v2.access`: a code or a refresh token for tokens."""
        client_id, client_secret = _client(args, authorization)
        if client_id != self.app.client_id:
            raise SlackError("invalid_client_id")
        if client_secret != self.app.client_secret:
            raise SlackError("bad_client_secret")
        grant = args.get("grant_type") or "authorization_code"
        if grant == "refresh_token":
            return self._refresh(str(args.get("refresh_token") or ""))
        if grant != "authorization_code":
            raise SlackError("invalid_grant_type")
        code = self.codes.pop(str(args.get("code") or ""), None)
        if code is None or code.expires_at < self.now():
            raise SlackError("invalid_code")
        if (args.get("redirect_uri") or None) != code.redirect_uri:
            raise SlackError("bad_redirect_uri")
        emulator = self.emulators[code.team_id]
        ws = emulator.workspace
        self.granted[ws.team_id] = code.scopes
        if code.org_wide and ws.enterprise is not None:
            for other in self.emulators.values():
                if other.workspace.enterprise == ws.enterprise:
                    other.workspace.org_wide_install = True
        return {
            "ok": True,
            "app_id": ws.app_id,
            "authed_user": {"id": code.user_id},
            "scope": ",".join(code.scopes),
            "token_type": "bot",
            "bot_user_id": BOT_USER_ID,
            **_installed_on(ws),
            **self._issue(ws.team_id),
        }

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        team_id = self.refresh_tokens.pop(refresh_token, None)
        if team_id is None or not self.app.token_rotation:
            raise SlackError("invalid_refresh_token")
        self.spent_refresh_tokens.add(refresh_token)
        self.refreshes += 1
        ws = self.emulators[team_id].workspace
        return {
            "ok": True,
            "app_id": ws.app_id,
            "token_type": "bot",
            "scope": ",".join(self.granted[team_id]),
            "bot_user_id": BOT_USER_ID,
            **_installed_on(ws),
            **self._issue(team_id),
        }

    def _issue(self, team_id: str) -> dict[str, Any]:
        """Tokens with the scopes the workspace's install granted (a refresh keeps them)."""
        scopes = frozenset(self.granted[team_id])
        if not self.app.token_rotation:
            token = f"xoxb-{secrets.token_hex(12)}"
            self.tokens[token] = _Token(team_id, None, scopes)
            return {"access_token": token}
        token, refresh = f"xoxe.xoxb-1-{secrets.token_hex(16)}", f"xoxe-1-{secrets.token_hex(24)}"
        self.tokens[token] = _Token(team_id, self.now() + self.app.token_seconds, scopes)
        self.refresh_tokens[refresh] = team_id
        return {
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": self.app.token_seconds,
        }


def _installed_on(ws: Workspace) -> dict[str, Any]:
    """What the tokens speak for: a workspace, in a Grid organization or not, or a whole
    organization (no `team`)."""
    return {
        "team": None if ws.org_wide_install else {"id": ws.team_id, "name": ws.team_name},
        "enterprise": ws.enterprise_api(),
        "is_enterprise_install": ws.org_wide_install,
    }


def _client(args: dict[str, Any], authorization: str) -> tuple[str, str]:
    """Client id and secret, from HTTP Basic auth (preferred by Slack) or the arguments."""
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except ValueError:
            raise SlackError("invalid_auth") from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")


def add_routes(app: web.Application, server: OAuthServer) -> None:
    async def authorize(request: web.Request) -> web.Response:
        try:
            location = server.authorize(dict(request.query))
        except SlackError as refused:
            return web.Response(
                status=400, text=f"Slack could not start the install: {refused.error}"
            )
        raise web.HTTPFound(location)

    app.router.add_get("/oauth/v2/authorize", authorize)
