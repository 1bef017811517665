"""`python -m plugins.payfirma.sandbox --port 8102`: the sandbox alone, on 127.0.0.1.

Point the provider's auth URL and gateway URL both at http://127.0.0.1:<port>.
"""

from __future__ import annotations

import argparse
import time

from aiohttp import web

from plugins.payfirma.sandbox.app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_RETURN_URL,
    create_app,
)
from plugins.payfirma.sandbox.samples import generate_invoices
from plugins.payfirma.sandbox.state import DEFAULT_HPP_TOKEN, SANDBOX


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m plugins.payfirma.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--hpp-token", default=DEFAULT_HPP_TOKEN, help="the only token HPP init takes"
    )
    parser.add_argument(
        "--return-url", default=DEFAULT_RETURN_URL, help='PayHQ\'s HPP return URL; "" = per request'
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds")
    parser.add_argument("--extra-invoices", type=int, default=0, help="generated, for load tests")
    args = parser.parse_args(argv)
    app = create_app(
        args.client_id,
        args.client_secret,
        return_url=args.return_url or None,
        hpp_token=args.hpp_token,
        latency=args.latency,
        token_lifetime=args.token_lifetime,
    )
    if args.extra_invoices:
        app[SANDBOX].add_invoices(generate_invoices(args.extra_invoices, now=int(time.time())))
    web.run_app(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
