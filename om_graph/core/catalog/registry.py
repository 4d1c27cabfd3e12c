"""Everything the installed packs contributed, collected once at startup and checked."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from om_graph.core.catalog.constraints import (
    CharacteristicRules,
    DependentConstraint,
    compile_pattern,
    condition_problems,
    definition_problems,
    narrow,
    narrowing_problems,
)
from om_graph.core.catalog.definitions import (
    AttributeMapping,
    CatalogContribution,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
)
from om_graph.core.catalog.extensions import (
    BusinessValidator,
    DecompositionRule,
    EnrichmentStep,
    FalloutClassification,
    FalloutFailure,
    JeopardyPolicy,
    TaskDependencyRule,
    TaskHandler,
    TaskTiming,
)
from om_graph.core.catalog.planning import dependency_problems, dependency_rule_problems, needs_problems, ponr_problems
from om_graph.core.catalog.prices import PriceListDef, implicit_price_lists, price_list_problems
from om_graph.core.catalog.propagation import index as index_mappings
from om_graph.core.catalog.propagation import mapping_problems
from om_graph.core.decisions.definitions import DecisionTableDef
from om_graph.core.kernel.errors import PluginConfigurationError


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


_K = TypeVar("_K", bound=_Keyed)


def _index_by_key(kind: str, items: Iterable[_K]) -> dict[str, _K]:
    index: dict[str, _K] = {}
    for item in items:
        if item.key in index:
            raise PluginConfigurationError(f"duplicate {kind} key {item.key!r} registered by two plugins")
        index[item.key] = item
    return index


@dataclass(frozen=True)
class InstalledPack:
    """A plugin registered with the plugin manager: its name, distribution and the hooks it implements."""

    name: str
    distribution: str
    hooks: tuple[str, ...]


@dataclass
class Registry:
    catalogs: Sequence[CatalogContribution] = ()
    task_handlers: Sequence[TaskHandler] = ()
    decomposition_rules: Sequence[DecompositionRule] = ()
    dependency_rules: Sequence[TaskDependencyRule] = ()  # cross-specification task dependencies
    enrichment_steps: Sequence[EnrichmentStep] = ()
    business_validators: Sequence[BusinessValidator] = ()
    jeopardy_policies: Sequence[JeopardyPolicy] = ()
    # Default decision tables the packs ship (om_register_decision_tables), and the pack of each
    # by table name; core/decisions/service.py checks and stores them with the core's defaults.
    decision_tables: Sequence[DecisionTableDef] = ()
    decision_table_packs: dict[str, str] = field(default_factory=dict)
    # om_classify_fallout (first answer wins; pack code: called with no transaction open).
    classify_fallout: Callable[[FalloutFailure], FalloutClassification | None] | None = None
    installed_packs: Sequence[InstalledPack] = ()  # what the process admin's packs screen lists
    specifications: dict[str, SpecificationDef] = field(init=False)
    offerings: dict[str, OfferingDef] = field(init=False)
    handlers: dict[str, TaskHandler] = field(init=False)
    rules_by_relationship: dict[tuple[str, str], list[DecompositionRule]] = field(init=False)
    mappings_by_source: dict[tuple[str, str], list[AttributeMapping]] = field(init=False)
    # Every price list by key: the packs' (catalog/prices.py) and the implicit list price list of
    # each offering currency; structure checked here, currencies and matrices by core/pricing.
    price_lists: dict[str, PriceListDef] = field(init=False)
    # What a line of each offering accepts (its specification's characteristics narrowed by the
    # offering, the dependent constraints of both), and each specification's own, for values
    # recorded on domain orders.
    offering_rules: dict[str, CharacteristicRules] = field(init=False)
    specification_rules: dict[str, CharacteristicRules] = field(init=False)

    def __post_init__(self) -> None:
        self.specifications = _index_by_key("specification", (s for c in self.catalogs for s in c.specifications))
        self.offerings = _index_by_key("offering", (o for c in self.catalogs for o in c.offerings))
        self.handlers = _index_by_key("task handler", self.task_handlers)
        _index_by_key("decomposition rule", self.decomposition_rules)
        _index_by_key("dependency rule", self.dependency_rules)
        _index_by_key("enrichment step", self.enrichment_steps)
        _index_by_key("business validator", self.business_validators)
        _index_by_key("jeopardy policy", self.jeopardy_policies)
        self.enrichment_steps = sorted(self.enrichment_steps, key=lambda s: (s.order, s.key))
        self.jeopardy_policies = sorted(self.jeopardy_policies, key=lambda p: (-p.priority, p.key))
        self.rules_by_relationship = defaultdict(list)
        for rule in self.decomposition_rules:
            self.rules_by_relationship[(rule.source_spec, rule.target_spec)].append(rule)
        self._check_references()
        self.mappings_by_source = index_mappings(self.catalogs)  # (spec, characteristic) -> its mappings
        self._index_price_lists()
        self._build_characteristic_rules()

    def _check_references(self) -> None:
        problems: list[str] = []
        for offering in self.offerings.values():
            spec = self.specifications.get(offering.product_spec)
            if spec is None or spec.kind != "product":
                problems.append(f"offering {offering.key!r}: unknown product specification {offering.product_spec!r}")
        for spec in self.specifications.values():
            for rel in spec.relationships:
                if rel.target not in self.specifications:
                    problems.append(f"specification {spec.key!r}: relationship to unknown {rel.target!r}")
                if not 0 <= rel.min_cardinality <= rel.max_cardinality:
                    problems.append(f"specification {spec.key!r}: bad cardinality towards {rel.target!r}")
            for task in spec.tasks:
                if task.kind == "automatic" and task.handler not in self.handlers:
                    problems.append(f"specification {spec.key!r}: task {task.key!r} uses unknown handler {task.handler!r}")
        for source, target in self.rules_by_relationship:
            spec = self.specifications.get(source)
            if spec is None or all(r.target != target for r in spec.relationships):
                problems.append(f"decomposition rule for unknown relationship {source!r} -> {target!r}")
        # Typed task dependencies and relationships' needs (decomposition; catalog/planning.py).
        problems += dependency_problems(self.catalogs) + needs_problems(self.catalogs, self.specifications)
        problems += dependency_rule_problems(self.dependency_rules, self.specifications)
        problems += mapping_problems(self.catalogs, self.specifications)  # attribute propagation
        problems += ponr_problems(self.catalogs)  # points of no return (core/change/ponr.py)
        if problems:
            raise PluginConfigurationError("catalog and plugins do not fit together:\n  " + "\n  ".join(problems))
        self._check_acyclic()

    def _index_price_lists(self) -> None:
        shipped = [p for c in self.catalogs for p in c.price_lists]
        problems = price_list_problems(shipped, self.offerings)
        if problems:
            raise PluginConfigurationError("price lists do not fit the catalog:\n  " + "\n  ".join(problems))
        self.price_lists = {p.key: p for p in (*shipped, *implicit_price_lists(self.offerings.values()))}

    def _check_acyclic(self) -> None:
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(key: str, path: tuple[str, ...]) -> None:
            if key in done:
                return
            if key in visiting:
                raise PluginConfigurationError("specification relationships form a cycle: " + " -> ".join(path + (key,)))
            visiting.add(key)
            for rel in self.specifications[key].relationships:
                visit(rel.target, path + (key,))
            visiting.discard(key)
            done.add(key)

        for key in self.specifications:
            visit(key, ())

    def _build_characteristic_rules(self) -> None:
        """Check every characteristic constraint (patterns compile, an offering's only narrow its
        specification's, names are known) and build the rules capture checks against."""
        problems: list[str] = []
        pack_of_spec = {s.key: c.pack for c in self.catalogs for s in c.specifications}
        pack_of_offering = {o.key: c.pack for c in self.catalogs for o in c.offerings}
        self.specification_rules = {}
        for spec in self.specifications.values():
            where = f"pack {pack_of_spec[spec.key]!r}: specification {spec.key!r}"
            defs = {c.name: c for c in spec.characteristics}
            for own in spec.characteristics:
                problems += [f"{where}: characteristic {own.name!r}: {p}" for p in definition_problems(own)]
            problems += self._dependent_problems(where, defs, spec.constraints)
            if not problems:
                self.specification_rules[spec.key] = CharacteristicRules.of_specification(spec)
        self.offering_rules = {}
        for offering in self.offerings.values():
            spec = self.specifications[offering.product_spec]
            where = f"pack {pack_of_offering[offering.key]!r}: offering {offering.key!r}"
            defs = {c.name: c for c in spec.characteristics}
            narrowed = dict(defs)
            for constraint in offering.characteristics:
                defn = defs.get(constraint.name)
                if defn is None:
                    problems.append(f"{where}: characteristic {constraint.name!r}: {spec.key!r} has no such characteristic")
                    continue
                found = narrowing_problems(defn, constraint)
                problems += [f"{where}: characteristic {constraint.name!r}: {p}" for p in found]
                if not found:
                    narrowed[defn.name] = narrow(defn, constraint)
                    try:  # the offering's pattern beside the specification's (groups, inline flags)
                        compile_pattern(narrowed[defn.name].pattern or "")
                    except re.error as exc:
                        problems.append(f"{where}: characteristic {constraint.name!r}: pattern with the specification's: {exc}")
            for effective in narrowed.values():
                if effective is defs[effective.name] or effective.default is None:
                    continue
                broken = CharacteristicRules("", (effective,)).violation(effective.name, effective.default)
                if broken is not None:
                    problems.append(
                        f"{where}: characteristic {effective.name!r}: default {effective.default!r}: {broken.message}"
                    )
            problems += self._dependent_problems(where, narrowed, offering.constraints)
            if not problems:
                self.offering_rules[offering.key] = CharacteristicRules(
                    spec.name, tuple(narrowed.values()), (*spec.constraints, *offering.constraints)
                )
        if problems:
            raise PluginConfigurationError("characteristic constraints do not fit the catalog:\n  " + "\n  ".join(problems))

    @staticmethod
    def _dependent_problems(
        where: str, defs: dict[str, CharacteristicDef], constraints: Sequence[DependentConstraint]
    ) -> list[str]:
        problems: list[str] = []
        for index, constraint in enumerate(constraints):
            at = f"{where}: constraint {index} on {constraint.then.name!r}"
            defn = defs.get(constraint.then.name)
            if defn is None:
                problems.append(f"{at}: unknown characteristic {constraint.then.name!r}")
                continue
            problems += [f"{at}: {p}" for p in condition_problems(defs, constraint)]
            problems += [f"{at}: {p}" for p in narrowing_problems(defn, constraint.then, dependent=True)]
        return problems

    def rules_for(self, offering_key: str, spec_key: str | None = None) -> CharacteristicRules:
        """What a line of the offering accepts; for an offering no pack ships any more (an older
        order's), its specification's own rules when ``spec_key`` is given."""
        found = self.offering_rules.get(offering_key)
        if found is None and spec_key is not None:
            return self.specification_rules[spec_key]
        if found is None:
            raise KeyError(offering_key)
        return found

    def validators_for(self, spec_key: str) -> list[BusinessValidator]:
        return [v for v in self.business_validators if v.spec_keys is None or spec_key in v.spec_keys]

    def policy_for(self, timing: TaskTiming) -> tuple[JeopardyPolicy, object] | None:
        for policy in self.jeopardy_policies:
            duration = policy.planned_duration(timing)
            if duration is not None:
                return policy, duration
        return None
