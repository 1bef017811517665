"""Workspaces of an Enterprise Grid organization install invoicebot one by one, beside a
workspace of no organization, with the emulator sending the organization along as Slack
does for an install on a workspace.

Each workspace keeps its own admins, providers, billing channel and tokens, though its
people have the same user ids in every workspace of the organization; removing the app
from one leaves its sibling working. An install on the whole organization (possible only
with org deploy enabled in the manifest) is refused with a page saying what to do, and
its requests are answered, not served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from bot.installations import Installations
from bot.web import OUTBOX, SERVICES, STORE
from slack_emulator import Enterprise, UserGroup, Workspace
from slack_emulator.modals import OpenView
from tests.scenario.test_oauth_install import (
    ACME,
    ADMIN,
    BILLING,
    GENERAL,
    PAYER,
    Installed,
    announced,
    connect_i3d,
    pay_an_invoice,
    serving,
    shown_to,
)

ORG = Enterprise("E0INITECH", "Initech <Group>")
SALES, OPS = "T0SALES", "T0OPS"


def workspaces() -> list[Workspace]:
    """Sales and Ops of one organization, each with its own user groups, and Acme."""
    sales_groups = [UserGroup("S0SALESPAY", "sales-payers", "Sales payers", [PAYER])]
    ops_groups = [UserGroup("S0OPSFIN", "ops-finance", "Ops finance", [ADMIN])]
    return [
        Workspace(
            team_id=SALES,
            team_name="Initech Sales",
            team_domain="initech-sales",
            usergroups=sales_groups,
            enterprise=ORG,
        ),
        Workspace(
            team_id=OPS,
            team_name="Initech Ops",
            team_domain="initech-ops",
            usergroups=ops_groups,
            enterprise=ORG,
        ),
        Workspace(),
    ]


@pytest.fixture
async def grid(database: str, i3d_sandbox: TestServer) -> AsyncIterator[Installed]:
    async with serving(database, i3d_sandbox, workspaces()) as running:
        yield running


@pytest.fixture
async def org_deploy(database: str, i3d_sandbox: TestServer) -> AsyncIterator[Installed]:
    """As `grid`, for an app whose manifest enables org deploy."""
    async with serving(database, i3d_sandbox, workspaces(), org_deploy=True) as running:
        yield running


async def install_all(grid: Installed) -> None:
    """Sales installed by ADMIN, Ops by PAYER, Acme by ADMIN; i3D.net in Sales only."""
    for team_id, installer in ((SALES, ADMIN), (OPS, PAYER), (ACME, ADMIN)):
        status, page = await grid.install(team_id, installer)
        assert status == 200 and "invoicebot is installed" in page, page


async def test_workspaces_of_one_organization_see_only_their_own(
    grid: Installed, i3d_sandbox: TestServer
) -> None:
    await install_all(grid)
    await connect_i3d(grid, SALES, i3d_sandbox)
    sales, ops, acme = grid.workspace(SALES), grid.workspace(OPS), grid.workspace(ACME)
    installations = Installations(grid.bots[0].app[STORE])
    for team_id in (SALES, OPS):  # kept as Slack names them: the workspace and its org
        bot = await installations.async_find_bot(enterprise_id=ORG.id, team_id=team_id)
        assert bot is not None and bot.enterprise_id == ORG.id and not bot.is_enterprise_install
    alone = await installations.async_find_bot(enterprise_id=None, team_id=ACME)
    assert alone is not None and alone.enterprise_id is None

    # One person has one user id across the organization; whoever installed a workspace
    # is its admin, and that makes them no admin of the sibling.
    assert "will be announced in" in await shown_to(sales, ADMIN, BILLING, "billing")
    assert "Only invoicebot admins" in await shown_to(ops, ADMIN, BILLING, "billing")
    assert "Only invoicebot admins" in await shown_to(sales, PAYER, GENERAL, "billing")
    assert "will be announced in" in await shown_to(ops, PAYER, GENERAL, "billing")
    teams = grid.bots[1].app[SERVICES].teams  # the other process reads the same
    assert teams.billing_channel(SALES) == BILLING and teams.billing_channel(OPS) == GENERAL
    assert teams.billing_channel(ACME) is None
    assert teams.people(SALES, "admins") == {ADMIN} and teams.people(OPS, "admins") == {PAYER}

    assert "INV-" in await shown_to(sales, ADMIN, GENERAL, "")
    for workspace, user in ((ops, PAYER), (acme, ADMIN)):
        listing = await shown_to(workspace, user, GENERAL, "")
        assert "INV-" not in listing and "connect" in listing
    assert "i3D.net*: not connected" in await shown_to(ops, PAYER, GENERAL, "status")

    # A command and a button in Sales go out with Sales' token: the People dialog lists
    # Sales' groups, the Home tab is published and its Export button opens a dialog, there.
    await sales.slash_command(ADMIN, GENERAL, "people")
    people = await sales.wait_until(lambda: sales.modal(ADMIN))
    assert "Sales payers" in str(people.definition) and "Ops finance" not in str(people.definition)
    await sales.close_view(ADMIN, everything=True)
    await sales.open_home(ADMIN)

    def home_with_export() -> OpenView | None:
        home = sales.home(ADMIN)
        return home if home and "export_records" in str(home.definition) else None

    home = await sales.wait_until(home_with_export)
    await sales.click(ADMIN, home, "export_records")
    export = await sales.wait_until(lambda: sales.modal(ADMIN))
    assert export.definition["callback_id"] == "export_records"
    assert ops.home(ADMIN) is None and ops.modal(ADMIN) is None
    assert sales.calls_to("usergroups.list") and not ops.calls_to("usergroups.list")
    assert all(call.ok for w in (sales, ops, acme) for call in w.calls)


async def test_a_payment_in_a_grid_workspace_is_announced_there_only(
    grid: Installed, i3d_sandbox: TestServer
) -> None:
    await install_all(grid)
    await connect_i3d(grid, SALES, i3d_sandbox)
    sales, ops, acme = grid.workspace(SALES), grid.workspace(OPS), grid.workspace(ACME)
    await shown_to(sales, ADMIN, BILLING, "billing")
    await shown_to(ops, PAYER, BILLING, "billing")
    await pay_an_invoice(sales, ADMIN)
    posted = await sales.wait_until(lambda: announced(sales, BILLING), seconds=10)
    assert "INV-24-0101" in str(posted[0].blocks) + posted[0].text
    store = grid.bots[0].app[STORE]
    store.enqueue("chat.postMessage", {"channel": BILLING, "text": "Ops"}, key="o", team_id=OPS)
    grid.bots[0].app[OUTBOX].wake.set()
    await ops.wait_until(lambda: announced(ops, BILLING))
    assert [m.text for m in announced(ops, BILLING)] == ["Ops"]
    assert acme.messages(BILLING) == [] and len(announced(sales, BILLING)) == 1
    assert store.recent_settlements(OPS) == [] and len(store.recent_settlements(SALES)) == 1
    assert all(call.ok for w in (sales, ops, acme) for call in w.calls)


async def test_removing_the_app_from_one_grid_workspace_leaves_its_sibling_working(
    grid: Installed, i3d_sandbox: TestServer
) -> None:
    await install_all(grid)
    for team_id in (SALES, OPS):
        await connect_i3d(grid, team_id, i3d_sandbox)
    sales, ops = grid.workspace(SALES), grid.workspace(OPS)
    replies = await sales.uninstall()
    assert [reply.status for reply in replies] == [200, 200]
    store = grid.bots[0].app[STORE]
    installations = Installations(store)
    assert await installations.async_find_bot(enterprise_id=ORG.id, team_id=SALES) is None
    assert store.connected_providers(SALES) == []
    assert ("workspace.uninstalled", SALES) in [(e.action, e.team_id) for e in store.audit_log()]
    assert "not installed in this workspace" in await shown_to(sales, ADMIN, GENERAL, "")

    assert await installations.async_find_bot(enterprise_id=ORG.id, team_id=OPS) is not None
    assert store.connected_providers(OPS) == ["i3d"]
    assert "INV-" in await shown_to(ops, PAYER, GENERAL, "")
    store.enqueue("chat.postMessage", {"channel": BILLING, "text": "Ops"}, key="o", team_id=OPS)
    grid.bots[0].app[OUTBOX].wake.set()
    await ops.wait_until(lambda: ops.messages(BILLING))
    assert all(call.ok for call in ops.calls)


async def test_an_install_on_the_whole_organization_is_refused_plainly(
    org_deploy: Installed,
) -> None:
    status, page = await org_deploy.install(SALES, ADMIN, org=True)
    assert status == 400 and "nothing was installed" in page and "one workspace at a time" in page
    assert "Initech &lt;Group&gt;" in page and "/slack/install" in page
    assert "Traceback" not in page and "storage_error" not in page
    bot = org_deploy.bots[0].app
    assert Installations(bot[STORE]).installed_teams() == []
    teams = bot[SERVICES].teams
    assert not any(teams.people(key, "admins") for key in (SALES, OPS, ORG.id, ""))

    # Slack now sends the organization's workspaces' requests as an organization's install:
    # a command is answered with what to do; nothing else is acted on.
    sales = org_deploy.workspace(SALES)
    answer = await shown_to(sales, ADMIN, GENERAL, "")
    assert "whole Enterprise Grid organization" in answer and "nothing was done" in answer
    assert (await sales.open_home(ADMIN)).status == 200
    assert sales.home(ADMIN) is None

    # A workspace of no organization installs and works as ever.
    status, _ = await org_deploy.install(ACME, ADMIN)
    assert status == 200
    assert "connect" in await shown_to(org_deploy.workspace(ACME), ADMIN, GENERAL, "")
