"""Startup checks of what decomposition builds from the catalog: task templates' typed
dependencies, specification relationships' ``needs`` (staggered decomposition) and attribute
mappings (propagation). Each problem names its pack, specification and template, and the
registry refuses the catalog with all of them (PluginConfigurationError)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import get_args

from om_graph.core.catalog.definitions import CatalogContribution, DependencyType, PonrKind, SpecificationDef
from om_graph.core.catalog.extensions import DependencyScope, TaskDependencyRule
from om_graph.core.kernel.graphs import find_cycle

DEPENDENCY_TYPES = frozenset(get_args(DependencyType))  # the fulfilment rules' DependencyTypes
DEPENDENCY_SCOPES = frozenset(get_args(DependencyScope))


def dependency_problems(catalogs: Iterable[CatalogContribution]) -> list[str]:
    """Task templates' dependencies: each names another template of the same specification, and
    they form no cycle."""
    problems: list[str] = []
    for catalog in catalogs:
        for spec in catalog.specifications:
            where = f"pack {catalog.pack!r}: specification {spec.key!r}"
            templates = {t.key: t for t in spec.tasks}
            for template in spec.tasks:
                for dep in template.dependencies():
                    if dep.on == template.key:
                        problems.append(f"{where}: task {template.key!r} depends on itself")
                    elif dep.on not in templates:
                        problems.append(f"{where}: task {template.key!r} depends on unknown {dep.on!r}")
                    if dep.type not in DEPENDENCY_TYPES:
                        problems.append(
                            f"{where}: task {template.key!r} depends on {dep.on!r} by unknown type {dep.type!r}"
                            f" (one of {', '.join(sorted(DEPENDENCY_TYPES))})"
                        )
                    if not isinstance(dep.lag, timedelta):
                        problems.append(f"{where}: task {template.key!r} depends on {dep.on!r} with a lag that is no timedelta")
            cycle = find_cycle(
                {t.key: [d.on for d in t.dependencies() if d.on in templates and d.on != t.key] for t in spec.tasks}
            )
            if cycle:
                problems.append(f"{where}: task dependencies form a cycle: {' -> '.join(cycle)}")
    return problems


PONR_KINDS = frozenset(get_args(PonrKind))


def ponr_problems(catalogs: Iterable[CatalogContribution]) -> list[str]:
    """Task templates' points of no return (core/change/ponr.py): a known kind, and a charge only
    on a soft one, a Decimal not below zero."""
    problems: list[str] = []
    for catalog in catalogs:
        for spec in catalog.specifications:
            for template in spec.tasks:
                where = f"pack {catalog.pack!r}: specification {spec.key!r}: task {template.key!r}"
                if template.ponr is not None and template.ponr not in PONR_KINDS:
                    problems.append(f"{where}: unknown ponr {template.ponr!r} (one of {', '.join(sorted(PONR_KINDS))})")
                charge = template.ponr_charge
                if charge is None:
                    continue
                if template.ponr != "soft":
                    problems.append(f"{where}: a ponr_charge needs ponr='soft' (it is the price of a soft point of no return)")
                if not isinstance(charge, Decimal) or not charge.is_finite():
                    problems.append(f"{where}: ponr_charge must be a Decimal amount, not {charge!r}")
                elif charge < 0:
                    problems.append(f"{where}: ponr_charge {charge} is negative")
    return problems


def dependency_rule_problems(rules: Iterable[TaskDependencyRule], specifications: Mapping[str, SpecificationDef]) -> list[str]:
    """Packs' dependency rules name existing templates of existing specifications, a known type
    and scope, a timedelta lag, and not one task depending on itself."""
    problems: list[str] = []
    for rule in rules:
        where = f"dependency rule {rule.key!r}"
        for spec_key, template in ((rule.task_spec, rule.task), (rule.on_spec, rule.on)):
            spec = specifications.get(spec_key)
            if spec is None:
                problems.append(f"{where}: unknown specification {spec_key!r}")
            elif all(t.key != template for t in spec.tasks):
                problems.append(f"{where}: specification {spec_key!r} has no task {template!r}")
        if (rule.task_spec, rule.task) == (rule.on_spec, rule.on):
            problems.append(f"{where}: task {rule.task!r} depends on itself")
        if rule.type not in DEPENDENCY_TYPES:
            problems.append(f"{where}: unknown type {rule.type!r} (one of {', '.join(sorted(DEPENDENCY_TYPES))})")
        if rule.scope not in DEPENDENCY_SCOPES:
            problems.append(f"{where}: unknown scope {rule.scope!r} (one of {', '.join(sorted(DEPENDENCY_SCOPES))})")
        if not isinstance(rule.lag, timedelta):
            problems.append(f"{where}: a lag that is no timedelta")
    return problems


def needs_problems(catalogs: Iterable[CatalogContribution], specifications: Mapping[str, SpecificationDef]) -> list[str]:
    """A relationship's ``needs`` are characteristics of its source specification."""
    problems: list[str] = []
    for catalog in catalogs:
        for spec in catalog.specifications:
            names = {c.name for c in spec.characteristics}
            for rel in spec.relationships:
                for need in rel.needs:
                    if need not in names:
                        problems.append(
                            f"pack {catalog.pack!r}: specification {spec.key!r}: relationship to {rel.target!r} "
                            f"needs unknown characteristic {need!r}"
                        )
    return problems
