"""The README's two commands are the ones CI and users run."""

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(), re.S)


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    start, tests = readme_commands()[:2]
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines
    assert "pytest" in tests and "pip install" in tests and "pip install" in start


def test_every_setting_is_in_the_readme() -> None:
    """Each variable `invoicebot run` reads is named in the README, where people look."""
    from bot.settings import Settings, env_name

    readme = (REPO / "README.md").read_text()
    missing = [env_name(field) for field in Settings.model_fields if env_name(field) not in readme]
    assert missing == []
