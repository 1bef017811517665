"""Connecting a provider: a modal built from its credentials model, checked before saving.

Slack has no password input, so secrets are typed into plain text inputs; they travel
to us over Slack's signed HTTPS request, are verified with the provider, then stored
encrypted and never shown or logged again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import ADMIN_REFUSAL
from bot.kit.errors import capitalized
from bot.provider import BadCredentials, Provider, ProviderError, TwoFactorRequired, WrongCode
from bot.slack import dialogs
from bot.slack.blocks.kit import clip, escape, inline, md, plain, select
from bot.slack.errors import shielded
from bot.slack.field_errors import DialogField, field_error
from bot.slack.services import Services
from bot.slack.values import CODE_VIEW, CONNECT_VIEW, METADATA_CHARS, metadata
from bot.text import plain as plain_text
from bot.text import say

log = logging.getLogger(__name__)

CODE_NEEDED = "Type the code you received."

# How long a code check may take before the dialog is acknowledged (Slack allows 3 s):
# a quick "wrong code" is shown on the code field itself, a slow one by updating the view.
TARGET_CHARS = 200
"""Where a one-time code went, as the code dialog keeps it (it is only shown)."""
CHALLENGE_TOO_LONG = (
    ":warning: {title} asked for a one-time code, but sent its sign-in in a form too long "
    "for a Slack dialog to carry, so it cannot be finished here. Nothing was saved. Tell "
    "whoever maintains the {title} plugin; the details are in invoicebot's log."
)
CODE_ANSWER_BUDGET = 2.0


def _label(name: str, info: FieldInfo) -> str:
    return info.title or name.replace("_", " ").capitalize()


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def is_advanced(info: FieldInfo) -> bool:
    """Fields a plugin marks `json_schema_extra={"advanced": True}`: addresses and switches
    with good defaults, shown apart and optional so nobody types them by accident."""
    return bool(_extra(info).get("advanced"))


def is_exact(info: FieldInfo) -> bool:
    """Fields a plugin marks `json_schema_extra={"exact": True}`: kept as typed, spaces
    and all (a password may begin or end with one). Every other field is trimmed: a key
    pasted with a space after it would otherwise reach the provider and be refused as
    wrong, with nothing to show why."""
    return bool(_extra(info).get("exact"))


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _choices(info: FieldInfo) -> list[str] | None:
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return [str(choice) for choice in typing.get_args(annotation)]
    if annotation is bool:
        return ["true", "false"]
    return None


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def local_defaults(credentials: BaseModel) -> dict[str, str]:
    """The advanced fields' values in `credentials` (a sandbox's, in the demo), to stand
    for the plugin's defaults: an address left empty then means the local sandbox, not
    the provider's real API."""
    fields = type(credentials).model_fields
    return {
        name: _shown(value)
        for name, value in credentials.model_dump().items()
        if name in fields
        and is_advanced(fields[name])
        and not _is_secret(fields[name])
        and value is not None
    }


def _input(name: str, info: FieldInfo, local: str | None = None) -> dict[str, Any]:
    choices = _choices(info)
    advanced = is_advanced(info)
    default = (
        local
        if local is not None
        else None
        if info.is_required() or info.default is None
        else _shown(info.default)
    )
    element: dict[str, Any]
    if choices:
        labels = _extra(info).get("labels") or {}
        shown = [(str(labels.get(c, c)), c) for c in choices]
        element = select("value", "Choose one", shown, default if default in choices else None)
    else:
        element = {"type": "plain_text_input", "action_id": "value"}
        if default and advanced:
            element["placeholder"] = plain(f"Empty: {default}", 150)
        elif default and not _is_secret(info):
            element["initial_value"] = default
    block: dict[str, Any] = {
        "type": "input",
        "block_id": name,
        "label": plain(_label(name, info), 2000),
        "element": element,
    }
    hint = info.description or (
        "Stored encrypted; never shown again." if _is_secret(info) else None
    )
    if hint:
        block["hint"] = plain(hint, 2000)
    if advanced or not info.is_required():
        block["optional"] = True
    return block


def connect_modal(
    cls: type[Provider], error: str | None = None, defaults: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`defaults`: advanced fields' values standing for the plugin's (see `local_defaults`)."""
    defaults = defaults or {}
    blocks: list[dict[str, Any]] = []
    if error:
        blocks.append(
            {"type": "section", "block_id": "problem", "text": md(f":warning: {escape(error)}")}
        )
    blocks.append(
        {
            "type": "section",
            "block_id": "intro",
            "text": md(
                f"invoicebot checks these with {escape(cls.title)} before saving them, encrypted."
            ),
        }
    )
    fields = cls.Credentials.model_fields
    blocks += [_input(name, info) for name, info in fields.items() if not is_advanced(info)]
    advanced = [
        _input(name, info, defaults.get(name)) for name, info in fields.items() if is_advanced(info)
    ]
    if advanced:
        blocks += [
            {"type": "divider", "block_id": "advanced_divider"},
            {
                "type": "context",
                "block_id": "advanced",
                "elements": [
                    md(
                        "*Advanced* (optional): leave these empty unless "
                        f"{escape(cls.title)} told you otherwise."
                    )
                ],
            },
            *advanced,
        ]
    return {
        "type": "modal",
        "callback_id": CONNECT_VIEW,
        "private_metadata": cls.name,
        "title": plain(f"Connect {cls.title}", 24),
        "submit": plain("Connect", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def connect_problem(cls: type[Provider], error: ProviderError, *, connected: bool) -> str:
    """Why connecting failed, as sentences (the kit already words network failures);
    `connected`: the details already saved stay in use, so say so rather than 'not
    connected'."""
    reason = plain_text(error.message) or "It gave no reason."
    reason = capitalized(reason)
    kept = f" The {cls.title} connection saved before stays as it was." if connected else ""
    if isinstance(error, BadCredentials):
        return f"{cls.title} did not accept these details: {reason}{kept}"
    if connected:
        return f"These details were not saved. {reason}{kept}"
    return f"{cls.title} is not connected yet. {reason}"


def code_modal(
    cls: type[Provider], challenge: TwoFactorRequired, error: str | None = None
) -> dict[str, Any]:
    """Ask for the one-time code; the metadata holds only the provider and the public challenge."""
    where = f" to {inline(challenge.target, TARGET_CHARS)}" if challenge.target else ""
    lead = f"{escape(cls.title)} sent a one-time code{where}. Type it here; it is not stored."
    blocks: list[dict[str, Any]] = []
    if error:
        blocks.append(
            {"type": "section", "block_id": "problem", "text": md(f":warning: {escape(error)}")}
        )
    blocks += [
        {"type": "section", "block_id": "intro", "text": md(lead)},
        {
            "type": "input",
            "block_id": "code",
            "label": plain("One-time code"),
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
    ]
    return {
        "type": "modal",
        "callback_id": CODE_VIEW,
        "private_metadata": code_metadata(cls, challenge),
        "title": plain(f"Connect {cls.title}", 24),
        "submit": plain("Confirm", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def code_metadata(cls: type[Provider], challenge: TwoFactorRequired) -> str:
    """What the code dialog carries back: the provider and its challenge, which a plugin
    words as it likes (`fits_a_dialog` says whether Slack will keep it)."""
    target = clip(challenge.target, TARGET_CHARS) if challenge.target else challenge.target
    return json.dumps({"provider": cls.name, "challenge": challenge.challenge, "target": target})


def fits_a_dialog(cls: type[Provider], challenge: TwoFactorRequired) -> bool:
    return len(code_metadata(cls, challenge)) <= METADATA_CHARS


def result_view(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": f"{CONNECT_VIEW}.done",
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "blocks": [{"type": "section", "block_id": "result", "text": md(text)}],
    }


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        state = actions.get("value", {})
        value = state.get("value")
        if value is None and state.get("selected_option"):
            value = state["selected_option"]["value"]
        if value not in (None, ""):
            values[block_id] = value
    return values


def parse_credentials(
    cls: type[Provider], view: dict[str, Any], defaults: Mapping[str, str] | None = None
) -> BaseModel | dict[str, str]:
    """The credentials model, or Slack's `errors` mapping (block id → a sentence naming
    the field). A problem with no field of its own (a model validator's) goes on the first
    field shown: Slack refuses errors on any block but an input. `defaults` fill the
    advanced fields left empty, as `connect_modal` showed them."""
    fields = cls.Credentials.model_fields
    values = {
        name: value
        for name, value in (defaults or {}).items()
        if name in fields and is_advanced(fields[name])
    }
    for name, value in submitted_values(view).items():
        info = fields.get(name)
        kept = value if info is not None and is_exact(info) else value.strip()
        if kept:  # only spaces: as if left empty, so a default applies
            values[name] = kept
    try:
        return cls.Credentials.model_validate(values)
    except ValidationError as error:
        shown = [name for name, info in fields.items() if not is_advanced(info)] + [*fields]
        errors: dict[str, str] = {}
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            name = name if name in fields else shown[0] if shown else "intro"
            info = fields.get(name)
            field = DialogField(
                _label(name, info) if info else "This",
                secret=bool(info and _is_secret(info)),
                choice=bool(info and _choices(info)),
            )
            errors.setdefault(name, field_error(problem, field))
        return errors


async def on_submit(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    view = body["view"]
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    cls = svc.connections.registry.get(view.get("private_metadata", ""))
    if cls is None:
        await ack(
            response_action="update",
            view=result_view("Not connected", "That provider is not installed."),
        )
        return
    if not await svc.access.may_administer(team_id, user_id):
        svc.store.audit("refused.connect", team_id=team_id, user_id=user_id, subject=cls.name)
        await ack(response_action="update", view=result_view("Not connected", ADMIN_REFUSAL))
        return
    defaults = svc.connect_defaults.get(cls.name)
    credentials = parse_credentials(cls, view, defaults)
    if isinstance(credentials, dict):
        await ack(response_action="errors", errors=credentials)
        return
    connected = any(p.name == cls.name for p in svc.connections.connected(team_id))
    await ack(
        response_action="update",
        view=result_view(
            f"Connecting {cls.title}"[:24], f"Checking the credentials with {escape(cls.title)}…"
        ),
    )
    await _finish(
        svc,
        client,
        view["id"],
        (team_id, user_id),
        cls,
        svc.connections.connect(team_id, cls.name, credentials, connected_by=user_id),
        lambda error: connect_modal(
            cls, error=connect_problem(cls, error, connected=connected), defaults=defaults
        ),
    )


async def _finish(
    svc: Services,
    client: AsyncWebClient,
    view_id: str,
    who: tuple[str, str],
    cls: type[Provider],
    attempt: Awaitable[Provider],
    failed_view: Callable[[ProviderError], dict[str, Any]],
) -> None:
    """Await the sign-in and show its outcome: connected, a code to type, or the refusal."""
    team_id, user_id = who
    try:
        await attempt
    except TwoFactorRequired as challenge:
        svc.store.audit(
            "provider.two_factor_asked", team_id=team_id, user_id=user_id, subject=cls.name
        )
        if not fits_a_dialog(cls, challenge):
            log.warning(
                "%s's two-factor challenge is %d characters, too long for a Slack dialog",
                cls.name,
                len(challenge.challenge),
            )
            told = CHALLENGE_TOO_LONG.format(title=escape(cls.title))
            await dialogs.update(
                client,
                view_id,
                result_view("Not connected", told),
                tell=dialogs.Told(svc.store, team_id, user_id, told),
            )
            return
        await dialogs.update(client, view_id, code_modal(cls, challenge))
        return
    except ProviderError as error:
        svc.store.audit(
            "provider.connect_failed",
            team_id=team_id,
            user_id=user_id,
            subject=cls.name,
            reason=error.message,
        )
        told = f":warning: {escape(cls.title)} was not connected: {escape(say(error))}"
        await dialogs.update(
            client,
            view_id,
            failed_view(error),
            tell=dialogs.Told(svc.store, team_id, user_id, told),
        )
        return
    svc.store.audit("provider.connected", team_id=team_id, user_id=user_id, subject=cls.name)
    done = f":white_check_mark: {escape(cls.title)} is connected. Try `/invoices`."
    await dialogs.update(
        client,
        view_id,
        result_view("Connected", done),
        tell=dialogs.Told(svc.store, team_id, user_id, done),
    )


async def on_code(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    view = body["view"]
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    try:
        meta = metadata(view)
        cls = svc.connections.provider_class(str(meta["provider"]))
        challenge = TwoFactorRequired(
            "", challenge=str(meta["challenge"]), target=meta.get("target")
        )
    except (ValueError, KeyError, ProviderError):
        await ack(
            response_action="update",
            view=result_view(
                "Not connected", "That dialog is out of date. Start again with `/invoices connect`."
            ),
        )
        return
    if not await svc.access.may_administer(team_id, user_id):
        await ack(response_action="update", view=result_view("Not connected", ADMIN_REFUSAL))
        return
    code = submitted_values(view).get("code", "").strip()
    if not code:
        await ack(response_action="errors", errors={"code": CODE_NEEDED})
        return
    attempt = asyncio.ensure_future(
        svc.connections.answer_two_factor(team_id, challenge.challenge, code)
    )
    await asyncio.wait({attempt}, timeout=CODE_ANSWER_BUDGET)
    if attempt.done() and isinstance(attempt.exception(), WrongCode):
        svc.store.audit("provider.wrong_code", team_id=team_id, user_id=user_id, subject=cls.name)
        await ack(response_action="errors", errors={"code": say_plainly(attempt.exception())})
        return
    await ack(
        response_action="update",
        view=result_view(f"Connecting {cls.title}"[:24], "Checking the code…"),
    )

    def failed(error: ProviderError) -> dict[str, Any]:
        if isinstance(error, WrongCode):  # answered late: the same question, once more
            return code_modal(cls, challenge, error=say(error))
        return result_view("Not connected", f":warning: {escape(say(error))}")

    await _finish(svc, client, view["id"], (team_id, user_id), cls, attempt, failed)


def say_plainly(error: BaseException | None) -> str:
    return say(error) if isinstance(error, ProviderError) else "Type the code again."


def register(app: AsyncApp, svc: Services) -> None:
    async def submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_submit(svc, ack, body, client)

    async def submit_code(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_code(svc, ack, body, client)

    app.view(CONNECT_VIEW)(shielded(submit))
    app.view(CODE_VIEW)(shielded(submit_code))
