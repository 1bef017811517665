"""The sandbox kit: what every provider sandbox shares, so each keeps only its own API.

Sandboxes are development tools (like `slack_emulator`); `invoicebot run` never imports
this package. A sandbox's state derives from `SandboxBase` and names its fault kinds; its
middleware uses `FaultReplies` and `answered`; `Controls` adds the `/_sandbox/...` routes;
`sandbox_app` puts it together.
"""

from bot.sandbox.control import Controls, SandboxSettings, Strict
from bot.sandbox.faults import SHARED_KINDS, Fault, FaultInjection, FaultReplies
from bot.sandbox.http import (
    BodyProblem,
    ErrorBody,
    Handler,
    Refusal,
    answered,
    read_body,
    sandbox_app,
)
from bot.sandbox.state import ABSENT, SandboxBase, Seen

__all__ = [
    "ABSENT",
    "SHARED_KINDS",
    "BodyProblem",
    "Controls",
    "ErrorBody",
    "Fault",
    "FaultInjection",
    "FaultReplies",
    "Handler",
    "Refusal",
    "SandboxBase",
    "SandboxSettings",
    "Seen",
    "Strict",
    "answered",
    "read_body",
    "sandbox_app",
]
