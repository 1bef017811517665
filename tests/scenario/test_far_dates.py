"""A provider's times at the calendar's edge (year 9999, year 1) are data like any other:
they never break a list, App Home or the records, whatever the workspace's zone."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from plugins.i3d.sandbox import SANDBOX
from tests.conftest import QUIET_SCHEDULES
from tests.scenario.harness import Harness, text_of

LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: a day later than any time east of UTC


@pytest.fixture
def schedules() -> dict[str, Any]:
    return {**QUIET_SCHEDULES, "timezone": "Europe/Amsterdam"}


async def test_a_paid_time_in_year_9999_breaks_no_list(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    state.drift["410001"] = {"paymentStatus": 1, "paymentDate": LAST_SECOND, "remainingAmount": "0"}
    _, screen, _ = await h.command("paid")
    listed = text_of((await h.screen_after(screen)).message)
    assert "INV-24-0101" in listed and "went wrong" not in listed
