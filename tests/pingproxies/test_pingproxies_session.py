"""Signing in: application headers on every call, one cached JWT, renewal, two-factor codes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import pytest

from bot.models import InvoiceQuery, Money
from bot.provider import BadCredentials, TwoFactorRequired, WrongCode
from plugins.pingproxies import PingProxiesProvider
from plugins.pingproxies.routes import AUTHORIZATION_PREFIX
from plugins.pingproxies.sandbox import SandboxState
from tests.pingproxies.conftest import (
    EMAIL,
    LOGIN,
    PASSWORD,
    PRIVATE_KEY,
    PUBLIC_KEY,
    SEARCH,
    request_for,
)

FORWARDED_IP = "X-Application-Forwarded-Client-IP-Address"
FORWARDED_AGENT = "X-Application-Forwarded-Client-User-Agent"


async def test_login_then_one_jwt_for_every_call(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    await provider.list_invoices(InvoiceQuery())
    await provider.get_invoice("inv_sbx0101")
    assert sandbox.count("POST", LOGIN) == 1
    login = json.loads(sandbox.requests[0].body)
    assert login == {"customer_email_address": EMAIL, "customer_password": PASSWORD}
    tokens = {seen.headers.get("Authorization") for seen in list(sandbox.requests)[1:]}
    assert len(tokens) == 1
    (token,) = tokens
    assert token is not None and token.startswith(AUTHORIZATION_PREFIX)
    assert token.count(".") == 2  # the JWT as the login answered it


async def test_every_request_carries_the_application_headers_and_no_password(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await provider.list_invoices(InvoiceQuery())
    options = await provider.payment_options(["inv_sbx0101"])
    await provider.start_payment(request_for("inv_sbx0101", options.total, "stripe"))
    sandbox.expire_tokens()
    await provider.get_invoice("PING-0087")
    assert len(sandbox.requests) >= 7 and sandbox.count("POST", LOGIN) == 2
    for seen in sandbox.requests:
        assert seen.headers["X-Application-API-Public-Key"] == PUBLIC_KEY
        assert seen.headers["X-Application-API-Private-Key"] == PRIVATE_KEY
        assert seen.headers[FORWARDED_IP] == ""  # unknown, so not made up
        assert seen.headers[FORWARDED_AGENT] == "invoicebot"
        carries_password = PASSWORD.encode() in seen.body or any(
            PASSWORD in value for value in seen.headers.values()
        )
        assert carries_password is (seen.path == LOGIN), seen.path
        assert ("Authorization" in seen.headers) is (seen.path != LOGIN)


async def test_configured_client_ip_and_agent_are_forwarded(
    make_provider: Callable[..., PingProxiesProvider], sandbox: SandboxState
) -> None:
    provider = make_provider({"client_ip": "203.0.113.7", "client_user_agent": "acme-bot/2"})
    await provider.verify()
    assert {seen.headers[FORWARDED_IP] for seen in sandbox.requests} == {"203.0.113.7"}
    assert {seen.headers[FORWARDED_AGENT] for seen in sandbox.requests} == {"acme-bot/2"}


async def test_a_refused_empty_client_ip_tells_the_admin_to_set_one(
    make_provider: Callable[..., PingProxiesProvider], sandbox: SandboxState
) -> None:
    """Whether PingProxies takes an empty forwarded IP is not documented: when it refuses
    the sign-in, the admin is told the one setting that fixes it."""
    sandbox.require_client_ip = True
    with pytest.raises(BadCredentials) as raised:
        await make_provider().verify()
    assert str(raised.value).endswith(
        "No client IP address is set: if PingProxies wants one, enter this server's public "
        "IP address in the PingProxies connection settings."
    )
    await make_provider({"client_ip": "203.0.113.7"}).verify()


async def test_expired_jwt_is_renewed_with_exactly_one_login(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    sandbox.expire_tokens()
    page = await provider.list_invoices(InvoiceQuery())
    assert len(page.invoices) == 6
    assert sandbox.count("POST", LOGIN) == 2
    assert sandbox.count("GET", SEARCH) == 3  # verify, the refused one, the repeat


async def test_concurrent_calls_share_one_login(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await asyncio.gather(*(provider.get_invoice("inv_sbx0101") for _ in range(5)))
    assert sandbox.count("POST", LOGIN) == 1
    sandbox.expire_tokens()
    await asyncio.gather(*(provider.get_invoice("inv_sbx0087") for _ in range(5)))
    assert sandbox.count("POST", LOGIN) == 2


async def test_refused_even_after_renewal_is_bad_credentials(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    sandbox.token_ttl = 0  # every new JWT is born expired
    sandbox.expire_tokens()
    with pytest.raises(BadCredentials) as raised:
        await provider.get_invoice("inv_sbx0101")
    assert str(raised.value).startswith(
        "PingProxies refused invoicebot even right after signing in again (HTTP 401: "
        "Unauthorized: The access token has expired; log in again; request id "
    )
    assert sandbox.count("POST", LOGIN) == 2


async def test_wrong_password_says_which_account(
    make_provider: Callable[..., PingProxiesProvider],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = make_provider({"password": "wrong-pw-771"})
    with caplog.at_level(logging.DEBUG), pytest.raises(BadCredentials) as raised:
        await provider.verify()
    message = str(raised.value)
    assert message.startswith(
        f"PingProxies refused to sign in as {EMAIL} (HTTP 401: Unauthorized: "
        "Invalid email address or password; request id "
    )
    assert message.endswith(
        "Check the account e-mail and password, and the application public and private keys."
    )
    assert "wrong-pw-771" not in message and "wrong-pw-771" not in caplog.text


async def test_wrong_application_keys_are_bad_credentials(
    make_provider: Callable[..., PingProxiesProvider], sandbox: SandboxState
) -> None:
    provider = make_provider({"application_private_key": "not-the-key"})
    with pytest.raises(BadCredentials) as raised:
        await provider.verify()
    assert "(HTTP 401: Unauthorized: Invalid application API keys;" in str(raised.value)
    assert sandbox.count("POST", LOGIN) == 1


async def test_two_factor_challenge_then_the_right_code(
    provider: PingProxiesProvider, sandbox: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.two_factor = True
    with caplog.at_level(logging.DEBUG), pytest.raises(TwoFactorRequired) as raised:
        await provider.verify()
    challenge = raised.value
    assert challenge.target == "b**@acme.test"
    assert challenge.challenge.startswith("2fa_")
    assert str(challenge) == (
        f"PingProxies wants a one-time code before signing in as {EMAIL}: it sent one by "
        "e-mail to b**@acme.test. Type that code to continue."
    )
    code = sandbox.last_code
    assert code is not None
    await provider.answer_two_factor(challenge.challenge, code)
    await provider.verify()
    await provider.list_invoices(InvoiceQuery())
    assert sandbox.count("POST", LOGIN) == 2
    answered = json.loads([s.body for s in sandbox.requests if s.path == LOGIN][1])
    assert answered["two_factor_authentication_public_key"] == challenge.challenge
    assert answered["two_factor_authentication_private_key"] == code
    assert code not in caplog.text
    assert code not in repr(vars(provider.session)) and code not in repr(vars(provider.api))


async def test_a_wrong_code_is_refused_clearly(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    sandbox.two_factor = True
    with pytest.raises(TwoFactorRequired) as raised:
        await provider.verify()
    wrong = "000000" if sandbox.last_code != "000000" else "111111"
    with pytest.raises(WrongCode) as refused:  # the challenge stays open: type it again
        await provider.answer_two_factor(raised.value.challenge, wrong)
    assert str(refused.value) == (
        "PingProxies did not accept that code. Check the latest e-mail from PingProxies "
        "and type the code again."
    )
    assert not provider.session.signed_in
    await provider.answer_two_factor(raised.value.challenge, sandbox.last_code)
    assert provider.session.signed_in


async def test_an_expired_code_means_starting_over(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    sandbox.two_factor = True
    with pytest.raises(TwoFactorRequired) as raised:
        await provider.verify()
    wrong = "000000" if sandbox.last_code != "000000" else "111111"
    while True:  # PingProxies ends a challenge after a few wrong codes
        try:
            await provider.answer_two_factor(raised.value.challenge, wrong)
        except WrongCode:
            continue
        except BadCredentials as refused:
            assert "this sign-in has expired" in str(refused)
            assert str(refused).endswith("Connect PingProxies again to get a new code.")
            break
    assert not provider.session.signed_in
    with pytest.raises(BadCredentials, match=r"^Type the one-time code PingProxies sent\.$"):
        await provider.answer_two_factor(raised.value.challenge, "  ")


async def test_two_factor_on_any_route_is_a_challenge_too(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    await provider.verify()
    sandbox.inject("two_factor", path=SEARCH)
    with pytest.raises(TwoFactorRequired) as raised:
        await provider.list_invoices(InvoiceQuery())
    assert str(raised.value).startswith("PingProxies wants a one-time code before listing invoices")
    assert not provider.session.signed_in  # the session is no longer trusted
    code = sandbox.last_code
    assert code is not None
    await provider.answer_two_factor(raised.value.challenge, code)
    assert len((await provider.list_invoices(InvoiceQuery())).invoices) == 6
    assert sandbox.count("POST", LOGIN) == 2


async def test_two_factor_while_paying_charges_nothing(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    options = await provider.payment_options(["inv_sbx0101"])
    sandbox.inject("two_factor", path="/1.0/private/user/invoice/pay/inv_sbx0101")
    with pytest.raises(TwoFactorRequired) as raised:
        await provider.start_payment(request_for("inv_sbx0101", options.total, "pm_sbxVisa4242"))
    assert str(raised.value).endswith("Type that code to continue. Nothing was charged.")
    assert sandbox.invoices["inv_sbx0101"].invoice_status == "open"
    assert options.total == Money.of("129.00", "USD")
