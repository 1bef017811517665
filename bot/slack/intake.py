"""The door of `/slack/events`: the signature first, then the shape, then Bolt.

Bolt parses a request's body before its verification middleware runs, so an unsigned
`payload={not json` reached a JSON parser and answered 500 with a traceback: a lever for
anyone to flood the log. Here the raw body's signature is checked before anything is
parsed (401 if it fails), and a signed body that is not a shape Slack sends gets a 400;
neither logs above WARNING. What passes is what the listeners may rely on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


class Malformed(ValueError):
    """A signed request whose body is not one Slack sends; the text says what is wrong."""


def is_ssl_check(body: bytes) -> bool:
    """Slack's certificate check (`ssl_check=1`): answered 200 with nothing done, as Bolt
    does, without a signature."""
    if b"ssl_check" not in body:
        return False  # every command and click: no need to parse the form for this
    try:
        form = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError:
        return False
    return form.get("ssl_check") == ["1"] and "payload" not in form and "command" not in form


def verified(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return False
    try:
        return verifier.is_valid(body.decode("utf-8"), timestamp, signature)
    except (UnicodeDecodeError, ValueError):
        return False


def _dict(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise Malformed(f"{what} is missing or not text")
    return value


def _url(value: object, what: str) -> None:
    """Slack's response URLs are web addresses; a message's actions always carry one."""
    try:
        url = urlsplit(_text(value, what))
        host = url.hostname
    except ValueError:
        raise Malformed(f"{what} is not a web address") from None
    if url.scheme not in ("http", "https") or not host:
        raise Malformed(f"{what} is not a web address")


def _who(payload: dict[str, Any]) -> None:
    _text(_dict(payload.get("user"), "user").get("id"), "user.id")
    _text(_dict(payload.get("team"), "team").get("id"), "team.id")


def _view(payload: dict[str, Any]) -> None:
    view = _dict(payload.get("view"), "view")
    _text(view.get("type"), "view.type")
    state = _dict(view.get("state", {}), "view.state")
    values = _dict(state.get("values", {}), "view.state.values")
    for block_id, actions in values.items():
        for action_id, value in _dict(actions, f"view.state.values.{block_id}").items():
            _dict(value, f"view.state.values.{block_id}.{action_id}")
    if not isinstance(view.get("private_metadata", ""), str):
        raise Malformed("view.private_metadata is not text")


def _interaction(payload: dict[str, Any]) -> None:
    kind = _text(payload.get("type"), "type")
    _who(payload)
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            raise Malformed("actions is not a non-empty list")
        for action in actions:
            action = _dict(action, "an action")
            _text(action.get("action_id"), "action_id")
            if not isinstance(action.get("block_id", ""), str):
                raise Malformed("block_id is not text")
            if not isinstance(action.get("value", ""), str):
                raise Malformed("an action's value is not text")
            if action.get("selected_option") is not None:  # null: the choice was cleared
                option = _dict(action["selected_option"], "selected_option")
                _text(option.get("value"), "selected_option.value")
        if "state" in payload:
            _dict(_dict(payload["state"], "state").get("values", {}), "state.values")
        if "view" in payload:
            _view(payload)
        for key in ("channel", "container", "message"):
            if key in payload and payload[key] is not None:
                _dict(payload[key], key)
        on_message = "message" in payload or (payload.get("container") or {}).get("type") == (
            "message"
        )
        if on_message or "response_url" in payload:
            _url(payload.get("response_url"), "response_url")
    elif kind in ("view_submission", "view_closed"):
        _view(payload)


def check_shape(body: bytes, content_type: str) -> None:
    """Raise `Malformed` unless the body is a slash command, an interaction or an event."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    if content_type.startswith("application/json") or text.lstrip().startswith("{"):
        try:
            event = json.loads(text)
        except ValueError:
            raise Malformed("the body is not JSON") from None
        _text(_dict(event, "the body").get("type"), "type")
        if "event" in event:
            _text(_dict(event["event"], "event").get("type"), "event.type")
        return
    form = {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}
    if "payload" in form:
        try:
            payload = json.loads(form["payload"])
        except ValueError:
            raise Malformed("payload is not JSON") from None
        _interaction(_dict(payload, "payload"))
        return
    if "command" in form:
        for key in ("team_id", "user_id"):
            _text(form.get(key), key)
        return
    if form.get("ssl_check"):
        return
    raise Malformed("neither a command, an interaction nor an event")


def delivery(body: bytes) -> tuple[str, str | None] | None:
    """The event id and team of an Events API delivery (None for anything else): Slack
    sends the same event again, with the same id, when our answer was slow or lost."""
    if not body.lstrip().startswith(b"{"):
        return None  # a form post: a command or an interaction, never an event
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("type") != "event_callback":
        return None
    found, team = event.get("event_id"), event.get("team_id")
    if not isinstance(found, str) or not found:
        return None
    return found, team if isinstance(team, str) else None


def as_bolt_reads_it(bolt_request: AsyncBoltRequest) -> AsyncBoltRequest:
    """The request with its form read right. Bolt takes any form whose text contains
    "payload" for an interaction, so `/invoices search payload` reached no listener
    ("unhandled request"); such a form is read as the plain form it is. The raw body,
    which the signature covers, is left as it came."""
    raw = bolt_request.raw_body
    if raw.lstrip().startswith("{") or "payload" not in raw:
        return bolt_request
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in form:
        return bolt_request
    bolt_request.body = form
    bolt_request.context = build_async_context(AsyncBoltContext({}), form)
    return bolt_request
