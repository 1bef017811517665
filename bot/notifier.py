"""The built-in plugin that tells Slack a payment landed.

It is a plain `payment_confirmed` hook, registered like any third-party plugin, so a
team that wants e-mail or an accounting export instead writes a plugin the same way.
The Slack rendering arrives with the Slack flow; until then it announces nothing.
"""

from __future__ import annotations
