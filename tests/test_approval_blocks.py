"""What approval messages and dialogs say, and that Slack would take each of them."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bot.access import GroupListing
from bot.approvals import Outcome, Request, State
from bot.approvals_policy import Bracket, Policy
from bot.models import Money
from bot.slack import values
from bot.slack.approvals_settings import (
    OutOfDate,
    Tampered,
    on_add_bracket,
    policy_from,
    read_dialog,
)
from bot.slack.blocks import approval_settings as dialog
from bot.slack.blocks import approvals as blocks
from bot.slack.blocks.approval_settings import Choices, Draft
from bot.slack.subcommands import Settings, Unknown, parse
from slack_emulator import validate_message, validate_view
from tests.test_outcome_messages import paid

NO_POLICY = Policy.of([])
HOSTILE = "<!channel> *bold* <https://evil.test|click>"


def request(state: State = State.PENDING, approved_by: tuple[str, ...] = ()) -> Request:
    now = time.time()
    return Request(
        id="a" * 32, team_id="T0TEAM", provider="i3d",
        invoice_ids=("410008",), invoice_numbers=(HOSTILE,),
        amount=Money.of(Decimal("6025.80"), "EUR"), requester="U0PAYER", note=HOSTILE,
        due="2026-12-30", needed=2, approvers=("U0FINANCE", "U0CFO"), state=state,
        created_at=now, expires_at=now + 3600, approved_by=approved_by,
        reason=HOSTILE if state is State.REJECTED else None,
        rejected_by="U0CFO" if state is State.REJECTED else None,
    )  # fmt: skip


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("viewer", ["U0PAYER", "U0FINANCE", "U0CFO"])
def test_every_state_for_every_viewer_is_a_valid_message_with_provider_text_escaped(
    state: State, viewer: str
) -> None:
    shown = blocks.request_message(request(state, ("U0FINANCE",)), "i3D.net", viewer)
    assert validate_message(shown) == []
    said = str(shown)
    assert "<!channel>" not in said and "<https://evil.test" not in said
    buttons = [e.get("action_id") for b in shown["blocks"] for e in b.get("elements", [])]
    can_decide = state is State.PENDING and viewer != "U0PAYER"
    assert (blocks.APPROVE in buttons) is can_decide
    # An approver need not be a payer: only the requester's message has Pay.
    assert (values.PAY_APPROVED in buttons) is (state is State.APPROVED and viewer == "U0PAYER")


def test_a_request_for_two_invoices_keeps_its_amount_apart_from_their_numbers() -> None:
    """ "invoices A, B, €1,815.00" reads as a third item: the numbers are joined with
    "and", as a payment's messages join them."""
    two = request().model_copy(
        update={"invoice_ids": ("410002", "410007"), "invoice_numbers": ("A-1", "B-2")}
    )
    shown = blocks.request_message(two, "i3D.net", "U0FINANCE")
    assert shown["text"] == "Approval requested: i3D.net invoices A-1 and B-2, €6,025.80"
    assert "approve paying i3D.net invoices A-1 and B-2." in str(shown)


@pytest.mark.parametrize("viewer", ["U0PAYER", "U0FINANCE"])
def test_a_paid_approval_says_who_paid_and_has_no_buttons(viewer: str) -> None:
    payment = paid(user_id="U0PAYER", method_name="iDEAL <b>")
    approved = request(State.APPROVED, ("U0FINANCE", "U0CFO"))
    shown = blocks.request_message(approved, "i3D.net", viewer, "approve", paid=payment)
    assert validate_message(shown) == []
    assert not any(block["type"] == "actions" for block in shown["blocks"])
    said = str(shown)
    assert "Invoice paid" in shown["text"] and "Paid by <@U0PAYER>" in said
    assert "iDEAL &lt;b&gt;" in said and "Good for this amount" not in said


def test_an_expired_request_and_an_expired_approval_read_differently() -> None:
    pending = request(State.EXPIRED, ("U0FINANCE",))
    approved = request(State.EXPIRED, ("U0FINANCE", "U0CFO"))
    assert "not decided in time" in blocks.status_line(pending)
    assert "This approval has expired" in blocks.status_line(approved)
    assert "before enough people" in blocks.thread_line(pending, Outcome.EXPIRED, None)
    assert "without a payment" in blocks.thread_line(approved, Outcome.EXPIRED, None)


def test_only_an_approval_that_ran_out_is_headed_approval_expired() -> None:
    """A request nobody decided in time, or one replaced for a new amount, never was an
    approval: its approvers' messages do not say one expired."""
    undecided = request(State.EXPIRED, ("U0FINANCE",))
    replaced = undecided.model_copy(update={"reason": "the amount due is now €6,050.00"})
    approved = request(State.EXPIRED, ("U0FINANCE", "U0CFO"))

    def heading(shown: Request) -> str:
        message = blocks.request_message(shown, "i3D.net", "U0FINANCE")
        assert message["blocks"][0]["text"]["text"] == message["text"].split(":")[0]
        return str(message["text"].split(":")[0])

    assert heading(undecided) == "Request expired"
    assert heading(replaced) == "Request replaced"
    assert heading(approved) == "Approval expired"


def test_the_dialogs_are_valid_views() -> None:
    target = values.PayTarget("i3d", ("410008",), amount=Money.of(Decimal("6025.80"), "EUR"))
    views = [
        blocks.request_modal(target, "Pay it", "A rule", "https://hooks.slack.test/x"),
        blocks.reject_modal(request(), "i3D.net"),
    ]
    for view in views:
        assert validate_view(view) == []


def test_the_settings_dialog_has_a_part_per_bracket_with_what_was_saved() -> None:
    policy = Policy.parse("EUR 500 1 U0FINANCE,S0FIN; i3d USD 100 2 U0A,U0B", hours=12)
    drafts = [Draft.of(key, bracket) for key, bracket in enumerate(policy.brackets)]
    groups = [("S0FIN", "@finance (Finance)"), ("S0OPS", "@ops (Ops)")]
    choices = Choices(groups=groups, providers=[("i3d", "i3D.net")])
    view = dialog.settings_dialog(drafts, "12", choices, next_key=2)
    assert validate_view(view) == []
    by_id = {block["block_id"]: block for block in view["blocks"]}
    general = next(d for d in drafts if d.provider is None)
    assert by_id[general.block("currency")]["element"]["initial_option"]["value"] == "EUR"
    assert by_id[general.block("from")]["element"]["initial_value"] == "500"
    assert by_id[general.block("needed")]["element"]["initial_option"]["value"] == "1"
    assert by_id[general.block("users")]["element"]["initial_users"] == ["U0FINANCE"]
    picked = by_id[general.block("groups")]["element"]["initial_options"]
    assert [o["value"] for o in picked] == ["S0FIN"]
    assert by_id[general.block("provider")]["element"]["initial_option"]["value"] == "*"
    own = next(d for d in drafts if d.provider == "i3d")
    assert by_id[own.block("provider")]["element"]["initial_option"]["value"] == "i3d"
    assert by_id["hours"]["element"]["initial_value"] == "12"

    many = [(f"S0G{n}", f"@g{n}") for n in range(101)]
    typed = dialog.settings_dialog(drafts, "12", Choices(many, []), next_key=2)
    assert validate_view(typed) == []
    field = next(b for b in typed["blocks"] if b["block_id"] == general.block("groups"))
    assert field["element"]["type"] == "plain_text_input" and "S…" in field["hint"]["text"]
    assert field["element"]["initial_value"] == "S0FIN"


def test_without_the_groups_list_brackets_offer_people_and_keep_their_groups() -> None:
    """Without `usergroups:read` the bot could not read a typed group's members either:
    the dialog says why, offers people only, and saving keeps the groups chosen before."""
    policy = Policy.parse("EUR 500 1 U0FINANCE,S0FIN; EUR 900 1 U0CFO", hours=12)
    drafts = [Draft.of(key, bracket) for key, bracket in enumerate(policy.brackets)]
    view = dialog.settings_dialog(drafts, "12", Choices(None, [], "missing_scope"), next_key=2)
    assert validate_view(view) == []
    assert not [b for b in view["blocks"] if b["block_id"].endswith(".groups")]
    note = next(b for b in view["blocks"] if b["block_id"] == "groups_note")
    assert "usergroups:read" in str(note) and "stay as they are" in str(note)
    state = {
        f"b{d.key}.{field}": {"value": entry}
        for d in drafts
        for field, entry in {
            "currency": {"type": "static_select", "selected_option": {"value": "EUR"}},
            "from": {"type": "plain_text_input", "value": d.start},
            "needed": {"type": "static_select", "selected_option": {"value": "1"}},
            "users": {"type": "multi_users_select", "selected_users": list(d.users)},
        }.items()
    }
    state["hours"] = {"value": {"type": "number_input", "value": "12"}}
    read, hours, _ = read_dialog({**view, "state": {"values": state}}, policy)
    assert policy_from(read, hours) == policy
    named = dialog.groups_key(("S0FIN",))
    for forged in ('{"S0FIN": 1}', '{"0": ["finance"]}', f'{{"7": "{named}"}}'):
        metadata = {"keys": [0, 1], "next": 2, "groups": json.loads(forged)}
        with pytest.raises(Tampered):
            read_dialog({**view, "private_metadata": json.dumps(metadata)}, policy)
    changed = Policy.parse("EUR 500 1 U0FINANCE,S0OPS; EUR 900 1 U0CFO", hours=12)
    with pytest.raises(OutOfDate):  # another admin saved other groups meanwhile
        read_dialog({**view, "state": {"values": state}}, changed)


def full_state(drafts: list[Draft]) -> dict[str, dict[str, object]]:
    state: dict[str, dict[str, object]] = {
        f"b{d.key}.{field}": {"value": entry}
        for d in drafts
        for field, entry in {
            "currency": {"type": "static_select", "selected_option": {"value": d.currency}},
            "from": {"type": "plain_text_input", "value": d.start},
            "needed": {"type": "static_select", "selected_option": {"value": str(d.needed)}},
            "users": {"type": "multi_users_select", "selected_users": list(d.users)},
        }.items()
    }
    state["hours"] = {"value": {"type": "number_input", "value": "12"}}
    return state


def test_many_kept_groups_stay_within_slacks_metadata_and_are_saved_again() -> None:
    """Without the groups list, each bracket's groups rode in private_metadata, which
    Slack cuts off at 3,000 characters (about 195 group ids): Slack refused the dialog."""
    brackets = "; ".join(
        f"EUR {100 * (b + 1)} 1 U0FIN,{','.join(f'S0G{b:02}{n:04}' for n in range(40))}"
        for b in range(dialog.MAX_BRACKETS)
    )
    policy = Policy.parse(brackets, hours=12)
    drafts = [Draft.of(key, bracket) for key, bracket in enumerate(policy.brackets)]
    view = dialog.settings_dialog(drafts, "12", Choices(None, [], "missing_scope"), next_key=12)
    assert validate_view(view) == []
    read, hours, _ = read_dialog({**view, "state": {"values": full_state(drafts)}}, policy)
    assert policy_from(read, hours) == policy


def test_a_full_settings_dialog_stays_within_a_modals_hundred_blocks() -> None:
    drafts = [Draft(key=key, currency="EUR") for key in range(dialog.MAX_BRACKETS)]
    view = dialog.settings_dialog(drafts, "24", Choices([("S0FIN", "@fin")], []), next_key=99)
    assert validate_view(view) == [] and len(view["blocks"]) <= 100
    assert dialog.ADD not in str(view), "no more brackets to add"


def test_settings_is_a_subcommand_that_takes_nothing_after_it() -> None:
    assert parse("settings", lambda word: None) == Settings()
    assert isinstance(parse("settings now", lambda word: None), Unknown)


def test_the_settings_dialog_says_what_is_wrong_beside_each_field() -> None:
    drafts = [
        Draft(key=0, currency="EUR", start="500", needed=1, users=("U0FINANCE",)),
        Draft(key=3, currency="EUR", start="5,000.5.0", needed=1, users=("U0FINANCE",)),
        Draft(key=4, currency="EUR", start="100", needed=2, users=("U0FINANCE",)),
        Draft(key=5, currency="EUR", start="500.00", needed=0),
        Draft(key=6, currency="USD", start="10", needed=1, typed_groups="S0FIN, finance"),
        Draft(key=7, currency="EUR", start="500.123", needed=1, users=("U0FINANCE",)),
        Draft(key=8, currency="ZZZ", start="10", needed=0),  # a form Slack did not build
    ]
    errors = policy_from(drafts, "0")
    assert isinstance(errors, dict)
    assert set(errors) == {
        "b3.from", "b4.users", "b5.from", "b6.groups", "b7.from", "b8.currency", "hours"
    }  # fmt: skip
    assert errors["b8.currency"] == "Choose a currency."
    # Not read as €500,123.00 (the euro's thousands dot): a bracket a thousandfold too high.
    assert "if you meant 500123, type it without a thousands separator" in errors["b7.from"]
    assert "Bracket 1 already starts at €500.00" in errors["b5.from"]
    assert "`finance`" in errors["b6.groups"]

    fixed = [drafts[0], replace(drafts[2], start="1000", users=("U0FINANCE", "U0CFO"))]
    fixed.append(replace(drafts[4], typed_groups="S0FIN, <!subteam^S0OPS|ops>", provider="i3d"))
    policy = policy_from(fixed, "12")
    assert isinstance(policy, Policy) and policy.hours == 12
    assert (
        policy.text() == "EUR 500 1 U0FINANCE\nEUR 1000 2 U0FINANCE,U0CFO\ni3d USD 10 1 S0FIN,S0OPS"
    )
    assert Policy.parse(policy.text(), 12) == policy, "the saved policy reads like a seed"


def test_the_dialog_reads_back_what_was_typed_and_refuses_forged_metadata() -> None:
    many = [(f"S0G{n}", f"@g{n}") for n in range(101)]
    view = dialog.settings_dialog(
        [Draft(key=4, currency="USD")], "6", Choices(many, []), next_key=5
    )
    state = {
        "b4.from": {"value": {"type": "plain_text_input", "value": "1,250.50"}},
        "b4.needed": {"value": {"type": "static_select", "selected_option": {"value": "1"}}},
        "b4.users": {"value": {"type": "multi_users_select", "selected_users": ["U0CFO"]}},
        "b4.groups": {"value": {"type": "plain_text_input", "value": "S0FIN"}},
        "b4.provider": {"value": {"type": "static_select", "selected_option": {"value": "*"}}},
        "hours": {"value": {"type": "number_input", "value": "6"}},
    }
    drafts, hours, next_key = read_dialog({**view, "state": {"values": state}}, NO_POLICY)
    assert (hours, next_key) == ("6", 5)
    assert drafts == [
        Draft(key=4, start="1,250.50", needed=1, users=("U0CFO",), typed_groups="S0FIN")
    ], "no currency picked: the state has none"
    for odd in ("\u00b2", "\u0661"):  # digits to isdigit, not one (or not ours) to int
        state["b4.needed"]["value"]["selected_option"]["value"] = odd
        (draft,), _, _ = read_dialog({**view, "state": {"values": state}}, NO_POLICY)
        assert draft.needed is None, "not a choice the menu offers"
    deep = "[" * 1400 + "]" * 1400  # within Slack's 3,000 characters, deeper than json reads
    for forged in ('{"keys": [1, 1], "next": 2}', '{"keys": [7], "next": 2}', "nope", deep):
        with pytest.raises(Tampered):
            read_dialog({**view, "private_metadata": forged}, NO_POLICY)


def test_a_pending_request_says_who_may_approve_in_one_sentence() -> None:
    line = blocks.status_line(request())
    assert "Needs two approvals from two different people (0 of 2). " in line
    assert "Any of <@U0FINANCE> or <@U0CFO> may approve." in line and ") from" not in line


def test_after_the_first_approval_only_the_others_are_said_to_be_able_to_approve() -> None:
    line = blocks.status_line(request(approved_by=("U0FINANCE",)))
    assert "(1 of 2). Approved by <@U0FINANCE>; <@U0CFO> may still approve." in line
    assert line.count("U0FINANCE") == 1
    three = request(approved_by=("U0CFO",)).model_copy(
        update={"approvers": ("U0FINANCE", "U0CFO", "U0ADMIN")}
    )
    line = blocks.status_line(three)
    assert "Approved by <@U0CFO>; <@U0FINANCE> or <@U0ADMIN> may still approve." in line


def test_a_long_invoice_number_leaves_every_other_request_on_app_home() -> None:
    """Provider numbers are cut within a line: one of thousands of characters would
    otherwise fill the section's 3,000 and hide the requests after it."""
    long_one = request().model_copy(update={"invoice_numbers": ("INV-" + "9" * 3_000,)})
    others = [
        request().model_copy(update={"id": f"{n}" * 32, "invoice_numbers": (f"INV-{n}",)})
        for n in range(5)
    ]
    shown = blocks.home_section(
        Policy.parse("EUR 500 1 U0FINANCE"),
        [long_one, *others],
        "U0FINANCE",
        admin=False,
        titles={},
    )
    waiting = next(b for b in shown if "Waiting for your approval" in str(b))["text"]["text"]
    assert all(f"INV-{n}" in waiting for n in range(5)) and "asked by <@U0PAYER>" in waiting
    message = blocks.request_message(long_one, "i3D.net", "U0FINANCE")
    assert validate_message(message) == [] and len(message["text"]) < 500


@pytest.mark.parametrize("why", ["", "The last approval expired."])
def test_the_pay_menus_approval_sentence_ends_where_its_words_do(why: str) -> None:
    """Nothing more to say (no earlier approval) leaves no trailing space behind it."""
    target = values.PayTarget("i3d", ("410008",), amount=Money.of("6025.80", "EUR"))
    menu = {
        "blocks": [
            {"type": "section", "block_id": "head", "text": {"type": "mrkdwn", "text": "x"}},
            {"type": "actions", "block_id": "pay:1", "elements": []},
        ]
    }
    bracket = Bracket(currency="EUR", minimum=Decimal("5000"), needed=1, approvers=("U0CFO",))
    blocks.gated(menu, target, bracket, why, ask=True)
    said = menu["blocks"][1]["text"]["text"]
    assert said.startswith(":lock: Payments of") and said == said.strip(), repr(said)
    assert said.endswith(f"(<@U0CFO>). {why}".strip())


async def test_groups_chosen_in_the_dialog_survive_a_redraw_without_the_groups_list() -> None:
    """Groups picked from the list, then a click that redraws the dialog while Slack does
    not list the groups (rate-limited, another process's cache): they are not saved yet,
    so no short name finds them again. Kept unseen that way, the save was refused as if
    another admin had changed the settings, and the choice was lost."""
    saved = Policy.parse("EUR 500 1 U0FINANCE", hours=12)
    listed = [("S0FIN", "@finance (Finance)"), ("S0OPS", "@ops (Ops)")]
    drafts = [Draft.of(0, saved.brackets[0])]
    view = dialog.settings_dialog(drafts, "12", Choices(listed, []), next_key=1)
    state = full_state(drafts)
    state["b0.groups"] = {
        "value": {"type": "multi_static_select", "selected_options": [{"value": "S0OPS"}]}
    }
    views: list[dict[str, object]] = []

    async def views_update(**kwargs: object) -> None:
        views.append(kwargs)

    async def listed_groups(team_id: str) -> GroupListing:
        return GroupListing(None, "ratelimited")

    svc = SimpleNamespace(
        approvals=SimpleNamespace(policy=lambda team_id: saved),
        connections=SimpleNamespace(connected=lambda team_id: []),
        access=SimpleNamespace(listed_groups=listed_groups),
    )
    body = {
        "team": {"id": "T0TEAM"},
        "actions": [{"action_id": dialog.ADD}],
        "view": {**view, "id": "V0SETTINGS", "state": {"values": state}},
    }

    async def ack() -> None:
        return None

    await on_add_bracket(svc, ack, body, None, SimpleNamespace(views_update=views_update))  # type: ignore[arg-type]
    redrawn = views[-1]["view"]
    assert isinstance(redrawn, dict) and validate_view(redrawn) == []
    state = full_state([*drafts, Draft(key=1, currency="USD", start="900", needed=0)])
    for block in redrawn["blocks"]:
        if block.get("block_id") == "b0.groups":  # as Slack keeps what the field shows
            typed = block["element"].get("initial_value")
            state["b0.groups"] = {"value": {"type": "plain_text_input", "value": typed}}
    read, hours, _ = read_dialog({**redrawn, "state": {"values": state}}, saved)
    policy = policy_from(read, hours)
    assert isinstance(policy, Policy)
    assert policy.brackets[0].approvers == ("U0FINANCE", "S0OPS")


def test_a_larger_amount_needing_fewer_approvals_is_refused_beside_its_approvals() -> None:
    """From €100 two approvals and from €500 one would ask less of a larger payment than
    of a smaller one: the dialog says so beside the larger bracket and saves nothing."""
    two = Draft(key=0, currency="EUR", start="100", needed=2, users=("U0FINANCE", "U0CFO"))
    one = Draft(key=2, currency="EUR", start="500", needed=1, users=("U0FINANCE",))
    none = Draft(key=5, currency="EUR", start="5000", needed=0)
    errors = policy_from([two, one, none], "24")
    assert errors == {
        "b2.needed": "Bracket 1 starts lower, at €100.00, and needs 2: a larger payment "
        "cannot need fewer approvals.",
        "b5.needed": "Bracket 1 starts lower, at €100.00, and needs 2: a larger payment "
        "cannot need fewer approvals.",
    }
    # Another currency, or a provider's own brackets (which replace the general ones),
    # are not compared with these.
    dollars = replace(one, key=3, currency="USD")
    at_i3d = replace(one, key=4, provider="i3d")
    assert isinstance(policy_from([two, dollars, at_i3d], "24"), Policy)


def test_app_home_tells_ones_own_request_without_naming_one_as_its_asker() -> None:
    """Under "Your requests", "asked by <you>" says again what the heading says; a bare
    "0 of 2" says not what is counted."""
    mine = request()
    shown = blocks.home_section(
        Policy.parse("EUR 500 1 U0FINANCE"), [mine], "U0PAYER", admin=False, titles={}
    )
    (own,) = [b["text"]["text"] for b in shown if "Your requests" in str(b)]
    assert "asked by" not in own, own
    assert own.endswith("€6,025.80 · i3d · 0 of 2 approvals"), own
    waiting = blocks.home_section(
        Policy.parse("EUR 500 1 U0FINANCE"), [mine], "U0FINANCE", admin=False, titles={}
    )
    (theirs,) = [b["text"]["text"] for b in waiting if "Waiting for your" in str(b)]
    assert theirs.endswith("· asked by <@U0PAYER> · 0 of 2 approvals"), theirs
