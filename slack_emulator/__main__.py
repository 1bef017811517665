"""`python -m slack_emulator`: serve the emulator alone, for a bot started separately.

Point the bot at it with `SLACK_API_URL=http://127.0.0.1:8090/api/` (and the same bot
token and signing secret), then open http://127.0.0.1:8090/ in a browser.
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from slack_emulator import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m slack_emulator", description=__doc__)
    parser.add_argument("--request-url", default="http://127.0.0.1:3000/slack/events")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--bot-token", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_app(
        request_url=args.request_url,
        signing_secret=args.signing_secret,
        bot_token=args.bot_token,
        public_url=f"http://{args.host}:{args.port}",
    )
    web.run_app(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
