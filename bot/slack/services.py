"""What the Slack listeners need, built once per process by the web app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.access import Access
from bot.approvals import Approvals
from bot.checkout import Checkout
from bot.clock import Clock, SystemClock
from bot.connections import Connections
from bot.payments import Payments
from bot.runs import Runs
from bot.settings import Settings
from bot.singleflight import SingleFlight
from bot.slack.priority import AckFirst
from bot.slack.recent import RecentLists
from bot.snapshots import Snapshots
from bot.store import Store
from bot.team_settings import TeamSettings
from bot.timetable import parse_zone


@dataclass
class Services:
    settings: Settings
    store: Store
    connections: Connections
    payments: Payments
    checkout: Checkout
    access: Access
    teams: TeamSettings
    approvals: Approvals
    acks: AckFirst = field(default_factory=AckFirst)
    listings: SingleFlight[dict[str, Any]] = field(default_factory=SingleFlight)
    snapshots: Snapshots = field(default_factory=Snapshots)
    recent: RecentLists = field(default_factory=RecentLists)
    """Each person's latest list, for "Back to the list"."""
    clock: Clock = field(default_factory=SystemClock)
    """The time schedules and reminders read (see `bot.clock`)."""
    connect_defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per provider, values standing for its connect dialog's advanced defaults: the demo
    points the addresses at its local sandboxes, so nothing typed there leaves the machine."""

    @property
    def runs(self) -> Runs:
        """Schedule runs and reminders, in the same database."""
        return Runs(self.store)

    def zone(self) -> ZoneInfo:
        """The workspace's time zone (`INVOICEBOT_TIMEZONE`)."""
        return parse_zone(self.settings.timezone)

    def today(self) -> date:
        """Today in the workspace's zone (`INVOICEBOT_TIMEZONE`), by `clock` (the time
        the digest and the reminders read): the day lists, App Home and pay menus count
        "overdue" from, as they do, so that one invoice is not overdue in one and due in
        the other."""
        return self.clock.now().astimezone(self.zone()).date()

    def provider_named(self, word: str) -> str | None:
        cls = self.connections.find_class(word)
        return cls.name if cls else None
