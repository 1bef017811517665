"""Plugin discovery: one code path for the runtime and for `invoicebot plugins`.

Plugins come from the `invoicebot` entry-point group (the bundled providers register
there exactly as a third-party package would) and from `*.py` files in a plugins
directory. `INVOICEBOT_PLUGINS=a,b` loads only the named entry points; set but empty,
it loads none. The built-in Slack notifier is registered by the web app, which knows
the billing channel, through the same `payment_confirmed` hook.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pluggy
from dotenv import dotenv_values
from pluggy import HookCaller

from bot import hookspecs
from bot.provider import Provider, Sandbox

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "invoicebot"
ALLOW_LIST_ENV = "INVOICEBOT_PLUGINS"
DEFAULT_PLUGINS: tuple[str, ...] = ()


class PluginError(Exception):
    """A plugin could not be loaded or registered something invalid."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str | None
    hooks: tuple[str, ...]
    providers: tuple[str, ...]
    source: str
    sandboxes: tuple[str, ...] = ()
    status: str = "loaded"
    """"loaded"; or, listed with `--all`: "disabled" (left out by `INVOICEBOT_PLUGINS`)
    or "unavailable" (installed, but it does not import: `error` says why)."""
    error: str | None = None


def allow_list(environ: dict[str, str] | None = None) -> set[str] | None:
    """Names from `INVOICEBOT_PLUGINS` (the environment, else `.env` like every setting);
    None when unset (load everything)."""
    if environ is None:
        raw = os.environ.get(ALLOW_LIST_ENV)
        if raw is None:
            raw = dotenv_values(".env").get(ALLOW_LIST_ENV)
    else:
        raw = environ.get(ALLOW_LIST_ENV)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _load_file(path: Path) -> ModuleType:
    module_name = f"invoicebot_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise PluginError(f"plugin file {path} failed to import: {error}") from error
    return module


def make_plugin_manager(
    *,
    plugins_dir: Path | None = None,
    allowed: set[str] | None = None,
    entry_point_plugins: bool = True,
    skip_broken: bool = False,
) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, built-ins, entry points and directory files.

    `allowed` overrides `INVOICEBOT_PLUGINS`; tests pass `entry_point_plugins=False` to
    get a manager with built-ins only and register their own plugin classes.
    `skip_broken` leaves out an entry point that fails to import instead of stopping, for
    `invoicebot plugins --all`, which then lists it as unavailable with its error.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_point_plugins:
        names = allow_list() if allowed is None else allowed
        installed = entry_points(group=ENTRY_POINT_GROUP)
        if unknown := sorted((names or set()) - {e.name for e in installed}):
            # A mistyped name would leave its provider out without a word.
            raise PluginError(
                f"{ALLOW_LIST_ENV} names {', '.join(unknown)}, which is not an installed "
                f"plugin (installed: {', '.join(sorted(e.name for e in installed))})"
            )
        for entry_point in installed:
            if names is not None and entry_point.name not in names:
                continue
            if pm.get_plugin(entry_point.name) is not None:
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:
                if skip_broken:
                    continue
                raise PluginError(
                    f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: {error}"
                ) from error
            _register(pm, plugin, entry_point.name)
    if plugins_dir is not None:
        if not plugins_dir.is_dir():
            raise PluginError(f"plugins directory {plugins_dir} does not exist")
        for path in sorted(plugins_dir.glob("*.py")):
            _register(pm, _load_file(path), f"{plugins_dir.name}/{path.name}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:  # a hook name no spec has: mistyped
        raise PluginError(f"plugin {pm.get_name(error.plugin)!r}: {_one_line(error)}") from error
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register `plugin`, saying in one line which plugin is wrong if pluggy refuses it
    (a hook implementation whose arguments no spec has), rather than a traceback."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {name!r}: {_one_line(error)}") from error


def _collect(register_calls: Iterable[tuple[object, type[Provider]]]) -> dict[str, type[Provider]]:
    providers: dict[str, type[Provider]] = {}
    for _plugin, cls in register_calls:
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            raise PluginError(f"register() takes a Provider subclass, got {cls!r}")
        name = getattr(cls, "name", None)
        if not name or not isinstance(name, str):
            raise PluginError(f"provider class {cls.__qualname__} has no name")
        if name in providers and providers[name] is not cls:
            raise PluginError(
                f"two providers are named {name!r}: "
                f"{providers[name].__qualname__} and {cls.__qualname__}"
            )
        providers[name] = cls
    return providers


def each_plugin(pm: pluggy.PluginManager, hook: str) -> Iterator[tuple[str, HookCaller]]:
    """The hook as each implementing plugin alone answers it, through pluggy (so an
    implementation taking fewer arguments is called as pluggy calls it)."""
    for impl in getattr(pm.hook, hook).get_hookimpls():
        others = [plugin for plugin in pm.get_plugins() if plugin is not impl.plugin]
        yield impl.plugin_name, pm.subset_hook_caller(hook, remove_plugins=others)


def _registrations(pm: pluggy.PluginManager) -> list[tuple[object, type[Provider]]]:
    calls: list[tuple[object, type[Provider]]] = []
    for name, caller in each_plugin(pm, "register_providers"):
        plugin = pm.get_plugin(name)
        caller(register=lambda cls, plugin=plugin: calls.append((plugin, cls)))
    return calls


def sandboxes(pm: pluggy.PluginManager) -> dict[str, Sandbox]:
    """Every sandbox the loaded plugins offer, by provider name (for the demo)."""
    offered: dict[str, Sandbox] = {}
    pm.hook.register_sandboxes(
        register=lambda sandbox: offered.setdefault(sandbox.provider, sandbox)
    )
    return offered


def providers(pm: pluggy.PluginManager) -> dict[str, type[Provider]]:
    """Every provider class the loaded plugins registered, by name."""
    return _collect(_registrations(pm))


def describe(pm: pluggy.PluginManager, *, include_builtin: bool = False) -> list[PluginInfo]:
    """What loaded, for `invoicebot plugins`: name, version, hooks, providers, sandboxes."""
    by_plugin: dict[int, list[str]] = {}
    for plugin, cls in _registrations(pm):
        by_plugin.setdefault(id(plugin), []).append(cls.name)
    offered: dict[str, list[str]] = {}
    for name, caller in each_plugin(pm, "register_sandboxes"):
        caller(
            register=lambda sandbox, name=name: offered.setdefault(name, []).append(
                sandbox.provider
            )
        )
    versions = {
        ep.name: ep.dist.version if ep.dist else None
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    }
    infos = []
    for name, plugin in pm.list_name_plugin():
        builtin = name.startswith("bot.")
        if builtin and not include_builtin:
            continue
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or []))
        source = "builtin" if builtin else ("entry point" if name in versions else "file")
        infos.append(
            PluginInfo(
                name=name,
                version=versions.get(name),
                hooks=hooks,
                providers=tuple(by_plugin.get(id(plugin), [])),
                source=source,
                sandboxes=tuple(offered.get(name, [])),
            )
        )
    return sorted(infos, key=lambda info: info.name)


def describe_unloaded(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Installed entry-point plugins that did not load: left out by the allow-list, or
    unable to import (then with the error), for `invoicebot plugins --all`."""
    infos = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None:
            continue
        status, error = "disabled", None
        try:
            entry_point.load()
        except Exception as failed:
            status, error = "unavailable", f"{type(failed).__name__}: {failed}"
        infos.append(
            PluginInfo(
                name=entry_point.name,
                version=entry_point.dist.version if entry_point.dist else None,
                hooks=(),
                providers=(),
                source="entry point",
                status=status,
                error=error,
            )
        )
    return sorted(infos, key=lambda info: info.name)


def _one_line(error: Exception) -> str:
    """pluggy's message spans lines: the start-up error is one."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
