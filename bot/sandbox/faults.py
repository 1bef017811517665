"""Faults injected on purpose, and how a sandbox's API answers the ones every sandbox knows.

A sandbox's state derives from `FaultInjection` and names its kinds; its middleware takes
one fault per request, answers its own kinds (a two-factor challenge, a decline) and leaves
the shared ones (`error`, `rate_limit`, `malformed`, `shape`, `hang`, `wordless`) to
`FaultReplies`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

SHARED_KINDS = ("error", "hang", "malformed", "shape", "rate_limit", "wordless")
RETRY_AFTER = "2"


@dataclass
class Fault:
    """The next `remaining` requests (to `path` and by `method`, if given) misbehave as
    `kind`: a method tells a create from the read of the same path before it."""

    kind: str
    remaining: int = 1
    path: str | None = None
    method: str | None = None


@dataclass(kw_only=True)
class FaultInjection:
    """Faults queued on a sandbox's state; its middleware takes one per request."""

    FAULT_KINDS: ClassVar[tuple[str, ...]] = ()

    faults: list[Fault] = field(default_factory=list)
    hang_seconds: float = 30.0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the app shuts down, so a hanging request lets go."""

    def inject(
        self, kind: str, count: int = 1, path: str | None = None, method: str | None = None
    ) -> Fault:
        if kind not in self.FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(self.FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(kind, count, path, method and method.upper())
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, path: str, method: str | None = None) -> str | None:
        """The fault this request suffers, if any; each use counts one down."""
        for fault in self.faults:
            if (fault.path is None or fault.path == path) and (
                fault.method is None or fault.method == method
            ):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault.kind
        return None

    async def hang(self) -> None:
        """Stall like a stuck server, but let go when the app shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.hang_seconds)


@dataclass(frozen=True)
class FaultReplies:
    """How one sandbox's API words the shared faults.

    `error(status, message)` builds that API's error body; `truncated` is a cut-off body
    for `malformed`; `shape` is valid JSON in a shape the documents do not describe.
    """

    error: Callable[[int, str], web.Response]
    truncated: bytes
    shape: Any

    async def answer(self, state: FaultInjection, kind: str | None) -> web.Response | None:
        """The answer `kind` gives instead of the real one; None lets the request go on
        (after stalling, for `hang`)."""
        if kind == "error":
            return self.error(500, "Internal server error (sandbox fault)")
        if kind == "rate_limit":
            answer = self.error(429, "Too many requests (sandbox fault)")
            answer.headers["Retry-After"] = RETRY_AFTER
            return answer
        if kind == "malformed":
            return web.Response(body=self.truncated, content_type="application/json")
        if kind == "shape":
            return web.json_response(self.shape)
        if kind == "wordless":  # a refusal with no body, as some gateways send
            return web.Response(status=422)
        if kind == "hang":
            await state.hang()
        return None
