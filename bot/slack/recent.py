"""The list each person last asked for, so "Back to the list" returns to it.

A pay menu replaces the list it was opened from, and Slack sends nothing of an ephemeral
message back with a click, so the words of that list cannot ride on the menu's buttons
(the menu's block ids, the only other place, hold 255 characters). Kept in memory, per
person, bounded; after a restart, or on another replica, Back shows the usual list.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.slack.values import MAX_TEXT


class RecentLists:
    """The words typed after /invoices for each person's latest list: at most `size`
    people, the least recent forgotten first, and `MAX_TEXT` characters each (what a
    page button carries; longer words are not kept, and Back shows the usual list)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._words: OrderedDict[tuple[str, str], str] = OrderedDict()

    def note(self, team_id: str, user_id: str, words: str) -> None:
        key = (team_id, user_id)
        self._words[key] = words if len(words) <= MAX_TEXT else ""
        self._words.move_to_end(key)
        while len(self._words) > self.size:
            self._words.popitem(last=False)

    def words(self, team_id: str, user_id: str) -> str:
        """What they last listed; "" (the usual list) when nothing is known."""
        return self._words.get((team_id, user_id), "")
