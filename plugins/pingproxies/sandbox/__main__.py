"""`python -m plugins.pingproxies.sandbox --port 8102`: the sandbox alone, on 127.0.0.1."""

from __future__ import annotations

import argparse
import time

from aiohttp import web

from plugins.pingproxies.sandbox.app import (
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RETURN_URL,
    create_app,
)
from plugins.pingproxies.sandbox.samples import generate_invoices
from plugins.pingproxies.sandbox.state import SANDBOX


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m plugins.pingproxies.sandbox", description=__doc__
    )
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--public-key", default=DEFAULT_PUBLIC_KEY)
    parser.add_argument("--private-key", default=DEFAULT_PRIVATE_KEY)
    parser.add_argument("--email", default=DEFAULT_EMAIL)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--return-url", default=DEFAULT_RETURN_URL)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--two-factor", action="store_true", help="logins need an e-mailed code")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="JWT lifetime, seconds")
    parser.add_argument(
        "--rate-limit", type=int, default=DEFAULT_RATE_LIMIT, help="requests/s (0: no limit)"
    )
    parser.add_argument("--extra-invoices", type=int, default=0, help="generated, for load tests")
    args = parser.parse_args(argv)
    app = create_app(
        args.public_key,
        args.private_key,
        email=args.email,
        password=args.password,
        return_url=args.return_url,
        latency=args.latency,
        two_factor=args.two_factor,
        token_ttl=args.token_ttl,
        rate_limit=args.rate_limit or None,
    )
    if args.extra_invoices:
        app[SANDBOX].add_invoices(generate_invoices(args.extra_invoices, now=int(time.time())))
    web.run_app(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
