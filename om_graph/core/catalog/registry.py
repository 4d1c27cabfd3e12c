"""Everything the installed packs contributed, collected once at startup and checked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from om_graph.core.catalog.definitions import (
    CatalogContribution,
    OfferingDef,
    SpecificationDef,
)
from om_graph.core.catalog.extensions import (
    BusinessValidator,
    DecompositionRule,
    EnrichmentStep,
    JeopardyPolicy,
    TaskHandler,
    TaskTiming,
)
from om_graph.core.catalog.prices import PriceListDef, implicit_price_lists, price_list_problems
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


@dataclass
class Registry:
    catalogs: Sequence[CatalogContribution] = ()
    task_handlers: Sequence[TaskHandler] = ()
    decomposition_rules: Sequence[DecompositionRule] = ()
    enrichment_steps: Sequence[EnrichmentStep] = ()
    business_validators: Sequence[BusinessValidator] = ()
    jeopardy_policies: Sequence[JeopardyPolicy] = ()
    # Default decision tables the packs ship (om_register_decision_tables), and the pack of each
    # by table name; core/decisions/service.py checks and stores them with the core's defaults.
    decision_tables: Sequence[DecisionTableDef] = ()
    decision_table_packs: dict[str, str] = field(default_factory=dict)
    specifications: dict[str, SpecificationDef] = field(init=False)
    offerings: dict[str, OfferingDef] = field(init=False)
    handlers: dict[str, TaskHandler] = field(init=False)
    rules_by_relationship: dict[tuple[str, str], list[DecompositionRule]] = field(init=False)
    # Every price list by key: the packs' (catalog/prices.py) and the implicit list price list of
    # each offering currency; structure checked here, currencies and matrices by core/pricing.
    price_lists: dict[str, PriceListDef] = field(init=False)

    def __post_init__(self) -> None:
        self.specifications = _index_by_key("specification", (s for c in self.catalogs for s in c.specifications))
        self.offerings = _index_by_key("offering", (o for c in self.catalogs for o in c.offerings))
        self.handlers = _index_by_key("task handler", self.task_handlers)
        _index_by_key("decomposition rule", self.decomposition_rules)
        _index_by_key("enrichment step", self.enrichment_steps)
        _index_by_key("business validator", self.business_validators)
        _index_by_key("jeopardy policy", self.jeopardy_policies)
        self.enrichment_steps = sorted(self.enrichment_steps, key=lambda s: (s.order, s.key))
        self.jeopardy_policies = sorted(self.jeopardy_policies, key=lambda p: (-p.priority, p.key))
        self.rules_by_relationship = defaultdict(list)
        for rule in self.decomposition_rules:
            self.rules_by_relationship[(rule.source_spec, rule.target_spec)].append(rule)
        self._check_references()
        self._index_price_lists()

    def _check_references(self) -> None:
        problems: list[str] = []
        for offering in self.offerings.values():
            spec = self.specifications.get(offering.product_spec)
            if spec is None or spec.kind != "product":
                problems.append(f"offering {offering.key!r}: unknown product specification {offering.product_spec!r}")
        for spec in self.specifications.values():
            template_keys = {t.key for t in spec.tasks}
            for rel in spec.relationships:
                if rel.target not in self.specifications:
                    problems.append(f"specification {spec.key!r}: relationship to unknown {rel.target!r}")
                if not 0 <= rel.min_cardinality <= rel.max_cardinality:
                    problems.append(f"specification {spec.key!r}: bad cardinality towards {rel.target!r}")
            for task in spec.tasks:
                if task.kind == "automatic" and task.handler not in self.handlers:
                    problems.append(f"specification {spec.key!r}: task {task.key!r} uses unknown handler {task.handler!r}")
                for dep in task.depends_on:
                    if dep not in template_keys:
                        problems.append(f"specification {spec.key!r}: task {task.key!r} depends on unknown {dep!r}")
        for source, target in self.rules_by_relationship:
            spec = self.specifications.get(source)
            if spec is None or all(r.target != target for r in spec.relationships):
                problems.append(f"decomposition rule for unknown relationship {source!r} -> {target!r}")
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

    def validators_for(self, spec_key: str) -> list[BusinessValidator]:
        return [v for v in self.business_validators if v.spec_keys is None or spec_key in v.spec_keys]

    def policy_for(self, timing: TaskTiming) -> tuple[JeopardyPolicy, object] | None:
        for policy in self.jeopardy_policies:
            duration = policy.planned_duration(timing)
            if duration is not None:
                return policy, duration
        return None
