"""The plugin system: collection, duplicate keys, unknown hooks, blocking, reference checks,
and that every hook is documented in docs/plugins.md with its exact signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from om_graph.core.catalog.definitions import (
    CatalogContribution,
    OfferingDef,
    SpecificationDef,
    TaskTemplate,
)
from om_graph.core.catalog.extensions import TaskHandler
from om_graph.core.kernel.errors import PluginConfigurationError
from om_graph.plugins import hookimpl, hookspecs
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_pack

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def _registry(*plugins):
    return collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=plugins))


def _hook_names():
    return sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("om_"))


class Duplicate:
    __name__ = "duplicate-pack"

    @hookimpl
    def om_register_task_handlers(self):
        return [TaskHandler("test.allocate", do=lambda ctx: None)]


class Misspelled:
    __name__ = "misspelled-pack"

    @hookimpl
    def om_register_task_handler(self):  # no such hook
        return []


class DanglingHandler:
    __name__ = "dangling-pack"

    @hookimpl
    def om_register_catalog(self):
        return CatalogContribution(
            pack="dangling",
            specifications=(SpecificationDef("x.p", "product", "P", tasks=(TaskTemplate("x.t", "T", handler="x.missing"),)),),
            offerings=(OfferingDef("x-o", "O", "x.p"),),
        )


def test_packs_contributions_are_collected():
    registry = _registry(fixture_pack)
    assert "test-internet" in registry.offerings
    assert "test.allocate" in registry.handlers
    assert any(p.key == "om.default-sla" for p in registry.jeopardy_policies)


def test_duplicate_key_fails_startup_with_clear_message():
    with pytest.raises(PluginConfigurationError, match="duplicate task handler key 'test.allocate'"):
        _registry(fixture_pack, Duplicate())


def test_unknown_hook_fails_startup():
    with pytest.raises(PluginConfigurationError, match="unknown hook"):
        _registry(Misspelled())


def test_dangling_reference_fails_startup():
    with pytest.raises(PluginConfigurationError, match="unknown handler 'x.missing'"):
        _registry(DanglingHandler())


def test_installed_packs_load_through_entry_points_and_can_be_blocked():
    pm = build_plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    if not {"tsm", "tpsm"} <= names:
        pytest.fail("the tsm and tpsm packs are not installed; run the README's install command")
    blocked = collect_registry(build_plugin_manager(blocked=["tsm"]))
    full = collect_registry(pm)
    assert set(blocked.offerings) < set(full.offerings)
    assert not any(key.startswith("tsm.") for key in blocked.specifications)


@pytest.mark.parametrize("hook", _hook_names())
def test_every_hook_is_documented_with_its_signature(hook):
    spec = getattr(hookspecs, hook)
    params = ", ".join(inspect.signature(spec).parameters)
    text = DOCS.read_text()
    assert f"## `{hook}({params})`" in text, f"docs/plugins.md lacks a section '## `{hook}({params})`'"


def test_docs_describe_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^## `(om_\w+)\(", DOCS.read_text(), flags=re.M))
    assert documented == set(_hook_names())
