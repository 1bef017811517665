"""Who is in the workspace and where they talk: users, channels and user groups.

The defaults are the cast the project's scenarios use: an admin, a payer, a viewer who
may not pay, the bot, #general, #billing, and the "payers" user group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    is_admin: bool = False
    email: str | None = None
    tz: str = "Europe/Amsterdam"
    """The zone dates are shown in, to the bot (users.info) and on the page alike."""

    def to_api(self, team_id: str) -> dict[str, Any]:
        """The `user` object of users.info."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_admin": self.is_admin,
            "is_owner": self.is_admin,
            "is_app_user": False,
            "tz": self.tz,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "email": self.email,
                "team": team_id,
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    is_im: bool = False
    is_private: bool = False
    im_user: str | None = None
    is_archived: bool = False
    """Nobody posts in an archived channel: Slack answers chat.postMessage `is_archived`."""

    def to_api(self, viewer: str) -> dict[str, Any]:
        """The `channel` object of conversations.info, as `viewer` (the bot) sees it."""
        shown: dict[str, Any] = {
            "id": self.id,
            "created": 1700000000,
            "is_im": self.is_im,
            "is_member": viewer in self.members,
            "is_archived": self.is_archived,
        }
        if self.is_im:
            shown.update(user=self.im_user, is_open=True)
        else:
            shown.update(
                name=self.name,
                is_channel=not self.is_private,
                is_group=self.is_private,
                is_private=self.is_private,
                num_members=len(self.members),
            )
        return shown


@dataclass
class UserGroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


def default_users() -> list[User]:
    return [
        User("U0ADMIN", "alex", "Alex Admin", is_admin=True, email="alex@acme.test"),
        User("U0PAYER", "pat", "Pat Payer", email="pat@acme.test"),
        User("U0VIEWER", "val", "Val Viewer", email="val@acme.test"),
        User("U0BOT", "invoicebot", "invoicebot", is_bot=True),
    ]


def default_channels(users: dict[str, User]) -> list[Channel]:
    """#general has everyone; #billing has the admin, the payer and the bot."""
    everyone = list(users)
    billing = [u for u in ("U0ADMIN", "U0PAYER", "U0BOT") if u in users]
    return [Channel("C0GENERAL", "general", everyone), Channel("C0BILLING", "billing", billing)]
