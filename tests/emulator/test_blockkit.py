"""Block Kit validation refuses what Slack refuses and accepts what it accepts."""

from __future__ import annotations

from typing import Any

import pytest

from slack_emulator import validate_message, validate_view


def text(value: str, kind: str = "plain_text") -> dict[str, str]:
    return {"type": kind, "text": value}


def button(label: str = "Pay", action_id: str = "pay", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": text(label), "action_id": action_id, **extra}


def option(value: str) -> dict[str, Any]:
    return {"text": text(value), "value": value}


def actions(*elements: dict[str, Any], block_id: str = "acts") -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


GOOD_MESSAGE = {
    "text": "Invoice INV-1: 10.00 EUR",
    "blocks": [
        {"type": "header", "text": text("Open invoices")},
        {
            "type": "section",
            "block_id": "inv",
            "text": text("*INV-1* 10.00 EUR", "mrkdwn"),
            "fields": [text("Due", "mrkdwn"), text("tomorrow", "mrkdwn")],
            "accessory": button(
                style="primary",
                value="INV-1",
                confirm={
                    "title": text("Sure?"),
                    "text": text("Pay 10.00 EUR"),
                    "confirm": text("Pay"),
                    "deny": text("No"),
                },
            ),
        },
        actions(
            {
                "type": "static_select",
                "action_id": "method",
                "placeholder": text("Method"),
                "options": [option("card"), option("ideal")],
            },
            {"type": "overflow", "action_id": "more", "options": [option("a"), option("b")]},
            {"type": "checkboxes", "action_id": "pick", "options": [option("INV-1")]},
            button("Open", "open", url="https://example.test/pay"),
        ),
        {"type": "context", "elements": [text("from i3D", "mrkdwn")]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://example.test/x.png", "alt_text": "logo"},
    ],
}


def test_a_well_formed_message_passes() -> None:
    assert validate_message(GOOD_MESSAGE) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([actions(button("x" * 76))], "cannot exceed 75 characters"),
        ([{"type": "divider"}] * 51, "no more than 50 items"),
        (
            [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],
            "duplicate block_id",
        ),
        ([{"type": "spreadsheet"}], "unsupported block type `spreadsheet`"),
        ([actions({"type": "spinner", "action_id": "s"})], "unsupported `elements.0`"),
        (
            [{"type": "section", "text": text("x"), "accessory": {"type": "dial"}}],
            "unsupported `accessory`",
        ),
        ([actions(button(), button())], "duplicate action_id `pay`"),
        (
            [actions({"type": "overflow", "action_id": "o", "options": [option("a")]})],
            "2 to 5 options",
        ),
        ([actions(button(value="v" * 2001))], "2000"),
        ([{"type": "section"}], "text or fields"),
        ([{"type": "image"}], "alt_text"),
        ([{"type": "section", "text": text("")}], "`text` must be more than 0 characters"),
        ([actions(button(""))], "`elements.0.text` must be more than 0 characters"),
        (
            [actions({"type": "static_select", "action_id": "m", "options": [option("")]})],
            "`elements.0.options.0.text` must be more than 0 characters",
        ),
        ("not a list", "must be an array"),
    ],
)
def test_refuses_what_slack_refuses(blocks: Any, expected: str) -> None:
    problems = validate_message({"text": "fallback", "blocks": blocks})
    assert any(expected in problem for problem in problems), problems
    assert all("[json-pointer:" in problem for problem in problems)


def test_blocks_need_a_text_fallback_unless_told_otherwise() -> None:
    message = {"blocks": [{"type": "divider"}]}
    assert any("fallback" in p for p in validate_message(message))
    assert validate_message(message, require_text=False) == []
    assert validate_message({"text": "   ", "blocks": [{"type": "divider"}]})


def test_text_limits() -> None:
    assert validate_message({"text": "x" * 40_000}) == []
    assert any("40000" in p for p in validate_message({"text": "x" * 40_001}))
    assert validate_message({})


def modal(blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": text("Pay"), "submit": text("Pay"), "blocks": blocks, **extra}


AMOUNT = {
    "type": "input",
    "block_id": "amount",
    "label": text("Amount"),
    "element": {"type": "plain_text_input", "action_id": "value"},
}


def test_views() -> None:
    assert validate_view(modal([AMOUNT])) == []
    assert validate_view({"type": "home", "blocks": [{"type": "divider"}]}) == []
    assert validate_view(modal([AMOUNT], title=text("x" * 25)))
    assert validate_view(modal([{"type": "divider"}] * 101))
    assert validate_view(modal([AMOUNT, AMOUNT]))  # duplicate block_id
    assert validate_view({"type": "modal", "title": text("Pay"), "blocks": [AMOUNT]})  # no submit
    assert validate_view({"type": "home", "submit": text("S"), "blocks": [{"type": "divider"}]})
    assert validate_view({"type": "sheet", "blocks": [{"type": "divider"}]})
    assert validate_view("modal")


def test_option_and_field_limits_slack_sdk_skips_are_checked() -> None:
    """Option text 75 and value 150 characters, section fields 2000: Slack refuses more."""
    from slack_emulator.blockkit import block_problems

    long_option = {"text": {"type": "plain_text", "text": "x" * 76}, "value": "v"}
    select = {"type": "static_select", "action_id": "a", "options": [long_option]}
    assert block_problems([{"type": "actions", "block_id": "b", "elements": [select]}], limit=50)
    field = {"type": "mrkdwn", "text": "y" * 2001}
    assert block_problems([{"type": "section", "block_id": "s", "fields": [field]}], limit=50)


def test_an_initial_option_must_be_one_of_the_options() -> None:
    """Slack refuses a select whose initial option(s) it does not offer."""
    from slack_emulator.blockkit import block_problems

    eur, usd = ({"text": {"type": "plain_text", "text": c}, "value": c} for c in ("EUR", "USD"))
    other = {"text": {"type": "plain_text", "text": "Euro"}, "value": "EUR"}

    def problems(element: dict[str, Any]) -> list[str]:
        block = {"type": "actions", "block_id": "b", "elements": [{"action_id": "a", **element}]}
        return block_problems([block], limit=50)

    single = {"type": "static_select", "options": [eur, usd]}
    assert problems({**single, "initial_option": usd}) == []
    assert "one of the element's options" in problems({**single, "initial_option": other})[0]
    multi = {"type": "multi_static_select", "options": [eur, usd]}
    assert problems({**multi, "initial_options": [eur, usd]}) == []
    assert problems({**multi, "initial_options": [eur, other]})
