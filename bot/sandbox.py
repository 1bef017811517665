"""What every provider sandbox shares: faults injected on purpose for tests and demos.

Sandboxes are development tools (like `slack_emulator`); `invoicebot run` never imports
this module. A sandbox's state derives from `FaultInjection` and names its kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class Fault:
    """The next `remaining` requests (to `path`, if given) misbehave as `kind`."""

    kind: str
    remaining: int = 1
    path: str | None = None


@dataclass(kw_only=True)
class FaultInjection:
    """Faults queued on a sandbox's state; its middleware takes one per request."""

    FAULT_KINDS: ClassVar[tuple[str, ...]] = ()

    faults: list[Fault] = field(default_factory=list)

    def inject(self, kind: str, count: int = 1, path: str | None = None) -> Fault:
        if kind not in self.FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(self.FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(kind, count, path)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, path: str) -> str | None:
        """The fault this request suffers, if any; each use counts one down."""
        for fault in self.faults:
            if fault.path is None or fault.path == path:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault.kind
        return None
