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
    assert validate_view({"type": "modal", "blocks": [{"type": "divider"}]})  # no title
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


def mrkdwn(value: str) -> dict[str, str]:
    return text(value, "mrkdwn")


def menu(kind: str, options: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": kind, "action_id": "m", "options": options, **extra}


SURE = {
    "title": text("Sure?"),
    "text": mrkdwn("*Pay* it"),
    "confirm": text("Pay"),
    "deny": text("No"),
}


@pytest.mark.parametrize(
    ("block", "where"),
    [
        ({"type": "header", "text": mrkdwn("Open")}, "`text.type`"),
        (actions(button() | {"text": mrkdwn("*Pay*")}), "`elements.0.text.type`"),
        (
            {
                "type": "section",
                "text": text("x"),
                "accessory": button(confirm=SURE | {"title": mrkdwn("t")}),
            },
            "`accessory.confirm.title.type`",
        ),
        (
            actions(button(confirm=SURE | {"confirm": mrkdwn("ok")})),
            "`elements.0.confirm.confirm.type`",
        ),
        (actions(button(confirm=SURE | {"deny": mrkdwn("no")})), "`elements.0.confirm.deny.type`"),
        (
            actions(menu("static_select", [{"text": mrkdwn("*a*"), "value": "a"}])),
            "`elements.0.options.0.text.type`",
        ),
        (
            actions(menu("multi_static_select", [{"text": mrkdwn("*a*"), "value": "a"}])),
            "`elements.0.options.0.text.type`",
        ),
        (
            actions(menu("overflow", [{"text": mrkdwn("*a*"), "value": "a"}, option("b")])),
            "`elements.0.options.0.text.type`",
        ),
        (
            actions(
                {
                    "type": "static_select",
                    "action_id": "m",
                    "option_groups": [{"label": mrkdwn("*g*"), "options": [option("a")]}],
                }
            ),
            "`elements.0.option_groups.0.label.type`",
        ),
        (
            actions(menu("static_select", [option("a")], placeholder=mrkdwn("_pick_"))),
            "`elements.0.placeholder.type`",
        ),
        (
            {
                "type": "input",
                "label": mrkdwn("*Amount*"),
                "element": {"type": "plain_text_input", "action_id": "a"},
            },
            "`label.type`",
        ),
        (
            {
                "type": "input",
                "label": text("Amount"),
                "hint": mrkdwn("_in EUR_"),
                "element": {"type": "plain_text_input", "action_id": "a"},
            },
            "`hint.type`",
        ),
        (
            {
                "type": "input",
                "label": text("Amount"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "a",
                    "placeholder": mrkdwn("x"),
                },
            },
            "`element.placeholder.type`",
        ),
    ],
)
def test_mrkdwn_is_refused_where_slack_allows_only_plain_text(
    block: dict[str, Any], where: str
) -> None:
    """Header text, button text, menu options, option group labels, confirm title/confirm/
    deny, input label and hint, placeholders: plain_text only. reference/slack.md is
    silent on text kinds; this follows Slack's Block Kit reference ("can only be of type:
    plain_text"), where Slack answers `invalid_blocks` ("must be a valid enum value").
    slack_sdk's models take either kind without a word."""
    problems = validate_message({"text": "fallback", "blocks": [block]})
    assert any(where in problem and "plain_text" in problem for problem in problems), problems


def test_mrkdwn_stays_allowed_where_slack_allows_it() -> None:
    """A section's text and fields, a confirm dialog's `text`, a context's text and the
    options of radio_buttons and checkboxes may be mrkdwn (Slack's Block Kit reference;
    reference/slack.md is silent)."""
    choices = [{"text": mrkdwn("*INV-1*"), "value": "1", "description": mrkdwn("_due_")}]
    message = {
        "text": "fallback",
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn("*x*"),
                "fields": [mrkdwn("*y*")],
                "accessory": button(confirm=SURE),
            },
            actions(
                menu("radio_buttons", choices), {**menu("checkboxes", choices), "action_id": "c"}
            ),
            {"type": "context", "elements": [mrkdwn("_z_"), text("z")]},
        ],
    }
    assert validate_message(message) == []


@pytest.mark.parametrize("kind", ["radio_buttons", "checkboxes"])
def test_radio_buttons_and_checkboxes_take_at_most_ten_options(kind: str) -> None:
    """Slack's radio button group and checkbox group references (reference/slack.md is
    silent): "Maximum number of options is 10"; slack_sdk does not count them."""
    ten = [option(str(n)) for n in range(10)]
    assert validate_message({"text": "f", "blocks": [actions(menu(kind, ten))]}) == []
    eleven = actions(menu(kind, [*ten, option("10")]))
    problems = validate_message({"text": "f", "blocks": [eleven]})
    assert any("`elements.0.options` allows no more than 10" in p for p in problems), problems


def test_an_option_description_takes_at_most_75_characters() -> None:
    """Slack's option object reference caps `description` at 75 characters
    (reference/slack.md gives only the option's text 75 and value 150)."""

    def described(length: int) -> list[str]:
        choice = {**option("a"), "description": text("d" * length)}
        return validate_message({"text": "f", "blocks": [actions(menu("checkboxes", [choice]))]})

    assert described(75) == []
    assert any("`elements.0.options.0.description`" in p for p in described(76))


def test_a_context_block_holds_one_to_ten_images_or_texts() -> None:
    """At most 10 elements (reference/slack.md §3, "context elements"); that there is at
    least one, that they are images or text objects, and a text object's 3000 characters,
    are from Slack's context block and text object references, on which
    reference/slack.md is silent."""

    def problems(*elements: dict[str, Any]) -> list[str]:
        return validate_message(
            {"text": "f", "blocks": [{"type": "context", "elements": list(elements)}]}
        )

    logo = {"type": "image", "image_url": "https://example.test/x.png", "alt_text": "logo"}
    assert problems(logo, *[mrkdwn("x")] * 9) == []
    assert any("cannot exceed 10" in p for p in problems(*[mrkdwn("x")] * 11))
    assert any("image or a text object, not button" in p for p in problems(button()))
    assert problems(mrkdwn("x" * 3000)) == []
    assert any("3000" in p for p in problems(mrkdwn("x" * 3001)))
    assert any("at least 1 item" in p for p in problems())  # a context shows something


def test_an_actions_block_holds_one_to_25_elements() -> None:
    """At most 25 elements (reference/slack.md §3, "actions block elements"); Slack also
    refuses an empty list ("must provide at least 1 item"; Slack's actions block reference,
    reference/slack.md is silent), which slack_sdk lets through."""
    assert any(
        "at least 1 item" in p for p in validate_message({"text": "f", "blocks": [actions()]})
    )
    many = [button(action_id=str(n)) for n in range(26)]
    assert any(
        "cannot exceed 25" in p for p in validate_message({"text": "f", "blocks": [actions(*many)]})
    )
    assert validate_message({"text": "f", "blocks": [actions(*many[:25])]}) == []


@pytest.mark.parametrize("key", ["title", "submit", "close"])
def test_a_modal_title_submit_and_close_are_plain_text(key: str) -> None:
    """Slack's view object reference: title, submit and close are plain_text only
    (reference/slack.md §3 gives only their 24-character limits)."""
    view = modal([AMOUNT], close=text("Cancel"))
    assert validate_view(view) == []
    problems = validate_view({**view, key: mrkdwn("*x*")})
    assert any(f"`{key}.type`" in p and "[json-pointer:/view]" in p for p in problems), problems


def test_ids_slack_fills_in_are_stable_and_leave_the_senders_alone() -> None:
    from slack_emulator.elements import with_ids

    sent = [
        {"type": "section", "text": text("no id")},
        actions(button(action_id="kept"), button("Other")),
    ]
    del sent[1]["elements"][1]["action_id"]
    filled = with_ids(sent)
    assert filled == with_ids(sent)  # the same message gets the same ids
    assert filled[0]["block_id"] and "block_id" not in sent[0]
    assert filled[1]["block_id"] == "acts"
    assert [e["action_id"] for e in filled[1]["elements"]] == ["kept", "acts-1"]
    filled[1]["elements"][0]["text"]["text"] = "changed"
    assert sent[1]["elements"][0]["text"]["text"] == "Pay"  # a copy, not the sender's


def test_a_number_too_big_for_64_bits_is_copied_as_it_came() -> None:
    from slack_emulator.elements import with_ids

    block = {"type": "section", "text": text("big"), "block_id": "b", "extra": 2**70}
    assert with_ids([block])[0]["extra"] == 2**70


def test_an_id_slack_fills_in_does_not_depend_on_the_order_of_keys() -> None:
    from slack_emulator.elements import with_ids

    block = {"type": "section", "text": {"type": "mrkdwn", "text": "same"}}
    reordered = {"text": {"text": "same", "type": "mrkdwn"}, "type": "section"}
    assert with_ids([block])[0]["block_id"] == with_ids([reordered])[0]["block_id"]
    other = {"type": "section", "text": {"type": "mrkdwn", "text": "other"}}
    assert with_ids([block])[0]["block_id"] != with_ids([other])[0]["block_id"]


def test_a_block_orjson_refuses_still_gets_an_id_and_a_verdict() -> None:
    from slack_emulator.blockkit import block_problems
    from slack_emulator.elements import with_ids

    block = {"type": "section", "text": text("big"), "extra": 2**70}
    assert with_ids([block])[0]["block_id"]
    assert block_problems([block], limit=50) == block_problems([dict(block)], limit=50)
