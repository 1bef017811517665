"""What the bot asked the Web API, what it got back, and faults a test can switch on.

Every call is recorded (method, arguments, time, HTTP status, Slack error) so tests can
assert on the conversation instead of on the emulator's internals. Faults answer the
next N calls of one method (or of every method) with HTTP 429 and `Retry-After`, the way
Slack rate-limits, or with a 5xx; after N calls everything works again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


class SlackError(Exception):
    """A Web API refusal: `{"ok": false, "error": ...}` plus optional details."""

    def __init__(self, error: str, *, status: int = 200, **details: Any) -> None:
        super().__init__(error)
        self.error, self.status, self.details = error, status, details

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.details}


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    at: float
    status: int
    ok: bool
    error: str | None
    response: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    method: str | None
    remaining: int
    status: int = 429
    retry_after: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """Pending fault injections, consumed one call at a time, oldest first."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def rate_limit(
        self, method: str | None = None, *, times: int = 1, retry_after: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` (None: any method) with 429."""
        self.pending.append(Fault(method, times, 429, retry_after))

    def fail(self, method: str | None = None, *, times: int = 1, status: int = 500) -> None:
        """Answer the next `times` calls of `method` (None: any method) with a 5xx."""
        self.pending.append(Fault(method, times, status, 0))

    def take(self, method: str) -> Fault | None:
        for fault in self.pending:
            if fault.method in (None, method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.pending.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.pending.clear()


def slack_json(text: str | bytes) -> Any:
    """JSON as Slack reads it: NaN and Infinity, which Python's parser takes, are not
    JSON, so a body or an argument holding one is refused (ValueError) as Slack refuses it."""
    return json.loads(text, parse_constant=_not_json)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")
