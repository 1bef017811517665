"""The people dialog's user groups: a workspace's own, typed as ids past a select's
hundred options, and never another workspace's."""

from __future__ import annotations

from typing import Any

from bot.access import GroupListing
from bot.slack.people import chosen_groups, people_modal
from slack_emulator import validate_view

MANY = GroupListing([(f"S0G{n}", f"@g{n} (Group {n})") for n in range(120)])
NONE_SAVED: dict[str, tuple[str, ...]] = {"admin_groups": (), "payer_groups": ()}


def state(**entries: dict[str, Any]) -> dict[str, Any]:
    return {"state": {"values": {block: {"value": e} for block, e in entries.items()}}}


def test_past_a_hundred_groups_they_are_typed_and_checked_against_the_workspace() -> None:
    view = people_modal(["U0ADMIN"], [], {"admin_groups": ("S0G7",), "payer_groups": ()}, MANY)
    assert validate_view(view) == []
    (admin_groups,) = [b for b in view["blocks"] if b["block_id"] == "admin_groups"]
    assert admin_groups["element"]["type"] == "plain_text_input"
    assert admin_groups["element"]["initial_value"] == "S0G7"
    typed = {"type": "plain_text_input", "value": "S0G3, <!subteam^S0G5|g5>"}
    groups, errors = chosen_groups(state(admin_groups=typed), NONE_SAVED, MANY)
    assert errors == {} and groups["admin_groups"] == ("S0G3", "S0G5")
    stranger = {"type": "plain_text_input", "value": "S0G3 S0OTHERTEAM"}
    _, errors = chosen_groups(state(payer_groups=stranger), NONE_SAVED, MANY)
    assert errors == {"payer_groups": "`S0OTHERTEAM` is not a user group of this workspace."}
    _, errors = chosen_groups(
        state(payer_groups={**stranger, "value": "finance"}), NONE_SAVED, MANY
    )
    assert "is not a user group id" in errors["payer_groups"]


def test_a_picked_group_must_be_the_workspaces_own() -> None:
    listing = GroupListing([("S0FIN", "@fin (Finance)")])
    picked = {"type": "multi_static_select", "selected_options": [{"value": "S0ELSEWHERE"}]}
    _, errors = chosen_groups(state(admin_groups=picked), NONE_SAVED, listing)
    assert "S0ELSEWHERE" in errors["admin_groups"]
    saved = {"admin_groups": ("S0GONE",), "payer_groups": ()}  # deleted since: still removable
    kept = {"type": "multi_static_select", "selected_options": [{"value": "S0GONE"}]}
    groups, errors = chosen_groups(state(admin_groups=kept), saved, listing)
    assert errors == {} and groups == saved


def test_a_workspace_without_groups_or_a_refusal_shows_people_only() -> None:
    view = people_modal(["U0ADMIN"], [], NONE_SAVED, GroupListing([]))
    assert [b["block_id"] for b in view["blocks"]] == ["admins", "payers"]
    refused = people_modal(["U0ADMIN"], [], NONE_SAVED, GroupListing(None, "ratelimited"))
    assert "open this dialog again" in str(refused["blocks"][-1])
    assert "stay as they are" not in str(refused["blocks"][-1])
    groups, errors = chosen_groups(state(), {"admin_groups": ("S0FIN",), "payer_groups": ()}, MANY)
    assert errors == {} and groups["admin_groups"] == ("S0FIN",)


def test_groups_chosen_from_a_select_fit_the_typed_field_they_move_to() -> None:
    """A hundred groups picked while the select held them all, shown again as typed ids
    once the workspace has more: the field takes them, and more."""
    chosen = tuple(f"S0G{n:08d}" for n in range(100))
    view = people_modal(["U0ADMIN"], [], {"admin_groups": chosen, "payer_groups": ()}, MANY)
    assert validate_view(view) == []
    (admin_groups,) = [b for b in view["blocks"] if b["block_id"] == "admin_groups"]
    element = admin_groups["element"]
    assert len(element["initial_value"]) < element["max_length"] <= 3000
