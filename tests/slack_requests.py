"""Build requests exactly as Slack sends them: form-encoded and signed (v0 HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode


def sign(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, ts, body),
    }


def slash_command_body(
    text: str = "",
    *,
    user_id: str = "U0PAYER",
    channel_id: str = "C0GENERAL",
    team_id: str = "T0TEAM",
    response_url: str = "http://127.0.0.1:9/response",
    trigger_id: str = "1.2.3",
) -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": team_id,
            "team_domain": "acme",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "payer",
            "command": "/invoices",
            "text": text,
            "api_app_id": "A0INVOICEBOT",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})
