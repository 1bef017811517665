"""The door of `/slack/events`: the signature first, then the shape, then Bolt.

Bolt parses a request's body before its verification middleware runs, so an unsigned
`payload={not json` reached a JSON parser and answered 500 with a traceback: a lever for
anyone to flood the log. Here the raw body's signature is checked before anything is
parsed (401 if it fails), and a signed body that is not a shape Slack sends gets a 400;
neither logs above WARNING. What passes is what the listeners may rely on. The body is
read once, by Bolt's own request, and Bolt does not verify the signature a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlsplit

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
    if not signature.isascii():  # comparing it with the digest would raise a TypeError
        return False
    try:
        return verifier.is_valid(body.decode("utf-8"), timestamp, signature)
    except (UnicodeDecodeError, ValueError, OverflowError):  # a timestamp of 309+ digits
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


def _choices(value: dict[str, Any], what: str) -> None:
    """A select's choice is an option object (null once cleared); a multi-select's, a
    list of them."""
    if value.get("selected_option") is not None:
        option = _dict(value["selected_option"], f"{what}.selected_option")
        _text(option.get("value"), f"{what}.selected_option.value")
    if "selected_options" in value:
        options = value["selected_options"]
        if not isinstance(options, list):
            raise Malformed(f"{what}.selected_options is not a list")
        for option in options:
            _text(_dict(option, f"{what}.selected_options[]").get("value"), f"{what} option")


def _state(values: dict[str, Any], what: str) -> None:
    for block_id, actions in values.items():
        for action_id, value in _dict(actions, f"{what}.{block_id}").items():
            _choices(_dict(value, f"{what}.{block_id}.{action_id}"), f"{what}.{block_id}")


def _view(payload: dict[str, Any]) -> None:
    view = _dict(payload.get("view"), "view")
    _text(view.get("type"), "view.type")
    state = _dict(view.get("state", {}), "view.state")
    _state(_dict(state.get("values", {}), "view.state.values"), "view.state.values")
    if not isinstance(view.get("private_metadata", ""), str):
        raise Malformed("view.private_metadata is not text")


def _interaction(payload: dict[str, Any]) -> None:
    kind = _text(payload.get("type"), "type")
    _who(payload)
    if kind == "block_actions":
        _text(payload.get("trigger_id"), "trigger_id")
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            raise Malformed("actions is not a non-empty list")
        for action in actions:
            action = _dict(action, "an action")
            _text(action.get("action_id"), "action_id")
            _text(action.get("block_id"), "block_id")  # Slack makes one up when a block has none
            if not isinstance(action.get("value", ""), str):
                raise Malformed("an action's value is not text")
            _choices(action, "an action")
        if "state" in payload:
            values = _dict(_dict(payload["state"], "state").get("values", {}), "state.values")
            _state(values, "state.values")
        if "view" in payload:
            _view(payload)
        for key in ("channel", "container", "message"):
            if key in payload and payload[key] is not None:
                _dict(payload[key], key)
        # A message's click is answered through its response URL; one in a view has none.
        if "view" not in payload or "response_url" in payload:
            _url(payload.get("response_url"), "response_url")
    elif kind == "view_submission":
        _text(payload.get("trigger_id"), "trigger_id")
        _view(payload)
    elif kind == "view_closed":
        _view(payload)


def read(text: str, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """Bolt's request for a signed body, read once, or `Malformed` unless the body is a
    slash command, an interaction or an event: the shape is checked on what Bolt parsed,
    so a click's large form is decoded once, not once here and again in Bolt."""
    try:
        request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
    except Exception:  # whatever Bolt trips on in a body it cannot read
        raise Malformed("the body is not a form or JSON that Slack sends") from None
    body = request.body
    if request.content_type == "application/json" or text.startswith("{"):  # as Bolt reads
        _event(_dict(body, "the body"))
        return request
    if "payload" in text and "payload" in _field_names(text):  # commands rarely say it
        _interaction(_dict(body, "payload"))
        return request
    if "payload" in text:  # Bolt took the word in a plain form for an interaction
        request = _as_plain_form(request)
        body = request.body
    if "command" in body:
        for key in ("team_id", "user_id", "trigger_id"):
            _text(body.get(key), key)
        _url(body.get("response_url"), "response_url")
        return request
    if body.get("ssl_check"):
        return request
    raise Malformed("neither a command, an interaction nor an event")


def _event(event: dict[str, Any]) -> None:
    _text(event.get("type"), "type")
    if "event" in event:
        inner = _dict(event["event"], "event")
        if _text(inner.get("type"), "event.type") == "app_home_opened":
            _text(inner.get("user"), "event.user")


def _field_names(form: str) -> set[str]:
    """The names in a form, without decoding its values (a click's payload is kilobytes)."""
    return {unquote_plus(field.split("=", 1)[0]) for field in form.split("&") if field}


def delivery(body: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """The event id and team of an Events API delivery (None for anything else): Slack
    sends the same event again, with the same id, when our answer was slow or lost."""
    if body.get("type") != "event_callback":
        return None
    found, team = body.get("event_id"), body.get("team_id")
    if not isinstance(found, str) or not found:
        return None
    return found, team if isinstance(team, str) else None


def _as_plain_form(bolt_request: AsyncBoltRequest) -> AsyncBoltRequest:
    """The request with its form read right. Bolt takes any form whose text contains
    "payload" for an interaction, so `/invoices search payload` reached no listener
    ("unhandled request"); such a form is read as the plain form it is. The raw body,
    which the signature covers, is left as it came."""
    form = dict(parse_qsl(bolt_request.raw_body, keep_blank_values=True))
    bolt_request.body = form
    bolt_request.context = build_async_context(AsyncBoltContext({}), form)
    return bolt_request
