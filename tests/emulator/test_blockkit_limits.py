"""Every Block Kit limit Slack documents: accepted at the limit, refused one past it.

Most are checked by slack_sdk's models, the rest by the emulator itself; either way a
test pins each, so a change in slack_sdk cannot quietly make the emulator kinder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from slack_emulator import validate_message, validate_view

Build = Callable[[int], dict[str, Any]]


def text(value: str) -> dict[str, str]:
    return {"type": "plain_text", "text": value}


def section(value: str = "x", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": value}, **extra}


def option(label: str = "o", value: str = "v") -> dict[str, Any]:
    return {"text": text(label), "value": value}


def options(n: int) -> list[dict[str, Any]]:
    return [option(value=f"v{i}") for i in range(n)]


def menu(**extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "m", "placeholder": text("Pick"), **extra}


def button(**extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": text("Pay"), "action_id": "pay", **extra}


def confirm(**extra: str) -> dict[str, Any]:
    parts = {"title": "Sure?", "text": "Pay it", "confirm": "Pay", "deny": "No", **extra}
    return button(confirm={key: text(value) for key, value in parts.items()})


def message(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"text": "fallback", "blocks": list(blocks)}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return message({"type": "actions", "elements": list(elements)})


INPUT = {
    "type": "input",
    "block_id": "in",
    "label": text("Amount"),
    "element": {"type": "plain_text_input", "action_id": "a"},
}


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    shown = {"type": "modal", "title": text("Pay"), "submit": text("Pay")}
    return {**shown, "blocks": blocks or [INPUT], **extra}


MESSAGE_LIMITS: dict[str, tuple[Build, int]] = {
    "blocks per message": (lambda n: message(*[section()] * n), 50),
    "message text": (lambda n: {"text": "x" * n}, 40_000),
    "block_id": (lambda n: message(section(block_id="b" * n)), 255),
    "section text": (lambda n: message(section("x" * n)), 3000),
    "section fields": (lambda n: message({"type": "section", "fields": [text("f")] * n}), 10),
    "section field text": (lambda n: message({"type": "section", "fields": [text("f" * n)]}), 2000),
    "actions elements": (
        lambda n: actions(*[button(action_id=f"a{i}") for i in range(n)]),
        25,
    ),
    "context elements": (lambda n: message({"type": "context", "elements": [text("c")] * n}), 10),
    "header text": (lambda n: message({"type": "header", "text": text("h" * n)}), 150),
    "markdown block text": (lambda n: message({"type": "markdown", "text": "x" * n}), 12_000),
    "image url": (
        lambda n: message(
            {"type": "image", "image_url": "https://e.test/" + "a" * (n - 15), "alt_text": "a"}
        ),
        3000,
    ),
    "image alt_text": (
        lambda n: message(
            {"type": "image", "image_url": "https://e.test/x.png", "alt_text": "a" * n}
        ),
        2000,
    ),
    "action_id": (lambda n: actions(button(action_id="a" * n)), 255),
    "button text": (lambda n: actions(button(text=text("x" * n))), 75),
    "button url": (lambda n: actions(button(url="https://e.test/" + "a" * (n - 15))), 3000),
    "button value": (lambda n: actions(button(value="v" * n)), 2000),
    "select placeholder": (
        lambda n: actions(menu(placeholder=text("p" * n), options=options(1))),
        150,
    ),
    "select options": (lambda n: actions(menu(options=options(n))), 100),
    "select option_groups": (
        lambda n: actions(
            menu(
                option_groups=[
                    {"label": text("g"), "options": [option(value=f"{i}")]} for i in range(n)
                ]
            )
        ),
        100,
    ),
    "option text": (lambda n: actions(menu(options=[option(label="x" * n)])), 75),
    "option value": (lambda n: actions(menu(options=[option(value="x" * n)])), 150),
    "option group label": (
        lambda n: actions(menu(option_groups=[{"label": text("g" * n), "options": options(1)}])),
        75,
    ),
    "option group options": (
        lambda n: actions(menu(option_groups=[{"label": text("g"), "options": options(n)}])),
        100,
    ),
    "overflow options": (
        lambda n: actions({"type": "overflow", "action_id": "o", "options": options(n)}),
        5,
    ),
    "confirm title": (lambda n: actions(confirm(title="x" * n)), 100),
    "confirm text": (lambda n: actions(confirm(text="x" * n)), 300),
    "confirm confirm": (lambda n: actions(confirm(confirm="x" * n)), 30),
    "confirm deny": (lambda n: actions(confirm(deny="x" * n)), 30),
}

VIEW_LIMITS: dict[str, tuple[Build, int]] = {
    "blocks per modal": (lambda n: modal([section()] * n, submit=None), 100),
    "blocks per home tab": (lambda n: {"type": "home", "blocks": [section()] * n}, 100),
    "modal title": (lambda n: modal(title=text("x" * n)), 24),
    "modal submit": (lambda n: modal(submit=text("x" * n)), 24),
    "modal close": (lambda n: modal(close=text("x" * n)), 24),
    "private_metadata": (lambda n: modal(private_metadata="x" * n), 3000),
    "callback_id": (lambda n: modal(callback_id="x" * n), 255),
    "input label": (lambda n: modal([{**INPUT, "label": text("x" * n)}]), 2000),
    "input hint": (lambda n: modal([{**INPUT, "hint": text("x" * n)}]), 2000),
}


def _without_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


@pytest.mark.parametrize(("build", "limit"), MESSAGE_LIMITS.values(), ids=MESSAGE_LIMITS)
def test_a_message_at_the_limit_passes_and_one_past_it_is_refused(build: Build, limit: int) -> None:
    assert validate_message(build(limit)) == []
    assert validate_message(build(limit + 1))


@pytest.mark.parametrize(("build", "limit"), VIEW_LIMITS.values(), ids=VIEW_LIMITS)
def test_a_view_at_the_limit_passes_and_one_past_it_is_refused(build: Build, limit: int) -> None:
    assert validate_view(_without_none(build(limit))) == []
    assert validate_view(_without_none(build(limit + 1)))


def test_an_overflow_menu_needs_two_options() -> None:
    build, _ = MESSAGE_LIMITS["overflow options"]
    assert validate_message(build(2)) == []
    assert validate_message(build(1))
