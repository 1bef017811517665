from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.credentials import generate_key
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import create_app
from tests import postgres
from tests.fake_slack import BOT_TOKEN, FakeSlack

QUIET_SCHEDULES = {"digest": "off", "due_reminder_days": 0}
"""Tests of other things must not see a digest or a reminder because of the day they run."""

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _no_pages_read_before() -> Iterator[None]:
    """Each test reads i3D.net's pages afresh: one that breaks a conversion on purpose
    must not be served a page another test read whole (`ReadPages` is per process)."""
    from plugins.i3d.listing import READ_PAGES

    READ_PAGES.clear()
    yield
    READ_PAGES.clear()


ENGINES = ["sqlite", "postgresql"]
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the whole run; skipped where none is installed."""
    bin_dir = postgres.binaries()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
            "/usr/lib/postgresql/*/bin); `apt-get install postgresql` runs these cases"
        )
    with postgres.cluster(bin_dir) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A database of this test's own: a fresh schema, named in the URL's search_path."""
    import psycopg

    schema = f"t{next(_schemas)}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The bot's database on each engine: a sqlite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "db.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def fake_slack() -> AsyncIterator[tuple[FakeSlack, TestServer]]:
    fake = FakeSlack()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, server
    finally:
        await server.close()


@pytest.fixture
def settings(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer], request: pytest.FixtureRequest
) -> Settings:
    """Test settings; a test may add its own with `indirect` parametrization."""
    _, server = fake_slack
    return Settings(
        **{**QUIET_SCHEDULES, **getattr(request, "param", {})},
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=str(server.make_url("/api/")),
        public_url="http://127.0.0.1:1",
        secret_key=generate_key(),
        billing_channel="C0BILLING",
        database=tmp_path / "invoicebot.sqlite",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def bot_server(settings: Settings) -> AsyncIterator[TestServer]:
    pm = make_plugin_manager(entry_point_plugins=False)
    server = TestServer(create_app(settings, pm), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
