"""Test support for pack authors: a pytest plugin (:mod:`om_graph.testing.plugin`, loaded through
the ``pytest11`` entry point) and plain helpers to build the objects a pack's code receives.

The helpers need no running om-graph: ``task_context`` and ``line_view`` build what a handler,
an enrichment step or a validator is called with, ``registry_for`` collects a pack's
contributions the way startup does (the core defaults plus the given plugins, settings checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.api import LineView, TaskContext
from om_graph.core.catalog.registry import Registry
from om_graph.plugins.manager import build_plugin_manager, collect_registry


def task_context(
    task_key: str,
    spec_key: str,
    *,
    idempotency_key: str = "idem-1",
    action: str = "add",
    attempt: int = 1,
    order_id: int = 20,
    customer_id: str = "cust-7",
    line_id: int = 3,
    domain_kind: str = "service",
    **characteristics: Any,
) -> TaskContext:
    """What a task handler is called with, for a domain order carrying ``characteristics``."""
    return TaskContext(
        task_id=1,
        task_key=task_key,
        idempotency_key=idempotency_key,
        attempt=attempt,
        order_id=order_id,
        customer_id=customer_id,
        line_id=line_id,
        action=action,
        spec_key=spec_key,
        domain_kind=domain_kind,
        characteristics=characteristics,
    )


def line_view(
    offering_key: str,
    spec_key: str,
    quantity: int = 1,
    action: str = "add",
    *,
    customer_id: str = "cust-7",
    **characteristics: Any,
) -> LineView:
    """What an enrichment step or business validator is called with."""
    return LineView(None, 1, action, offering_key, spec_key, quantity, characteristics, customer_id)


def registry_for(*plugins: object, environ: Mapping[str, str] | None = None) -> Registry:
    """The registry startup would build with only the core defaults and ``plugins`` installed."""
    return collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=plugins, environ=environ))


__all__ = ["Registry", "line_view", "registry_for", "task_context"]
