"""manifest.yml against Slack's published v2 schema, and against the code."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from bot.pages import SLACK_REDIRECT_PATH
from bot.settings import BOT_SCOPES
from bot.slack.commands import COMMANDS
from bot.slack.subcommands import HELP_LINES, PROVIDER
from tests.conftest import REPO, SHARED

SCHEMA = SHARED / "reference" / "manifest.schema.2.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((REPO / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMA} (../shared is absent)")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(manifest)


def test_schema_check_would_catch_a_mistake(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMA} (../shared is absent)")
    schema = json.loads(SCHEMA.read_text())
    broken = {**manifest, "features": {**manifest["features"], "slash_command": []}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(broken)


def test_every_command_the_code_answers_is_declared(manifest: dict[str, Any]) -> None:
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    assert declared == set(COMMANDS)


def test_the_usage_hint_names_every_subcommand_help_lists(manifest: dict[str, Any]) -> None:
    """Slack shows the hint as people type `/invoices`: a subcommand missing from it is
    one they do not know to ask for."""
    (command,) = manifest["features"]["slash_commands"]
    hint = command["usage_hint"]
    words = {line.split()[1] for line, _ in HELP_LINES if len(line.split()) > 1}
    words -= {PROVIDER}  # a provider's name, standing for any installed
    assert {word for word in words if word not in hint} == set()


def test_what_the_app_listens_to_is_enabled(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


def test_installing_by_oauth_matches_the_code(manifest: dict[str, Any]) -> None:
    """The redirect URL is the route the bot serves, the scopes are those it asks for, and
    a workspace that removes the app is heard of."""
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    (redirect,) = manifest["oauth_config"]["redirect_urls"]
    assert redirect.endswith(SLACK_REDIRECT_PATH)
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
    # Off as shipped: one workspace's SLACK_BOT_TOKEN must not expire. The README tells
    # an operator of many workspaces to turn it on.
    assert manifest["settings"]["token_rotation_enabled"] is False


def test_the_records_export_may_upload_files(manifest: dict[str, Any]) -> None:
    """`/invoices export` shares CSV files (files.getUploadURLExternal and
    files.completeUploadExternal need `files:write`)."""
    assert "files:write" in manifest["oauth_config"]["scopes"]["bot"]
