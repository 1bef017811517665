"""`python -m slack_emulator`: serve the emulator alone, for a bot started separately.

Point the bot at it with `SLACK_API_URL=http://127.0.0.1:8090/api/` (and the same bot
token and signing secret), then open http://127.0.0.1:8090/ in a browser.

To install by OAuth instead, give `--client-id`, `--client-secret`, `--scopes` (the
manifest's bot scopes) and `--redirect-url` (the bot's `/slack/oauth_redirect`), and
`--teams` for more workspaces; point the bot's
`SLACK_AUTHORIZE_URL` at http://127.0.0.1:8090/oauth/v2/authorize. The JSON control API
takes `?team=T…` to act in one of them.
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from slack_emulator import OAuthApp, Workspace, create_app
from slack_emulator.oauth import TOKEN_SECONDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m slack_emulator", description=__doc__)
    parser.add_argument("--request-url", default="http://127.0.0.1:3000/slack/events")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--bot-token", default="")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--redirect-url", action="append", default=[])
    parser.add_argument("--scopes", default="", help="the manifest's bot scopes, a,b,c")
    parser.add_argument("--teams", default="", help="more workspaces: T0GLOBEX,T0INITECH")
    parser.add_argument("--token-seconds", type=int, default=TOKEN_SECONDS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    if not args.bot_token and not args.client_id:
        parser.error("give --bot-token, or --client-id (and --scopes) to install by OAuth")
    logging.basicConfig(level=logging.INFO)
    oauth = None
    if args.client_id:
        oauth = OAuthApp(
            client_id=args.client_id,
            client_secret=args.client_secret,
            redirect_urls=args.redirect_url or ["http://127.0.0.1:3000/slack/oauth_redirect"],
            scopes=[scope for scope in args.scopes.split(",") if scope],
            token_seconds=args.token_seconds,
        )
    more = [
        Workspace(team_id=team, team_name=team, team_domain=team.lower())
        for team in args.teams.split(",")
        if team.strip()
    ]
    app = create_app(
        request_url=args.request_url,
        signing_secret=args.signing_secret,
        bot_token=args.bot_token,
        public_url=f"http://{args.host}:{args.port}",
        oauth=oauth,
        more_workspaces=more,
    )
    web.run_app(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
