"""Secrets stay secret: not in any log line at DEBUG, not readable in the database, and
the payment cookie is `Secure` whenever payers reach the bot over https."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot import redaction
from bot.models import Money, Payment, PaymentState, Redirect
from bot.plugins import make_plugin_manager
from bot.provider import PaymentRejected, ProviderUnavailable
from bot.redaction import redact
from bot.settings import Settings
from bot.text import log_error
from bot.web import OUTBOX, SERVICES, create_app
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import BOT_TOKEN
from tests.postgres import stored_bytes
from tests.scenario.conftest import I3D_TOKEN
from tests.scenario.harness import Harness, pay_in_browser
from tests.scenario.test_settling_once import link_for


async def test_a_whole_payment_logged_at_debug_shows_no_secret(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness
    _, link = await link_for(h)
    token = link.rsplit("/", 1)[1]
    _, page = await pay_in_browser(h.http, link)
    assert "Invoice paid" in page
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await h.bot.app[OUTBOX].send_due()
    logged = caplog.text + "\n".join(str(r.exc_text or "") for r in caplog.records if r.exc_text)
    assert logged.count("\n") > 20, "DEBUG logging did not run"
    response_urls = re.findall(r"/hooks/r\d+", logged)
    settings = h.bot.app[SERVICES].settings
    for secret in (
        token,
        BOT_TOKEN,
        I3D_TOKEN,
        SIGNING_SECRET,
        settings.secret_key.get_secret_value(),
    ):
        assert secret not in logged, f"{secret[:6]}… is in the log"
    assert response_urls == [], response_urls


def test_redaction_covers_the_shapes_secrets_come_in() -> None:
    cases = {
        "could not reach postgresql://bot:pg-secret-9@db.internal/invoicebot": "pg-secret-9",
        "i3D.net GET https://ops:i3d-pass-7@api.i3d.net/v3/invoice failed": "i3d-pass-7",
        "Payfirma GET https://pf-token-8@gw.example/invoice failed": "pf-token-8",
        "GET /pay/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_ HTTP/1.1": "AbCdEfGhIjKl",
        "landing?state=AbCdEfGhIjKlMnOpQrStUv&x=1": "AbCdEfGhIjKlMnOp",
        '{"response_url": "https://hooks.slack.com/actions/T1/2/abc"}': "T1/2/abc",
        "POST https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmib": "96rGlfmib",
        "Authorization: Bearer xoxb-1234-5678-abcdef": "5678",
        "headers {'PRIVATE-TOKEN': 'i3d-secret-value'}": "i3d-secret-value",
        "client_secret=pf-secret&grant_type=client_credentials": "pf-secret",
    }
    for line, secret in cases.items():
        assert secret not in redact(line), line


async def test_the_database_holds_no_readable_token_or_credential(harness: Harness) -> None:
    h = harness
    _, link = await link_for(h)
    token = link.rsplit("/", 1)[1]
    store = h.bot.app[SERVICES].store
    store.flush_audit()
    raw = stored_bytes(store)
    for secret in (token, I3D_TOKEN, BOT_TOKEN, "/hooks/r"):
        assert secret.encode() not in raw, secret


@pytest.fixture
async def https_bot(settings: Settings) -> AsyncIterator[TestServer]:
    """The bot as deployed: public URL https, reached over plain http through a proxy."""
    app = create_app(
        settings.model_copy(update={"public_url": "https://invoicebot.example.com"}),
        make_plugin_manager(allowed=set()),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def cookie_from_pay_page(server: TestServer, headers: dict[str, str]) -> str:
    payments = server.app[SERVICES].payments
    payment, token = payments.record(
        Payment(
            team_id="T0TEAM",
            provider="i3d",
            invoice_ids=("1",),
            invoice_numbers=("INV-1",),
            amount=Money.of("1.00", "EUR"),
            method_id="10",
            method_name="iDEAL",
            user_id="U0PAYER",
        )
    )
    payments.store.update_payment(
        payment.id, start=Redirect(url="https://psp.example/pay").model_dump_json()
    )
    payments.store.compare_and_set_state(
        payment.id, {PaymentState.CREATED}, PaymentState.LINK_ISSUED
    )
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            server.make_url(f"/pay/{token}"), headers=headers, allow_redirects=False
        ) as response,
    ):
        assert response.status == 303
        assert response.headers["Server"] == "invoicebot"
        return response.headers["Set-Cookie"]


async def test_the_payment_cookie_is_secure_when_the_public_url_is_https(
    https_bot: TestServer,
) -> None:
    cookie = await cookie_from_pay_page(https_bot, {})
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_forwarded_headers_count_only_when_the_proxy_is_trusted(
    settings: Settings, tmp_path: Path
) -> None:
    for trusted in (False, True):
        app = create_app(
            settings.model_copy(
                update={"trust_proxy": trusted, "database": tmp_path / f"{trusted}.sqlite"}
            ),
            make_plugin_manager(allowed=set()),
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            cookie = await cookie_from_pay_page(
                server, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
            )
        finally:
            await server.close()
        assert ("Secure" in cookie) is trusted


async def test_no_library_version_in_the_server_header(bot_server: TestServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(bot_server.make_url("/healthz")) as r:
        assert r.headers["Server"] == "invoicebot"


def test_a_providers_words_in_a_log_line_stay_on_that_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A provider's error message is logged as it said it: a line break in it forged a
    log line of its own, and a lone surrogate (from an escape in its JSON) made the
    line unwritable for any UTF-8 log handler."""
    redaction.install()
    forged = "Card declined\n2026-12-05 04:00:00 ERROR bot.web payment 42 marked paid\r"
    with caplog.at_level(logging.WARNING):
        log_error(PaymentRejected(f"i3D.net refused: {forged} \ud800"), "click pay")
    (line,) = [record.getMessage() for record in caplog.records]
    assert "\n" not in line and "\r" not in line, line
    assert "Card declined\\n2026-12-05" in line
    line.encode("utf-8")  # no lone surrogate left


def test_a_providers_words_in_an_error_passed_to_a_log_line_stay_on_that_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Most log calls pass the error itself (`log.info("...: %s", error)`), whose text
    is the provider's: it stays on its line as a string argument does."""
    redaction.install()
    forged = "busy\n2026-12-05 04:00:00 ERROR bot.web payment 42 marked paid \ud800"
    with caplog.at_level(logging.INFO):
        logging.getLogger("plugins.i3d.provider").info(
            "i3D.net paymentLanding unavailable: %s", ProviderUnavailable(forged)
        )
    (line,) = [record.getMessage() for record in caplog.records]
    assert "\n" not in line, line
    assert "busy\\n2026-12-05" in line
    line.encode("utf-8")


def test_a_providers_long_words_are_cut_in_a_log_line_and_stay_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A provider's error body (an HTML page, a stack trace) was logged whole: tens of
    thousands of characters a line. Each value is cut to a few hundred, still escaped,
    redacted before the cut, and what was left out is counted."""
    redaction.install()
    page = "<html>\n" + "Service unavailable. " * 2_500 + "\ud800"
    token = "p" * 40
    with caplog.at_level(logging.INFO):
        log_error(ProviderUnavailable(f"i3D.net had a server error (HTTP 503: {page})"), "list")
        logging.getLogger("plugins.i3d.provider").info("unavailable: %r", ProviderUnavailable(page))
        logging.getLogger("plugins.i3d.listing").warning("invoice %s unreadable", "N" * 9_000)
        cut_secret = "x" * (redaction.LOGGED_CHARS - 20) + f" /pay/{token}"
        logging.getLogger("bot.web").info("said: %s", cut_secret + "y" * 500)
    lines = [record.getMessage() for record in caplog.records]
    assert all(len(line) < 2 * redaction.LOGGED_CHARS for line in lines), [len(x) for x in lines]
    assert "HTTP 503: <html>\\nService unavailable." in lines[0]
    assert "more characters]" in lines[0] and "\n" not in lines[0]
    assert lines[1].startswith("unavailable: ProviderUnavailable('<html>\\nService")
    assert lines[2].endswith("… [8700 more characters] unreadable")
    assert "/pay/[redacted]" in lines[3] and "/pay/pppp" not in lines[3]
    for line in lines:
        line.encode("utf-8")
