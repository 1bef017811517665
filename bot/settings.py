"""Configuration from environment variables (and a `.env` file), checked at start-up."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.approvals_policy import Policy, PolicyError
from bot.credentials import key_problem
from bot.engine import database_problem
from bot.timetable import (
    BadTimetable,
    Timetable,
    parse_auto_remind,
    parse_slot,
    parse_time,
    parse_zone,
)

CommaList = Annotated[frozenset[str], NoDecode]
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "channels:history",
    "groups:history",
    "im:history",
    "users:read",
    "usergroups:read",
    "files:write",
)
"""What the bot asks for at install; `manifest.yml` declares the same list."""


TOKEN_PREFIXES = {
    "slack_bot_token": ("xoxb-", "xoxe.xoxb-"),
    "slack_app_token": ("xapp-",),
}
"""What each Slack token variable starts with (a rotating bot token wears `xoxe.`)."""


class Settings(BaseSettings):
    """Everything `invoicebot run` needs; the env var names are in each field's alias."""

    model_config = SettingsConfigDict(
        env_prefix="INVOICEBOT_",
        env_file=".env",
        env_ignore_empty=True,  # `NAME=` left from a template means unset, not ""
        extra="ignore",
        populate_by_name=True,
    )

    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN"),
        description="One workspace: the bot token from the app's OAuth & Permissions page.",
    )
    slack_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_CLIENT_ID"),
        description="Many workspaces: install by OAuth (with SLACK_CLIENT_SECRET, no bot token).",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET")
    )
    slack_scopes: CommaList = Field(
        default=frozenset(BOT_SCOPES),
        validation_alias=AliasChoices("SLACK_SCOPES"),
        description="Bot scopes asked for at install: the manifest's oauth_config.scopes.bot.",
    )
    slack_authorize_url: str = Field(
        default="https://slack.com/oauth/v2/authorize",
        validation_alias=AliasChoices("SLACK_AUTHORIZE_URL"),
        description="Where /slack/install sends the installer's browser.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN"),
        description="Set to use Socket Mode instead of a public request URL.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL")
    )
    public_url: str = Field(description="Where payers' browsers reach /pay and /landing.")
    secret_key: SecretStr = Field(description="Fernet key(s) for provider credentials.")
    billing_channel: str | None = Field(
        default=None,
        description="Channel id for paid confirmations (one workspace; with OAuth each "
        "workspace's admin picks its own).",
    )
    database: str = Field(
        default="invoicebot.sqlite",
        description="A sqlite file, or postgresql://user@host/db for several processes.",
    )
    host: str = "0.0.0.0"  # noqa: S104 - a server meant to be reached from Slack
    port: int = Field(default=3000, ge=1, le=65535)
    payers: CommaList = frozenset()
    payer_group: str | None = None
    admins: CommaList = frozenset()
    admin_group: str | None = None
    poll_first_delay: float = Field(default=5.0, gt=0, description="First payment check, s.")
    poll_max_delay: float = Field(default=300.0, gt=0, description="Longest gap between checks.")
    check_lease: float = Field(
        default=120.0,
        gt=0,
        description="Seconds a payment check stays with the process that took it (PostgreSQL).",
    )
    outbox_lease: float = Field(
        default=45.0,
        gt=0,
        description="Seconds a Slack call stays with the process sending it (PostgreSQL).",
    )
    snapshot_seconds: float = Field(
        default=15.0,
        ge=0,
        description="How long a connection's invoices are shared by lists (0: read each time).",
    )
    business_name: str | None = Field(
        default=None,
        description="Your business as customers know it: named on their payment pages.",
    )
    notify_failures: Literal["payables", "receivables", "both", "none"] = Field(
        default="receivables",
        description="Which failed or cancelled payments the billing channel hears about.",
    )
    approvals: str = Field(
        default="",
        description=(
            "Approval brackets until an admin saves them in Slack: one per line or `;`, "
            "`[provider] CURRENCY MINIMUM NEEDED APPROVER,…` (user ids U…, user groups S…), "
            "e.g. `EUR 500 1 U0ALEX,S0FINANCE; EUR 5000 2 U0ALEX,U0BEA,S0FINANCE`."
        ),
    )
    approval_hours: float = Field(
        default=24.0, gt=0, description="Hours an approval (or a request) stays good for."
    )
    trust_proxy: bool = Field(
        default=False,
        description="Believe X-Forwarded-Proto and X-Forwarded-For (behind a reverse proxy).",
    )
    timezone: str = Field(
        default="UTC",
        description="The workspace's IANA time zone for schedules (Slack's API gives none).",
    )
    digest: str = Field(
        default="mon 09:00",
        description="When the billing channel gets its digest: 'mon 09:00', 'daily 09:00', off.",
    )
    reminder_time: str = Field(
        default="09:00", description="When each day's reminders go out, in `timezone`."
    )
    due_reminder_days: int = Field(
        default=3,
        ge=0,
        description="DM payers daily from this many days before a payable falls due; 0: off.",
    )
    auto_remind: str = Field(
        default="off",
        description="Re-send overdue customer invoices: '7x3' is every 7 days, at most 3 times.",
    )
    clock_file: Path | None = Field(
        default=None,
        description="Testing only: a file with seconds to add to the time, or an instant.",
    )

    @property
    def timetable(self) -> Timetable:
        """The schedules, in one object a per-workspace settings dialog can replace."""
        return Timetable.parse(
            zone=self.timezone,
            digest=self.digest,
            daily=self.reminder_time,
            due_reminder_days=self.due_reminder_days,
            auto_remind=self.auto_remind,
        )

    @field_validator("timezone", "digest", "reminder_time", "auto_remind")
    @classmethod
    def _schedule_reads(cls, value: str, info: ValidationInfo) -> str:
        """Parsed at start-up, so a bad value stops the bot with the variable named."""
        parse = {
            "timezone": parse_zone,
            "digest": parse_slot,
            "reminder_time": parse_time,
            "auto_remind": parse_auto_remind,
        }[str(info.field_name)]
        try:
            parse(value)
        except BadTimetable as error:
            raise ValueError(str(error)) from None
        return value

    @property
    def https(self) -> bool:
        """Payers reach us over https: cookies must be `Secure`."""
        return self.public_url.lower().startswith("https://")

    @field_validator("secret_key")
    @classmethod
    def _usable_key(cls, value: SecretStr) -> SecretStr:
        """Checked with the other variables, so the one line at start-up names a mistyped
        key beside everything else that is missing or wrong."""
        if problem := key_problem(value.get_secret_value()):
            raise ValueError(problem)
        return value

    @field_validator("database", mode="before")
    @classmethod
    def _database_path(cls, value: object) -> object:
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        if isinstance(value, str) and (problem := database_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("notify_failures", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("approvals")
    @classmethod
    def _readable_policy(cls, value: str) -> str:
        try:
            Policy.parse(value)
        except PolicyError as problem:
            raise ValueError(str(problem)) from None
        return value

    @property
    def approval_policy(self) -> Policy:
        """The seed policy these variables describe (a saved one in Slack overrides it)."""
        return Policy.parse(self.approvals, self.approval_hours)

    @field_validator("payers", "admins", "slack_scopes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("payers", "admins")
    @classmethod
    def _member_ids(cls, value: frozenset[str]) -> frozenset[str]:
        """Slack names people by id: a handle such as `alex` would match nobody, and
        nobody could pay or connect a provider without being told why."""
        if wrong := sorted(item for item in value if not re.fullmatch(r"[UW][A-Z0-9]+", item)):
            raise ValueError(
                f"{', '.join(wrong)}: write Slack member ids such as U0123ABCD (in Slack: a "
                "profile, ⋮, Copy member ID), not names"
            )
        return value

    @field_validator("payer_group", "admin_group")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError(
                "is only spaces: write a user group id such as S0123ABCD, or leave it unset"
            )
        if not re.fullmatch(r"S[A-Z0-9]+", value):
            raise ValueError(
                f"{value}: write a user group id such as S0123ABCD (in Slack: People, User "
                "groups, the group, ⋮, Copy group ID), not its handle"
            )
        return value

    @field_validator("billing_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        """An id, not a #name: Slack's history and update methods take ids only."""
        if value is None:
            return None
        value = value.strip()
        if not re.fullmatch(r"[CGD][A-Z0-9]+", value):
            raise ValueError(
                "must be a channel id such as C0123ABCD (in Slack: channel details, at the "
                "bottom), not a #name"
            )
        return value

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Slack's pages show several tokens side by side: a user token as the bot's starts
        and fails only when a post is due, a bot token as the app-level one retries Socket
        Mode for ever. The prefix tells them apart; the token itself is never repeated."""
        if value is None:
            return None
        prefixes = TOKEN_PREFIXES[str(info.field_name)]
        if not value.get_secret_value().strip().startswith(prefixes):
            raise ValueError(f"expected a token starting {prefixes[0]}…, not another kind")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("public_url", "slack_api_url", "slack_authorize_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        """A bare host (as the manifest's `invoicebot.example.com`) would make every pay
        link, or every Slack call, unusable long after start-up: say so now."""
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not a web address: write it as https://host/…")
        return value

    @field_validator("public_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _with_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/") + "/"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """Installed by OAuth in any number of workspaces, rather than one bot token."""
        return (
            self.slack_bot_token is None
            and bool(self.slack_client_id)
            and self.slack_client_secret is not None
        )

    @property
    def redirect_url(self) -> str:
        return f"{self.public_url}/slack/oauth_redirect"


class MissingSettings(Exception):
    """Raised with every missing or invalid variable named, for a one-line exit message."""


def env_name(field: str) -> str:
    """The variable a field is read from (errors name fields by alias or by name)."""
    info = Settings.model_fields.get(field)
    if info is None:
        return field
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"INVOICEBOT_{field.upper()}"


class _SlackMode(BaseSettings):
    """Read from the same sources as `Settings`, to tell which Slack secret is required."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    slack_signing_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN")
    )
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN")
    )
    slack_client_id: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_ID")
    )
    slack_client_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET")
    )
    billing_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("INVOICEBOT_BILLING_CHANNEL")
    )


class _DatabaseOnly(BaseSettings):
    """`INVOICEBOT_DATABASE` from the same sources as `Settings`, for `invoicebot migrate`,
    which needs nothing else."""

    model_config = SettingsConfigDict(
        env_prefix="INVOICEBOT_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    database: str = "invoicebot.sqlite"


def load_database() -> str:
    """The database `invoicebot run` would open; `MissingSettings` if it is mistyped."""
    database = _DatabaseOnly().database
    if problem := database_problem(database):
        raise MissingSettings(f"invalid INVOICEBOT_DATABASE ({problem})")
    return database


def load_settings() -> Settings:
    """Settings from the environment, or `MissingSettings` naming every problem at once."""
    missing: set[str] = set()
    invalid: list[str] = []
    mode = _SlackMode()
    if not mode.slack_app_token and not mode.slack_signing_secret:
        missing.add("SLACK_SIGNING_SECRET")
    by_oauth = bool(mode.slack_client_id or mode.slack_client_secret) and not mode.slack_bot_token
    if by_oauth:
        missing.update(
            name
            for name, value in (
                ("SLACK_CLIENT_ID", mode.slack_client_id),
                ("SLACK_CLIENT_SECRET", mode.slack_client_secret),
            )
            if not value
        )
    elif not mode.slack_bot_token:
        missing.add("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)")
    if not by_oauth and not mode.billing_channel:
        missing.add("INVOICEBOT_BILLING_CHANNEL")
    settings = None
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = env_name(str(problem["loc"][0]))
            if problem["type"] == "missing":
                missing.add(name)
            else:
                reason = str(problem["msg"]).removeprefix("Value error, ")
                invalid.append(f"{name} ({reason})")
    problems = []
    if missing:
        problems.append("missing " + ", ".join(sorted(missing)))
    if invalid:
        problems.append("invalid " + ", ".join(invalid))
    if problems or settings is None:
        raise MissingSettings("; ".join(problems))
    return settings
