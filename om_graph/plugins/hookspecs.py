"""The hooks an industry pack implements. Each is documented in docs/plugins.md (a test checks).

Registration hooks return objects; the host collects them once at startup into a
:class:`om_graph.core.catalog.registry.Registry`, which refuses duplicate keys.
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
        JeopardyPolicy,
        TaskHandler,
    )
    from om_graph.core.kernel.events import OrderEvent

PROJECT = "om_graph"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def om_register_catalog() -> CatalogContribution | None:
    """Return the pack's catalog: specifications (product, service, resource) and offerings."""


@hookspec
def om_register_decomposition_rules() -> Sequence[DecompositionRule]:
    """Return rules that include or exclude specification relationships per order line."""


@hookspec
def om_register_enrichment_steps() -> Sequence[EnrichmentStep]:
    """Return steps that add data to submitted lines before decomposition."""


@hookspec
def om_register_business_validators() -> Sequence[BusinessValidator]:
    """Return validators run at submission; any issue rejects the order."""


@hookspec
def om_register_jeopardy_policies() -> Sequence[JeopardyPolicy]:
    """Return policies giving tasks their planned durations (SLAs) and jeopardy thresholds."""


@hookspec
def om_register_task_handlers() -> Sequence[TaskHandler]:
    """Return the handlers that perform automatic tasks (do and undo)."""


@hookspec
def om_handle_order_event(event: OrderEvent) -> None:
    """Called for each order event after its transaction commits, in the process that committed it."""
