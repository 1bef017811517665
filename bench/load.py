"""`python -m bench.load < SPEC_JSON`: an HTTP load from a process of its own.

Closed loop (`concurrency`): that many workers send requests back to back until
`requests` have been answered. Open loop (`rate`, `seconds`): request i is sent at
start + i/rate whatever became of the earlier ones, as people type commands, and its
latency counts from that scheduled moment, so a server that falls behind is not let
off by a generator that waits for it. The timings go to stdout as JSON, with `sent`:
each request's scheduled (open loop) or actual send time on `time.monotonic()`, the
clock every process on the machine shares. Slash commands are signed as Slack signs
them, each with its own response_url; GETs may carry a cookie. `url` may be a list:
request i goes to its i-th URL round robin, as a load balancer in front of several
processes would send it.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


def command_body(index: int, response_url: str, spec: dict[str, Any]) -> bytes:
    return urlencode(
        {
            "token": "unused",
            "team_id": spec["team_id"],
            "team_domain": "bench",
            "channel_id": spec["channel_id"],
            "channel_name": "general",
            "user_id": spec["user_id"],
            "user_name": "bench",
            "command": "/invoices",
            "text": "",
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{index}.bench",
        }
    ).encode()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    rate: float | None = spec.get("rate")
    total: int = round(rate * spec["seconds"]) if rate else spec["requests"]
    hooks: list[str] = spec.get("response_urls") or []
    signer = SignatureVerifier(spec["signing_secret"]) if spec.get("signing_secret") else None
    latencies: list[float] = []
    sent: list[float] = [math.nan] * total
    late: list[float] = []  # open loop: how long after its schedule each request left
    statuses: dict[int, int] = {}
    failures: list[str] = []
    issued = expected = 0
    expect = spec["expect"].encode() if spec.get("expect") else None
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    cookies = spec.get("cookies") or {}
    urls: list[str] = spec["url"] if isinstance(spec["url"], list) else [spec["url"]]
    async with aiohttp.ClientSession(connector=connector, cookies=cookies) as http:

        async def one(index: int, scheduled: float | None = None) -> None:
            nonlocal expected
            url = urls[index % len(urls)]
            if signer is None:
                began = time.monotonic()
                async with http.get(url) as response:
                    body = await response.read()
                if expect and expect in body:
                    expected += 1
            else:
                hook = hooks[index % len(hooks)] if hooks else "http://127.0.0.1:9/none"
                body = command_body(index, hook, spec)
                stamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": signer.generate_signature(timestamp=stamp, body=body),
                }
                began = time.monotonic()
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
            if scheduled is not None:
                late.append(began - scheduled)
                began = scheduled
            sent[index] = began
            latencies.append(time.monotonic() - began)
            statuses[response.status] = statuses.get(response.status, 0) + 1

        async def worker() -> None:
            nonlocal issued
            while issued < total:
                index = issued
                issued += 1
                try:
                    await one(index)
                except (aiohttp.ClientError, TimeoutError) as error:
                    failures.append(repr(error))

        async def scheduled(index: int, at: float) -> None:
            try:
                await one(index, at)
            except (aiohttp.ClientError, TimeoutError) as error:
                failures.append(repr(error))

        async def open_loop() -> None:
            assert rate
            start = time.monotonic() + 0.05
            tasks = []
            for index in range(total):
                at = start + index / rate
                if (wait := at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                tasks.append(asyncio.create_task(scheduled(index, at)))
            await asyncio.gather(*tasks)

        began = time.monotonic()
        if rate:
            await open_loop()
        else:
            await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        elapsed = time.monotonic() - began
    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "sent": sent,
        "late": late,
        "statuses": {str(k): v for k, v in statuses.items()},
        "failures": failures[:5],
        "failed": len(failures),
        "expected": expected,
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
