"""`/invoices help` offers `new` only with a provider installed here that can create
invoices: an example naming another would only be refused."""

from __future__ import annotations

from bot.slack.subcommands import help_lines


def _new_line(creating: list[str]) -> list[tuple[str, str]]:
    lines = help_lines(oauth=True, creating=creating)
    return [line for line in lines if line[0].startswith("/invoices new")]


def test_no_provider_that_creates_means_no_new_line() -> None:
    assert _new_line([]) == []


def test_the_one_provider_that_creates_is_the_example() -> None:
    ((command, meaning),) = _new_line(["acme"])
    assert command == "/invoices new acme"
    assert "payfirma" not in meaning


def test_several_that_create_are_all_named() -> None:
    ((command, meaning),) = _new_line(["acme", "payfirma"])
    assert command == "/invoices new acme"
    assert "`acme`" in meaning and "`payfirma`" in meaning


def test_operator_set_lines_follow_the_install_kind() -> None:
    single = [command for command, _ in help_lines(oauth=False, creating=["acme"])]
    assert "/invoices billing" not in single and "/invoices people" not in single
    shared = [command for command, _ in help_lines(oauth=True, creating=["acme"])]
    assert "/invoices billing" in shared and "/invoices people" in shared


def test_drafts_line_promises_send_by_email_only_for_customers_drafts() -> None:
    """A supplier's draft (PingProxies) lists without Send by e-mail: only an invoice to a
    customer is sent from Slack, so help must not promise the button on each draft."""
    ((_, meaning),) = [
        line for line in help_lines(oauth=False, creating=[]) if line[0] == "/invoices drafts"
    ]
    assert "each with Send by e-mail" not in meaning
    assert "customer" in meaning
