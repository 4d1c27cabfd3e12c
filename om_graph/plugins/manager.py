"""Builds the plugin manager and collects what the installed packs register.

Packs are distributions with an ``om_graph`` entry point. Built-in plugins (the core defaults)
are registered through the same hooks. ``OM_GRAPH_DISABLED_PLUGINS`` (comma-separated entry point
names) blocks packs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import pluggy

from om_graph.core.catalog.registry import Registry
from om_graph.core.kernel.errors import PluginConfigurationError
from om_graph.plugins import hookspecs
from om_graph.plugins.hookspecs import PROJECT

BUILTIN_PLUGINS = ("om_graph.plugins.builtin.defaults",)


def build_plugin_manager(
    *,
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
    extra_plugins: Iterable[object] = (),
) -> pluggy.PluginManager:
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
    return pm


def _flatten(results) -> list:
    return [item for result in results if result for item in result]


def collect_registry(pm: pluggy.PluginManager) -> Registry:
    hook = pm.hook
    return Registry(
        catalogs=[c for c in hook.om_register_catalog() if c is not None],
        task_handlers=_flatten(hook.om_register_task_handlers()),
        decomposition_rules=_flatten(hook.om_register_decomposition_rules()),
        enrichment_steps=_flatten(hook.om_register_enrichment_steps()),
        business_validators=_flatten(hook.om_register_business_validators()),
        jeopardy_policies=_flatten(hook.om_register_jeopardy_policies()),
    )


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
