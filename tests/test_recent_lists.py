"""Each person's latest list, for "Back to the list": per person, bounded."""

from __future__ import annotations

from bot.slack.recent import RecentLists
from bot.slack.values import MAX_TEXT


def test_each_person_gets_their_own_latest_list() -> None:
    recent = RecentLists()
    recent.note("T1", "U1", "i3d overdue")
    recent.note("T1", "U1", "paid")
    recent.note("T2", "U1", "acme")
    assert recent.words("T1", "U1") == "paid"
    assert recent.words("T2", "U1") == "acme"  # the same id in another workspace
    assert recent.words("T1", "U2") == ""  # nothing known: the usual list


def test_memory_stays_bounded() -> None:
    recent = RecentLists(size=2)
    for user in ("U1", "U2", "U3"):
        recent.note("T1", user, user.lower())
    recent.note("T1", "U4", "x" * (MAX_TEXT + 1))
    assert recent.words("T1", "U1") == "" and recent.words("T1", "U2") == ""
    assert recent.words("T1", "U3") == "u3"
    assert recent.words("T1", "U4") == ""  # too long for a page button: not kept
