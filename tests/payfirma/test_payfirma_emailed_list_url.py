"""Send by e-mail on a draft refreshes the list it was clicked in through that click's
response URL, kept in the dialog. Only a URL Slack gave the bot for that click, within
Slack's 30 minutes, is posted to: a submission whose dialog names another (forged) shows
the person's list nowhere."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.fernet import Fernet

from bot.credentials import CredentialBox
from bot.demo import Demo
from bot.slack.customers import LIST_URL_LIFE, _opened_url, _sealed_url
from plugins.payfirma.sandbox import SANDBOX
from slack_emulator import EMULATOR, payloads
from tests.e2e.conftest import Person, button_value
from tests.payfirma.test_payfirma_demo import demo, person, soon

__all__ = ["demo", "person"]


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[TestServer, list[str]]]:
    """A web address that is no Slack response URL, recording what is posted to it."""
    posted: list[str] = []

    async def record(request: web.Request) -> web.Response:
        posted.append(await request.text())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    server = TestServer(app)
    await server.start_server()
    yield server, posted
    await server.close()


async def test_a_dialog_naming_another_url_does_not_post_the_list_there(
    person: Callable[[str], Person],
    demo: Demo,
    elsewhere: tuple[TestServer, list[str]],
) -> None:
    server, posted = elsewhere
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    await pat.types("payfirma drafts")
    listing = await pat.sees("212952")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212952"))
    dialog = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition) and m
    )
    view = slack.view_api(dialog, inputs_only=True)
    forged = {**json.loads(view["private_metadata"]), "url": str(server.make_url("/hook"))}
    view["private_metadata"] = json.dumps(forged)
    submitted = payloads.view_submission(
        slack.workspace, "U0PAYER", view, slack.surfaces.issue_trigger("U0PAYER")
    )
    await slack.bot.send(payloads.interaction(submitted), payloads.FORM)
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    await soon(lambda: bool(sandbox.emails))  # sent all the same
    with pytest.raises(TimeoutError):  # the list would follow the send at once
        await soon(lambda: bool(posted), 2)
    assert posted == []


def test_a_sealed_url_opens_within_slacks_thirty_minutes_only() -> None:
    key = Fernet.generate_key()
    svc = cast(Any, SimpleNamespace(store=SimpleNamespace(box=CredentialBox(key.decode()))))
    url = "https://hooks.slack.com/actions/T1/1/abc"
    sealed = _sealed_url(svc, url)
    assert sealed is not None and url not in sealed
    assert _opened_url(svc, sealed) == url
    old = Fernet(key).encrypt_at_time(url.encode(), int(time.time()) - LIST_URL_LIFE - 60)
    assert _opened_url(svc, old.decode()) is None  # Slack no longer takes it
    assert _opened_url(svc, url) is None  # never sealed here
    assert _opened_url(svc, "ünsealed") is None
