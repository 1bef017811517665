"""`python -m plugins.i3d.sandbox --port 8101 --token ...`: the sandbox alone, on 127.0.0.1."""

from __future__ import annotations

import argparse
import time

from aiohttp import web

from plugins.i3d.sandbox.app import DEFAULT_RETURN_URL, DEFAULT_TOKEN, create_app
from plugins.i3d.sandbox.samples import generate_invoices
from plugins.i3d.sandbox.state import SANDBOX


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m plugins.i3d.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the PRIVATE-TOKEN to accept")
    parser.add_argument("--return-url", default=DEFAULT_RETURN_URL)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--extra-invoices", type=int, default=0, help="generated, for load tests")
    args = parser.parse_args(argv)
    app = create_app(args.token, return_url=args.return_url, latency=args.latency)
    if args.extra_invoices:
        app[SANDBOX].add_invoices(generate_invoices(args.extra_invoices, now=int(time.time())))
    web.run_app(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
