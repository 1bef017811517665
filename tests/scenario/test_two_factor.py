"""Connecting a provider that asks for a one-time code: the modal asks, the code is not kept."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pluggy
import pytest
from aiohttp.test_utils import TestServer
from pydantic import BaseModel, SecretStr

from bot import hookimpl
from bot.models import InvoicePage
from bot.plugins import make_plugin_manager
from bot.provider import BadCredentials, Provider, TwoFactorRequired, WrongCode
from bot.settings import Settings
from bot.web import STORE, create_app
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import FakeSlack
from tests.postgres import stored_bytes
from tests.scenario.harness import TEAM, Harness
from tests.slack_requests import interaction_body

CODE = "482913"


class GuardedCredentials(BaseModel):
    email: str
    password: SecretStr


class Guarded(Provider):
    """Signs in only with a one-time code, like PingProxies' two-factor login."""

    name = "guarded"
    title = "Guarded Hosting"
    Credentials = GuardedCredentials
    codes_seen: ClassVar[list[str]] = []
    mistyped: ClassVar[set[str]] = {"482193"}  # refused, but the challenge stays open

    def __init__(self, credentials: BaseModel, http: aiohttp.ClientSession) -> None:
        super().__init__(credentials, http)
        self.signed_in = False

    async def verify(self) -> None:
        if not self.signed_in:
            raise TwoFactorRequired("Code needed", challenge="pub-77", target="p**@acme.test")

    async def answer_two_factor(self, challenge: str, code: str) -> None:
        Guarded.codes_seen.append(code)
        if challenge == "pub-77" and code in Guarded.mistyped:
            raise WrongCode("Guarded Hosting did not accept that code; type it again.")
        if challenge != "pub-77" or code != CODE:
            raise BadCredentials("Guarded Hosting did not accept that code.")
        self.signed_in = True

    async def list_invoices(self, query: Any) -> InvoicePage:
        return InvoicePage(invoices=[])

    async def get_invoice(self, invoice_id: str) -> Any:
        raise NotImplementedError

    async def payment_options(self, invoice_ids: list[str]) -> Any:
        raise NotImplementedError

    async def start_payment(self, request: Any) -> Any:
        raise NotImplementedError

    async def check_payment(self, check: Any) -> Any:
        raise NotImplementedError


class GuardedPlugin:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(Guarded)


@pytest.fixture
async def guarded(
    tmp_path: Path, settings: Settings, fake_slack: tuple[FakeSlack, TestServer]
) -> AsyncIterator[Harness]:
    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(GuardedPlugin(), name="guarded")
    async with admin_harness(settings, fake_slack, pm) as h:
        yield h


@contextlib.asynccontextmanager
async def admin_harness(
    settings: Settings, fake_slack: tuple[FakeSlack, TestServer], pm: pluggy.PluginManager
) -> AsyncIterator[Harness]:
    """A bot with these plugins, where U0ADMIN is an admin (who connects providers)."""
    settings = settings.model_copy(update={"admins": frozenset({"U0ADMIN"})})
    bot = TestServer(create_app(settings, pm), host="127.0.0.1")
    await bot.start_server()
    slack, slack_server = fake_slack
    async with aiohttp.ClientSession() as http:
        yield Harness(bot, slack, slack_server, SIGNING_SECRET, http)
    await bot.close()


async def submit(h: Harness, view: dict[str, Any], values: dict[str, str]) -> dict[str, Any] | str:
    state = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}
    payload = {
        "type": "view_submission",
        "trigger_id": "1.2.3",
        "team": {"id": TEAM},
        "user": {"id": "U0ADMIN", "team_id": TEAM},
        "view": {**view, "id": h.slack.top("U0ADMIN")["id"], "state": {"values": state}},
    }
    status, answer, _ = await h.post(interaction_body(payload))
    assert status == 200
    return answer


async def test_the_modal_asks_for_the_code_and_connects_without_keeping_it(
    guarded: Harness,
) -> None:
    h = guarded
    Guarded.codes_seen.clear()
    await h.command("connect guarded", user="U0ADMIN")
    (opened,) = await h.wait_for(lambda: h.slack.called("views.open"))
    await submit(h, opened.args["view"], {"email": "pat@acme.test", "password": "hunter2"})
    (asked,) = await h.wait_for(lambda: h.slack.called("views.update"))
    code_view = asked.args["view"]
    assert "sent a one-time code to p**@acme.test" in str(code_view)
    assert "hunter2" not in str(code_view)

    await submit(h, code_view, {"code": "000000"})
    updates = await h.wait_for(
        lambda: len(h.slack.called("views.update")) == 2 and h.slack.called("views.update")
    )
    assert "did not accept that code" in str(updates[1].args["view"])
    store = h.bot.app[STORE]
    assert store.connected_providers(TEAM) == []

    await h.command("connect guarded", user="U0ADMIN")
    opened = (
        await h.wait_for(
            lambda: len(h.slack.called("views.open")) == 2 and h.slack.called("views.open")
        )
    )[1]
    await submit(h, opened.args["view"], {"email": "pat@acme.test", "password": "hunter2"})
    asked = (
        await h.wait_for(
            lambda: len(h.slack.called("views.update")) == 3 and h.slack.called("views.update")
        )
    )[2]
    await submit(h, asked.args["view"], {"code": CODE})
    done = (
        await h.wait_for(
            lambda: len(h.slack.called("views.update")) == 4 and h.slack.called("views.update")
        )
    )[3]
    assert "is connected" in str(done.args["view"])
    assert store.connected_providers(TEAM) == ["guarded"]
    assert Guarded.codes_seen == ["000000", CODE]
    files = stored_bytes(store)
    assert CODE.encode() not in files and b"hunter2" not in files
    assert "provider.connected" in [e.action for e in store.audit_log()]


async def test_a_mistyped_code_is_retyped_in_the_same_dialog(guarded: Harness) -> None:
    """The admin types the five-digit slip again, not all the credentials."""
    h = guarded
    Guarded.codes_seen.clear()
    await h.command("connect guarded", user="U0ADMIN")
    (opened,) = await h.wait_for(lambda: h.slack.called("views.open"))
    await submit(h, opened.args["view"], {"email": "pat@acme.test", "password": "hunter2"})
    (asked,) = await h.wait_for(lambda: h.slack.called("views.update"))
    code_view = asked.args["view"]

    answer = await submit(h, code_view, {"code": "482193"})
    assert answer == {
        "response_action": "errors",
        "errors": {"code": "Guarded Hosting did not accept that code; type it again."},
    }
    assert len(h.slack.called("views.update")) == 1  # the dialog stays as it is

    await submit(h, code_view, {"code": CODE})
    done = (
        await h.wait_for(
            lambda: len(h.slack.called("views.update")) == 2 and h.slack.called("views.update")
        )
    )[1]
    assert "is connected" in str(done.args["view"])
    assert h.bot.app[STORE].connected_providers(TEAM) == ["guarded"]
    assert Guarded.codes_seen == ["482193", CODE]


async def test_the_code_may_reach_another_process_than_the_sign_in(
    settings: Settings, fake_slack: tuple[FakeSlack, TestServer], postgres_url: str
) -> None:
    """Processes on one PostgreSQL behind a load balancer: the admin's credentials reach
    one, the code typed a minute later another, which finishes the sign-in."""
    Guarded.codes_seen.clear()
    shared = settings.model_copy(update={"database": postgres_url})

    def plugins() -> pluggy.PluginManager:
        pm = make_plugin_manager(entry_point_plugins=False)
        pm.register(GuardedPlugin(), name="guarded")
        return pm

    async with (
        admin_harness(shared, fake_slack, plugins()) as first,
        admin_harness(shared, fake_slack, plugins()) as second,
    ):
        await first.command("connect guarded", user="U0ADMIN")
        (opened,) = await first.wait_for(lambda: first.slack.called("views.open"))
        await submit(first, opened.args["view"], {"email": "pat@acme.test", "password": "hunter2"})
        (asked,) = await first.wait_for(lambda: first.slack.called("views.update"))
        await submit(second, asked.args["view"], {"code": CODE})
        done = (
            await second.wait_for(
                lambda: (
                    len(second.slack.called("views.update")) == 2
                    and second.slack.called("views.update")
                )
            )
        )[1]
        assert "is connected" in str(done.args["view"]), done.args["view"]
        assert Guarded.codes_seen == [CODE]
        store = second.bot.app[STORE]
        assert store.connected_providers(TEAM) == ["guarded"]
        files = stored_bytes(store)
        assert CODE.encode() not in files and b"hunter2" not in files


class LongWinded(Guarded):
    """Its challenge is a signed token, and its target a long list of where it sent."""

    name = "longwinded"
    title = "Longwinded"
    challenge: ClassVar[str] = "pub-77"
    target: ClassVar[str] = "p**@acme.test"

    async def verify(self) -> None:
        if not self.signed_in:
            raise TwoFactorRequired("Code needed", challenge=self.challenge, target=self.target)

    async def answer_two_factor(self, challenge: str, code: str) -> None:
        Guarded.codes_seen.append(code)
        if challenge != LongWinded.challenge or code != CODE:
            raise BadCredentials("Longwinded did not accept that code.")
        self.signed_in = True


class LongWindedPlugin:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(LongWinded)


@pytest.fixture
async def longwinded(
    settings: Settings, fake_slack: tuple[FakeSlack, TestServer]
) -> AsyncIterator[Harness]:
    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(LongWindedPlugin(), name="longwinded")
    async with admin_harness(settings, fake_slack, pm) as h:
        yield h


async def ask_code(h: Harness) -> dict[str, Any]:
    await h.command("connect longwinded", user="U0ADMIN")
    (opened,) = await h.wait_for(lambda: h.slack.called("views.open"))
    await submit(h, opened.args["view"], {"email": "pat@acme.test", "password": "hunter2"})
    (asked,) = await h.wait_for(lambda: h.slack.called("views.update"))
    return dict(asked.args["view"])


async def test_a_long_target_is_cut_in_the_dialog_and_the_code_still_connects(
    longwinded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack refuses a view whose private_metadata passes 3,000 characters: where the code
    went is only shown, so it is cut, and the dialog still opens and connects."""
    monkeypatch.setattr(LongWinded, "target", "p**@acme.test, " * 400)
    h = longwinded
    code_view = await ask_code(h)
    assert len(code_view["private_metadata"]) <= 3000 and "sent a one-time code" in str(code_view)
    await submit(h, code_view, {"code": CODE})
    done = await h.wait_for(
        lambda: len(h.slack.called("views.update")) == 2 and h.slack.called("views.update")
    )
    assert "is connected" in str(done[1].args["view"])


async def test_a_challenge_too_long_for_a_dialog_is_said_plainly(
    longwinded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A challenge the dialog cannot carry back: the admin reads why, not a dialog stuck
    on "Checking…" after Slack refused the code's; nothing is saved."""
    monkeypatch.setattr(LongWinded, "challenge", "eyJ" + "x" * 3000)
    h = longwinded
    shown = await ask_code(h)
    said = str(shown)
    assert "Longwinded asked for a one-time code" in said and "Nothing was saved" in said
    assert len(shown.get("private_metadata", "")) <= 3000 and "eyJ" not in said
    assert h.bot.app[STORE].connected_providers(TEAM) == []
    assert h.slack.refused == []
