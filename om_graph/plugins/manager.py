"""Builds the plugin manager and collects what the installed packs register.

Packs are distributions with an ``om_graph`` entry point. Built-in plugins (the core defaults)
are registered through the same hooks. ``OM_GRAPH_DISABLED_PLUGINS`` (comma-separated entry point
names) blocks packs. A pack's settings (``om_register_settings``) are read from the environment
and validated here, and bound to every hook implementation of that pack that names ``settings``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import pluggy

from om_graph.core.catalog.registry import InstalledPack, Registry
from om_graph.core.decisions.definitions import DecisionTableDef
from om_graph.core.kernel.errors import PluginConfigurationError
from om_graph.plugins import hookspecs
from om_graph.plugins.hookspecs import PROJECT
from om_graph.settings import PackSettings, PackSettingsError

BUILTIN_PLUGINS = ("om_graph.plugins.builtin.defaults",)


def build_plugin_manager(
    *,
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
    extra_plugins: Iterable[object] = (),
    environ: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """``environ``: where pack settings are read from (default: the process environment)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(PROJECT)
    for dotted in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(dotted), name=dotted)
    for plugin in extra_plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginConfigurationError(f"a plugin implements an unknown hook: {exc}") from exc
    _bind_pack_settings(pm, os.environ if environ is None else environ)
    return pm


def pack_settings(pm: pluggy.PluginManager) -> dict[str, PackSettings]:
    """Each loaded pack's settings, by plugin name."""
    return dict(getattr(pm, "om_pack_settings", {}))


def _bind_pack_settings(pm: pluggy.PluginManager, environ: Mapping[str, str]) -> None:
    by_plugin: dict[int, PackSettings] = {}
    sections: dict[str, str] = {}
    for impl in pm.hook.om_register_settings.get_hookimpls():
        declared = impl.function()
        if declared is None:
            continue
        if not (isinstance(declared, type) and issubclass(declared, PackSettings)):
            raise PluginConfigurationError(f"{impl.plugin_name}: om_register_settings must return a PackSettings subclass")
        if declared.section in sections:
            raise PluginConfigurationError(
                f"duplicate pack settings section {declared.section!r} ({sections[declared.section]} and {impl.plugin_name})"
            )
        sections[declared.section] = impl.plugin_name
        try:
            by_plugin[id(impl.plugin)] = declared.from_env(environ)
        except PackSettingsError as exc:
            raise PluginConfigurationError(f"{impl.plugin_name}: {exc}") from exc
    pm.om_pack_settings = {name: by_plugin[id(p)] for name, p in pm.list_name_plugin() if id(p) in by_plugin}  # type: ignore[attr-defined]
    for hook_name in _hook_names():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if "settings" not in impl.argnames + impl.kwargnames:
                continue
            settings = by_plugin.get(id(impl.plugin))
            if settings is None:
                raise PluginConfigurationError(
                    f"{impl.plugin_name}: {hook_name} takes settings but the pack declares none (om_register_settings)"
                )
            # Pluggy calls an implementation with the arguments it names, positionally: drop
            # ``settings`` from those and bind this pack's own value instead.
            names = tuple(a for a in impl.argnames if a != "settings")
            impl.function = _with_settings(impl.function, names, settings)
            impl.argnames = names
            impl.kwargnames = tuple(k for k in impl.kwargnames if k != "settings")


def _with_settings(function: Callable[..., Any], names: tuple[str, ...], settings: PackSettings) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(**dict(zip(names, args)), **kwargs, settings=settings)

    return call


def _hook_names() -> list[str]:
    return [name for name in dir(hookspecs) if name.startswith("om_") and name != "om_register_settings"]


def _flatten(results) -> list:
    return [item for result in results if result for item in result]


def collect_registry(pm: pluggy.PluginManager) -> Registry:
    hook = pm.hook
    # Called per implementation, to know which pack shipped each table (a pack upgrade replaces
    # its own defaults only; two packs shipping one name is refused by the decision service).
    tables = [
        (impl.plugin_name, table)
        for impl in reversed(hook.om_register_decision_tables.get_hookimpls())  # pluggy's call order
        for table in cast("Sequence[DecisionTableDef] | None", impl.function()) or ()
    ]
    return Registry(
        catalogs=[c for c in hook.om_register_catalog() if c is not None],
        task_handlers=_flatten(hook.om_register_task_handlers()),
        decomposition_rules=_flatten(hook.om_register_decomposition_rules()),
        dependency_rules=_flatten(hook.om_register_dependency_rules()),
        enrichment_steps=_flatten(hook.om_register_enrichment_steps()),
        business_validators=_flatten(hook.om_register_business_validators()),
        jeopardy_policies=_flatten(hook.om_register_jeopardy_policies()),
        decision_tables=[table for _, table in tables],
        decision_table_packs={table.name: pack for pack, table in tables},
        installed_packs=[InstalledPack(_public_name(p), p["distribution"], tuple(p["hooks"])) for p in describe_plugins(pm)],
        classify_fallout=(lambda failure: hook.om_classify_fallout(failure=failure))
        if hook.om_classify_fallout.get_hookimpls()
        else None,
    )


def _public_name(plugin: dict) -> str:
    """What the API calls a plugin: a pack's registered name; a plugin shipped without a
    distribution (built in, or passed in by a test) by its module's last part, since module paths
    never reach a client."""
    return plugin["name"] if plugin["distribution"] != "built-in" else plugin["name"].rsplit(".", 1)[-1]


def describe_plugins(pm: pluggy.PluginManager) -> list[dict]:
    """Installed plugins with their distribution and the hooks each implements (for the CLI)."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        rows.append(
            {
                "name": name,
                "distribution": f"{dist.project_name} {dist.version}" if dist else "built-in",
                "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
            }
        )
    return rows
