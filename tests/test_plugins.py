"""Plugin discovery: entry points, the allow-list, a plugins directory, and the CLI listing."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest

from bot import hookimpl, hookspecs
from bot.plugins import PluginError, describe, make_plugin_manager, providers
from tests.plugin_files.acme_provider import AcmeProvider

PLUGIN_FILES = Path(__file__).parent / "plugin_files"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "INVOICEBOT_PLUGINS"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=60,
        check=False,
    )


def test_every_impl_matches_a_spec() -> None:
    make_plugin_manager().check_pending()


def test_a_misspelled_hook_is_caught() -> None:
    class Typo:
        @hookimpl
        def register_provider(self, register: object) -> None: ...

    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(Typo())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_a_registered_plugin_class_provides_its_providers() -> None:
    class Temporary:
        @hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register(AcmeProvider)

    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(Temporary(), name="temporary")
    try:
        assert providers(pm) == {"acme": AcmeProvider}
        (info,) = describe(pm)
        assert (info.name, info.hooks, info.providers) == (
            "temporary",
            ("register_providers",),
            ("acme",),
        )
    finally:
        pm.unregister(name="temporary")
    assert providers(pm) == {}


def test_a_plugin_offers_a_sandbox_for_the_demo() -> None:
    from aiohttp import web
    from pydantic import BaseModel

    from bot.plugins import sandboxes
    from bot.provider import Sandbox

    class Offers:
        @hookimpl
        def register_sandboxes(self, register):  # type: ignore[no-untyped-def]
            register(Sandbox("acme", lambda landing: web.Application(), lambda url: BaseModel()))

    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(Offers(), name="offers")
    try:
        offered = sandboxes(pm)
        assert list(offered) == ["acme"]
        assert isinstance(
            offered["acme"].make_app("http://127.0.0.1:1/landing/acme"), web.Application
        )
    finally:
        pm.unregister(name="offers")
    assert "i3d" in sandboxes(make_plugin_manager(allowed={"i3d"}))


def test_two_providers_with_one_name_stop_start_up() -> None:
    class Impostor(AcmeProvider):
        pass

    class Both:
        @hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register(AcmeProvider)
            register(Impostor)

    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(Both())
    with pytest.raises(PluginError, match="two providers are named 'acme'"):
        providers(pm)


def test_register_takes_provider_classes_only() -> None:
    class Wrong:
        @hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register("acme")

    pm = make_plugin_manager(entry_point_plugins=False)
    pm.register(Wrong())
    with pytest.raises(PluginError, match="takes a Provider subclass"):
        providers(pm)


def test_the_allow_list_filters_entry_points() -> None:
    assert "i3d" in providers(make_plugin_manager(allowed={"i3d"}))
    assert providers(make_plugin_manager(allowed=set())) == {}
    with pytest.raises(PluginError, match="nonexistent, which is not an installed plugin"):
        make_plugin_manager(allowed={"i3d", "nonexistent"})  # a typo is said, not skipped


def test_cli_refuses_a_mistyped_allow_list_in_one_line() -> None:
    result = run_cli("plugins", INVOICEBOT_PLUGINS="i3d,pingproxy")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pingproxy, which is not an installed plugin" in result.stderr


def test_cli_lists_the_bundled_providers_as_entry_points() -> None:
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    listed = {info["name"]: info for info in json.loads(result.stdout)}
    assert listed["i3d"]["source"] == "entry point"
    assert listed["i3d"]["providers"] == ["i3d"]
    assert listed["i3d"]["hooks"] == ["register_providers", "register_sandboxes"]
    assert listed["i3d"]["version"]
    assert "bot.notifier" not in listed


def test_cli_with_an_empty_allow_list_lists_none() -> None:
    result = run_cli("plugins", INVOICEBOT_PLUGINS="")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_cli_picks_up_a_plugin_file_from_a_directory() -> None:
    result = run_cli("--plugins-dir", str(PLUGIN_FILES), "plugins", INVOICEBOT_PLUGINS="")
    assert result.returncode == 0, result.stderr
    (info,) = json.loads(result.stdout)
    assert info["name"] == "plugin_files/acme_provider.py"
    assert info["providers"] == ["acme"]
    assert info["source"] == "file"


def test_cli_names_a_missing_plugins_directory() -> None:
    result = run_cli("--plugins-dir", "/nonexistent/plugins", "plugins")
    assert result.returncode == 2
    assert "plugins directory /nonexistent/plugins does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "hook",
    [
        "def register_provider(register):",  # no such hook: a typo
        "def register_providers(registry):",  # no such argument
    ],
)
def test_cli_names_a_plugin_file_with_a_mistyped_hook(tmp_path: Path, hook: str) -> None:
    (tmp_path / "typo.py").write_text(
        f"from bot import hookimpl\n\n\n@hookimpl\n{hook}\n    pass\n"
    )
    result = run_cli("--plugins-dir", str(tmp_path), "plugins", INVOICEBOT_PLUGINS="")
    assert result.returncode == 2, result.stderr
    assert "plugin 'tmp" in result.stderr or "typo.py" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_every_hook_is_documented_and_exercised_by_a_test() -> None:
    specs = [
        name
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, "invoicebot_spec")
    ]
    assert specs, "no hookspecs found"
    tests_text = "\n".join(path.read_text() for path in Path(__file__).parent.rglob("test_*.py"))
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 80, f"hook {name} needs a docstring that says when it is called"
        assert f"def {name}(" in tests_text, f"no test implements hook {name}"


def test_cli_all_also_lists_installed_plugins_that_did_not_load() -> None:
    plain = json.loads(run_cli("plugins", INVOICEBOT_PLUGINS="i3d").stdout)
    result = run_cli("plugins", "--all", INVOICEBOT_PLUGINS="i3d")
    assert result.returncode == 0, result.stderr
    listed = {info["name"]: info for info in json.loads(result.stdout)}
    assert len(listed) > len(plain)
    assert listed["i3d"]["status"] == "loaded" and listed["i3d"]["sandboxes"] == ["i3d"]
    assert listed["payfirma"]["status"] == "disabled" and listed["payfirma"]["version"]


def test_run_help_explains_every_option() -> None:
    result = run_cli("run", "--help")
    assert result.returncode == 0, result.stderr
    assert "address to listen on" in result.stdout and "port to listen on" in result.stdout


def test_the_allow_list_is_read_from_dot_env_as_every_setting_is(tmp_path: Path) -> None:
    """The README has every variable read from the environment or `.env`: an allow-list
    kept in `.env` must not load every installed plugin."""
    (tmp_path / ".env").write_text("INVOICEBOT_PLUGINS=i3d\n")
    environ = {k: v for k, v in os.environ.items() if k != "INVOICEBOT_PLUGINS"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "plugins"],
        capture_output=True,
        text=True,
        env={**environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [info["name"] for info in json.loads(result.stdout)] == ["i3d"]


def test_cli_all_lists_an_installed_plugin_that_fails_to_import(tmp_path: Path) -> None:
    """`--all` is where to look when a plugin does not load: it names the import error
    instead of stopping on it, as `invoicebot run` and a plain `plugins` do."""
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[invoicebot]\nbroken = no_such_module_anywhere\n")
    result = run_cli("plugins", "--all", PYTHONPATH=str(tmp_path))
    assert result.returncode == 0, result.stderr
    listed = {info["name"]: info for info in json.loads(result.stdout)}
    assert listed["broken"]["status"] == "unavailable"
    assert "no_such_module_anywhere" in listed["broken"]["error"]
    assert listed["i3d"]["status"] == "loaded"
    plain = run_cli("plugins", PYTHONPATH=str(tmp_path))
    assert plain.returncode == 2 and "'broken'" in plain.stderr
    assert "Traceback" not in plain.stderr
