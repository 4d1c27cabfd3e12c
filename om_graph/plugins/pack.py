"""``Pack``: a pack's whole contribution as one plugin object, so a pack's plugin module is a
declaration instead of one hook implementation per registration hook.

Point the entry point at the object (``acme = "acme_pack.plugin:pack"``). A pack that needs its
settings to build a contribution subclasses ``Pack`` and overrides that hook with a method naming
``settings`` (docs/plugins.md, "A complete minimal pack").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from om_graph.core.catalog.definitions import CatalogContribution, OfferingDef, SpecificationDef
from om_graph.core.catalog.extensions import (
    BusinessValidator,
    DecompositionRule,
    EnrichmentStep,
    FalloutClassification,
    FalloutFailure,
    JeopardyPolicy,
    TaskDependencyRule,
    TaskHandler,
)
from om_graph.core.catalog.prices import PriceListDef
from om_graph.core.decisions.definitions import DecisionTableDef
from om_graph.core.kernel.events import OrderEvent
from om_graph.plugins import hookimpl
from om_graph.settings import PackSettings


@dataclass(frozen=True)
class Pack:
    """``name`` is the catalog's pack name (and the prefix of its keys, by convention)."""

    name: str
    specifications: Sequence[SpecificationDef] = ()
    offerings: Sequence[OfferingDef] = ()
    task_handlers: Sequence[TaskHandler] = ()
    decomposition_rules: Sequence[DecompositionRule] = ()
    dependency_rules: Sequence[TaskDependencyRule] = ()
    enrichment_steps: Sequence[EnrichmentStep] = ()
    business_validators: Sequence[BusinessValidator] = ()
    jeopardy_policies: Sequence[JeopardyPolicy] = ()
    decision_tables: Sequence[DecisionTableDef] = ()
    price_lists: Sequence[PriceListDef] = ()  # catalog/prices.py
    adjustment_tables: Sequence[str] = ()  # decision tables of automatic adjustments (core/pricing/tables.py)
    on_order_event: Callable[[OrderEvent], None] | None = None
    classify_fallout: Callable[[FalloutFailure], FalloutClassification | None] | None = None
    settings: type[PackSettings] | None = None

    @property
    def __name__(self) -> str:  # the plugin name when registered through extra_plugins
        return f"pack:{self.name}"

    @hookimpl
    def om_register_settings(self) -> type[PackSettings] | None:
        return self.settings

    @hookimpl
    def om_register_catalog(self) -> CatalogContribution | None:
        if not (self.specifications or self.offerings or self.price_lists):
            return None
        return CatalogContribution(
            pack=self.name,
            specifications=tuple(self.specifications),
            offerings=tuple(self.offerings),
            price_lists=tuple(self.price_lists),
            adjustment_tables=tuple(self.adjustment_tables),
        )

    @hookimpl
    def om_register_decomposition_rules(self) -> list[DecompositionRule]:
        return list(self.decomposition_rules)

    @hookimpl
    def om_register_dependency_rules(self) -> list[TaskDependencyRule]:
        return list(self.dependency_rules)

    @hookimpl
    def om_register_enrichment_steps(self) -> list[EnrichmentStep]:
        return list(self.enrichment_steps)

    @hookimpl
    def om_register_business_validators(self) -> list[BusinessValidator]:
        return list(self.business_validators)

    @hookimpl
    def om_register_jeopardy_policies(self) -> list[JeopardyPolicy]:
        return list(self.jeopardy_policies)

    @hookimpl
    def om_register_task_handlers(self) -> list[TaskHandler]:
        return list(self.task_handlers)

    @hookimpl
    def om_register_decision_tables(self) -> list[DecisionTableDef]:
        return list(self.decision_tables)

    @hookimpl
    def om_classify_fallout(self, failure: FalloutFailure) -> FalloutClassification | None:
        return self.classify_fallout(failure) if self.classify_fallout is not None else None

    @hookimpl
    def om_handle_order_event(self, event: OrderEvent) -> None:
        if self.on_order_event is not None:
            self.on_order_event(event)
