"""What every sandbox's state holds: the request log, latency, faults and drift.

A sandbox's own state is a dataclass deriving from `SandboxBase`, kept under a typed
`web.AppKey`, so tests set knobs from Python and the control routes set the same fields.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.faults import FaultInjection

REQUESTS_KEPT = 2000
ABSENT = "<absent>"
"""A drift value that removes the field from the answer instead of changing it."""


@dataclass(frozen=True)
class Seen:
    """A request as it reached the sandbox's API, kept so tests can check what was sent."""

    method: str
    path: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, request: web.Request, body: bytes) -> Seen:
        return cls(
            request.method,
            request.path,
            request.raw_path,
            request.query_string,
            dict(request.headers),
            body,
        )

    def header(self, name: str) -> str | None:
        """A header's value, whatever case the client wrote its name in."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(kw_only=True)
class SandboxBase(FaultInjection):
    """The knobs and memory every sandbox shares."""

    latency: float = 0.0
    public_url: str | None = None
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per invoice id or number, raw JSON changes applied as the invoice is served (a
    value of `ABSENT` removes the key): how a real API drifts, one invoice at a time."""
    requests: deque[Seen] = field(default_factory=lambda: deque(maxlen=REQUESTS_KEPT))
    calls: Counter[str] = field(default_factory=Counter)
    """Every API request so far, counted by method and route ("GET /invoice/{id}"):
    unlike `requests`, it never forgets, so another process can count what one action
    asked (`/_sandbox/calls`); by route, so it stays as small as the API."""

    async def arrived(self, request: web.Request) -> None:
        """Record the request, then wait out the configured latency."""
        self.requests.append(Seen.of(request, await request.read()))
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "(no route)"
        self.calls[f"{request.method} {route}"] += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def count(self, method: str, path: str) -> int:
        """How many times a route was called: proves what the client did and did not retry."""
        return sum(1 for seen in self.requests if (seen.method, seen.path) == (method, path))

    def drifted(self, body: dict[str, Any], *keys: object) -> dict[str, Any]:
        """`body` with the drift set for the first of `keys` (an id, a number) that has one."""
        changes = next((self.drift[str(k)] for k in keys if str(k) in self.drift), None)
        if not changes:
            return body
        changed = {**body, **changes}
        return {key: value for key, value in changed.items() if value != ABSENT}
