"""What the README and the docs say is what the code does, where a test can tell."""

import re
from pathlib import Path

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


def test_the_readme_gives_each_settings_default_as_the_code_has_it() -> None:
    """The table's defaults (`default 24`, `mon 09:00` (default)) are what an unset
    variable means; a changed default must change the row."""
    from bot.settings import Settings, env_name

    said_otherwise = {"slack_scopes", "slack_authorize_url"}  # "the manifest's", "Slack's page"
    rows = [
        line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    checked, wrong = [], []
    for field, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if info.is_required() or field in said_otherwise or isinstance(default, bool):
            continue
        if not default:  # unset means none: no payers, no seed policy
            continue
        checked.append(field)
        text = f"{default:g}" if isinstance(default, float) else str(default)
        (row,) = [row for row in rows if f"`{env_name(field)}`" in row.split(" | ")[0]]
        if not re.search(rf"(?<![\w.]){re.escape(text)}(?!\w)", row):
            wrong.append(f"{env_name(field)}: {text}")
    assert len(checked) >= 15 and wrong == []


def test_every_control_route_of_the_emulator_is_in_the_readme() -> None:
    """The README's emulator section names the JSON control API as the emulator serves
    it (method and path), read from the route table of both kinds of install."""
    from aiohttp import web

    from slack_emulator import OAuthApp, create_app

    oauth = OAuthApp(client_id="1.2", client_secret="c", redirect_urls=[], scopes=[])
    apps = [
        create_app(request_url="http://127.0.0.1:1/", signing_secret="s", bot_token=token, oauth=by)
        for token, by in (("xoxb-1", None), ("", oauth))
    ]
    served = {
        # "*" takes any method: its path is named, with the methods it reads beside it
        f"{route.method} {route.resource.canonical}".removeprefix("* ")
        for app in apps
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/emulator/")
        and route.resource.canonical != "/emulator/"  # the page, as `/` is
        and not isinstance(route.resource, web.StaticResource)  # the page's files
        and route.method != "HEAD"  # aiohttp's twin of every GET
    }
    readme = (REPO / "README.md").read_text()
    assert len(served) >= 11, served
    assert sorted(route for route in served if route not in readme) == []


def test_the_readme_says_how_long_each_payment_link_works() -> None:
    """A payer's link from Pay and a customer's from Copy payment link last differently;
    the README gives both as the code has them."""
    from bot.payments import CUSTOMER_LINK_LIFETIME, TOKEN_LIFETIME

    readme = " ".join((REPO / "README.md").read_text().split())  # as read, not as wrapped
    assert f"valid {TOKEN_LIFETIME / 60:g} minutes" in readme
    assert f"customer's link works for {CUSTOMER_LINK_LIFETIME / 86400:g} days" in readme


def named_in_code(folder: Path, text: str) -> list[str]:
    """The backticked `module.name` and `file.py` references of `text` that `folder` (a
    plugin) does not hold: a module's name must be defined in it, at any depth."""
    missing = []
    for ref in sorted(set(re.findall(r"`([A-Za-z_][\w/]*\.[A-Za-z_]\w*)`", text))):
        stem, _, name = ref.rpartition(".")
        if name in ("py", "md"):
            if name == "py" and not ((folder / ref).exists() or (REPO / ref).exists()):
                missing.append(ref)
            continue
        module = folder / f"{stem}.py"
        if not module.exists():
            continue  # a wire field or a class's method, as the provider's documents name it
        defined = rf"^\s*((async\s+)?def|class)\s+{name}\b|^\s*{name}\s*[:=]"
        if not re.search(defined, module.read_text(), re.M):
            missing.append(ref)
    return missing


def test_the_plugin_readmes_name_code_that_exists() -> None:
    """Each plugin's README says where a guess is kept (`convert.money`, `paging.py`);
    a renamed function must not leave a reader looking for it."""
    folders = sorted(path.parent for path in (REPO / "plugins").glob("*/README.md"))
    assert len(folders) >= 3
    missing = {
        folder.name: named_in_code(folder, (folder / "README.md").read_text()) for folder in folders
    }
    assert {name: refs for name, refs in missing.items() if refs} == {}


def test_the_provider_manual_names_the_kits_error_keys_in_the_order_read() -> None:
    """Which key of an error body wins decides what a person reads."""
    from bot.kit.errors import WORD_KEYS

    manual = " ".join((REPO / "docs" / "writing-a-provider.md").read_text().split())
    *first, last = [f"`{key}`" for key in WORD_KEYS]
    assert f"looks under {', '.join(first)} and {last}, in that order" in manual
