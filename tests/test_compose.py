"""docker-compose.yml: PostgreSQL, a one-shot migration, two bot replicas, one address."""

from __future__ import annotations

from typing import Any

import yaml

from bot.cli import parser
from tests.conftest import REPO


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def test_two_bots_share_one_postgresql_after_the_migration_ran_once() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "bot", "balancer"}
    bot, migrate = services["bot"], services["migrate"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for service in (bot, migrate):
        assert service["environment"]["INVOICEBOT_DATABASE"].startswith("postgresql://")
        assert "@db/" in service["environment"]["INVOICEBOT_DATABASE"]
    assert migrate["command"][:2] == ["invoicebot", "migrate"]
    parser().parse_args(migrate["command"][1:])  # a command the CLI really has


def test_the_balancer_spreads_over_the_bots_and_no_password_is_written_down() -> None:
    compose = _compose()
    conf = compose["configs"]["balancer"]["content"]
    assert "server bot:3000" in conf and "proxy_pass http://invoicebot" in conf
    assert compose["services"]["balancer"]["ports"] == ["3000:3000"]
    text = (REPO / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD" in text and "POSTGRES_PASSWORD: invoicebot" not in text
