"""`/invoices help` names only providers installed here (`new` only one that can create
invoices, `drafts` only where one keeps them): an example naming another would only be
refused."""

from __future__ import annotations

from bot.slack.subcommands import help_lines


def _new_line(creating: list[str]) -> list[tuple[str, str]]:
    lines = help_lines(oauth=True, creating=creating, installed=["acme"], drafts=True)
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
    single = [
        command
        for command, _ in help_lines(
            oauth=False, creating=["acme"], installed=["acme"], drafts=True
        )
    ]
    assert "/invoices billing" not in single and "/invoices people" not in single
    shared = [
        command
        for command, _ in help_lines(oauth=True, creating=["acme"], installed=["acme"], drafts=True)
    ]
    assert "/invoices billing" in shared and "/invoices people" in shared


def test_drafts_line_promises_send_by_email_only_for_customers_drafts() -> None:
    """A supplier's draft (PingProxies) lists without Send by e-mail: only an invoice to a
    customer is sent from Slack, so help must not promise the button on each draft."""
    ((_, meaning),) = [
        line
        for line in help_lines(oauth=False, creating=[], installed=["acme"], drafts=True)
        if line[0] == "/invoices drafts"
    ]
    assert "each with Send by e-mail" not in meaning
    assert "customer" in meaning


def test_examples_name_a_provider_installed_here() -> None:
    lines = help_lines(oauth=True, creating=[], installed=["acme", "payfirma"], drafts=False)
    shown = " ".join(f"{command} {meaning}" for command, meaning in lines)
    assert "i3d" not in shown
    commands = [command for command, _ in lines]
    assert "/invoices acme" in commands and "/invoices connect acme" in commands
    assert "`/invoices paid acme`" in shown


def test_without_a_provider_no_example_names_one() -> None:
    lines = help_lines(oauth=True, creating=[], installed=[], drafts=False)
    assert not [command for command, _ in lines if "{" in command or "connect" in command]


def test_drafts_are_offered_only_where_a_provider_keeps_them() -> None:
    def commands(drafts: bool) -> list[str]:
        lines = help_lines(oauth=True, creating=[], installed=["acme"], drafts=drafts)
        return [command for command, _ in lines]

    assert "/invoices drafts" not in commands(False)
    assert "/invoices drafts" in commands(True)
