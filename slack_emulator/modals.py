"""Modal view stacks, App Home views and trigger ids, with Slack's rules for each.

A trigger id is good once, for 3 seconds; a stack holds at most 3 modals; views.update
may carry the `hash` it last saw and is refused when the view changed since.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from slack_emulator.clock import Clock
from slack_emulator.elements import Picks, state_values, with_ids
from slack_emulator.workspace import Changes

TRIGGER_SECONDS = 3.0
STACK_LIMIT = 3
_VIEW_FIELDS = (
    "type", "title", "submit", "close", "callback_id", "private_metadata",
    "external_id", "clear_on_close", "notify_on_close",
)  # fmt: skip


class SurfaceError(Exception):
    """A Slack error name (expired_trigger_id, push_limit_reached, hash_conflict, ...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Trigger:
    id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class OpenView:
    """A modal in a user's stack, or a user's Home tab."""

    id: str
    user_id: str
    definition: dict[str, Any]
    hash: str
    root_view_id: str | None = None
    previous_view_id: str | None = None
    picks: Picks = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.definition["blocks"]

    def to_api(self, team_id: str, app_id: str, bot_id: str, *, inputs_only: bool) -> dict:
        """The view object Slack returns from views.* and puts in interaction payloads."""
        shown: dict[str, Any] = {"private_metadata": "", "callback_id": "", "external_id": ""}
        shown.update(self.definition)
        shown.update(
            id=self.id,
            team_id=team_id,
            app_id=app_id,
            app_installed_team_id=team_id,
            bot_id=bot_id,
            hash=self.hash,
            root_view_id=self.root_view_id or self.id,
            previous_view_id=self.previous_view_id,
            state={"values": state_values(self.blocks, self.picks, inputs_only=inputs_only)},
        )
        return shown


class Surfaces:
    """Every user's modal stack and Home view, and the trigger ids that open modals."""

    def __init__(self, changes: Changes, clock: Clock) -> None:
        self.changes, self.clock = changes, clock
        self.stacks: dict[str, list[OpenView]] = {}
        self.homes: dict[str, OpenView] = {}
        self.triggers: dict[str, Trigger] = {}
        self._seq = itertools.count(1)
        # Submissions whose ack Slack has not applied yet, by user: views.* calls wait for it.
        self.submitting: dict[str, asyncio.Event] = {}

    def issue_trigger(self, user_id: str) -> str:
        trigger = Trigger(
            f"{next(self._seq)}.1700.{secrets.token_hex(16)}", user_id, self.clock.now()
        )
        self.triggers[trigger.id] = trigger
        return trigger.id

    def redeem(self, trigger_id: Any) -> Trigger:
        trigger = self.triggers.get(str(trigger_id))
        if trigger is None:
            raise SurfaceError("invalid_trigger_id")
        if trigger.used:
            raise SurfaceError("exchanged_trigger_id")
        if self.clock.now() - trigger.issued_at > TRIGGER_SECONDS:
            raise SurfaceError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _new(self, user_id: str, view: dict[str, Any], **links: Any) -> OpenView:
        return OpenView(self._view_id(), user_id, _definition(view), self._hash(), **links)

    def open(self, user_id: str, view: dict[str, Any]) -> OpenView:
        """A new stack (a modal already open is replaced, as when Slack opens a new one)."""
        opened = self._new(user_id, view)
        self.stacks[user_id] = [opened]
        self.changes.touch()
        return opened

    def push(self, user_id: str, view: dict[str, Any]) -> OpenView:
        stack = self.stacks.get(user_id)
        if not stack:
            raise SurfaceError("not_found")
        if len(stack) >= STACK_LIMIT:
            raise SurfaceError("push_limit_reached")
        pushed = self._new(user_id, view, root_view_id=stack[0].id, previous_view_id=stack[-1].id)
        stack.append(pushed)
        self.changes.touch()
        return pushed

    def update(self, target: OpenView, view: dict[str, Any], seen_hash: str | None) -> OpenView:
        """Replace a view's content in place; picks survive where block and action ids do."""
        if seen_hash and seen_hash != target.hash:
            raise SurfaceError("hash_conflict")
        old_picks = target.picks
        target.definition, target.hash, target.errors, target.picks = (
            _definition(view),
            self._hash(),
            {},
            {},
        )
        for block_id, actions in state_values(target.blocks, {}, inputs_only=False).items():
            for action_id in actions:
                if action_id in old_picks.get(block_id, {}):
                    picked = old_picks[block_id][action_id]
                    target.picks.setdefault(block_id, {})[action_id] = picked
        self.changes.touch()
        return target

    def publish(self, user_id: str, view: dict[str, Any], seen_hash: str | None) -> OpenView:
        home = self.homes.get(user_id)
        if home is None:
            home = self.homes[user_id] = self._new(user_id, view)
            self.changes.touch()
            return home
        return self.update(home, view, seen_hash)

    def find(self, view_id: str | None = None, external_id: str | None = None) -> OpenView | None:
        for view in self.all_views():
            if view_id and view.id == view_id:
                return view
            if external_id and view.definition.get("external_id") == external_id:
                return view
        return None

    def all_views(self) -> list[OpenView]:
        return [v for stack in self.stacks.values() for v in stack] + list(self.homes.values())

    def top(self, user_id: str) -> OpenView | None:
        stack = self.stacks.get(user_id)
        return stack[-1] if stack else None

    def close(self, user_id: str, *, everything: bool = False) -> list[OpenView]:
        """Close the top modal (back to the one below), or the whole stack."""
        stack = self.stacks.get(user_id) or []
        closed = stack[:] if everything else stack[-1:]
        del stack[len(stack) - len(closed) :]
        self.changes.touch()
        return closed

    def _view_id(self) -> str:
        return f"V{next(self._seq):04d}{secrets.token_hex(3).upper()}"

    def _hash(self) -> str:
        return f"{int(self.clock.now())}.{secrets.token_hex(4)}"


def _definition(view: dict[str, Any]) -> dict[str, Any]:
    kept = {k: view[k] for k in _VIEW_FIELDS if k in view}
    kept["blocks"] = with_ids(view.get("blocks") or [])
    return kept
