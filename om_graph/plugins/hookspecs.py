"""The hooks an industry pack implements. Each is documented in docs/plugins.md (a test checks).

Registration hooks return objects; the host collects them once at startup into a
:class:`om_graph.core.catalog.registry.Registry`, which refuses duplicate keys.

Every hook except ``om_register_settings`` may also name a ``settings`` argument: the host passes
the implementing pack's own settings (the :class:`om_graph.settings.PackSettings` subclass it
returns from ``om_register_settings``), read from the environment and validated at startup.
Pluggy passes an implementation only the arguments it names, so packs that ignore settings are
unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from om_graph.core.catalog.definitions import CatalogContribution
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
    from om_graph.core.decisions.definitions import DecisionTableDef
    from om_graph.core.kernel.events import OrderEvent
    from om_graph.settings import PackSettings

PROJECT = "om_graph"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def om_register_settings() -> type[PackSettings] | None:
    """Return the pack's settings class (a frozen dataclass subclassing ``PackSettings``)."""


@hookspec
def om_register_catalog(settings: PackSettings | None = None) -> CatalogContribution | None:
    """Return the pack's catalog: specifications (product, service, resource) and offerings."""


@hookspec
def om_register_decomposition_rules(settings: PackSettings | None = None) -> Sequence[DecompositionRule]:
    """Return rules that include or exclude specification relationships per order line."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_register_dependency_rules(settings: PackSettings | None = None) -> Sequence[TaskDependencyRule]:
    """Return typed dependencies between tasks of different specifications (e.g. the router ships
    after the access line is live), which task templates cannot declare."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_register_enrichment_steps(settings: PackSettings | None = None) -> Sequence[EnrichmentStep]:
    """Return steps that add data to submitted lines before decomposition."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_register_business_validators(settings: PackSettings | None = None) -> Sequence[BusinessValidator]:
    """Return validators run at submission; any issue rejects the order."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_register_jeopardy_policies(settings: PackSettings | None = None) -> Sequence[JeopardyPolicy]:
    """Return policies giving tasks their planned durations (SLAs) and jeopardy thresholds."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_register_task_handlers(settings: PackSettings | None = None) -> Sequence[TaskHandler]:
    """Return the handlers that perform automatic tasks (do and undo)."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_register_decision_tables(settings: PackSettings | None = None) -> Sequence[DecisionTableDef]:
    """Return the default versions of the pack's decision tables (process admins may replace them)."""
    raise NotImplementedError  # a specification: pluggy calls the packs' implementations


@hookspec
def om_handle_order_event(event: OrderEvent, settings: PackSettings | None = None) -> None:
    """Called for each order event after its transaction commits, in the process that committed it."""


@hookspec(firstresult=True)
def om_classify_fallout(failure: FalloutFailure, settings: PackSettings | None = None) -> FalloutClassification | None:
    """Classify an automatic task's failure that its retry policy will not retry (type, priority,
    owner of the fallout record); None leaves it to the next pack, then to the handler's policy.
    Called in the handler phase, with no transaction open."""
