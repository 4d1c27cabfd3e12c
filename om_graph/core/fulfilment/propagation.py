"""Attribute propagation inside a plan session: a task's outcome (or values supplied to a line)
flows to the characteristics the catalog maps it to (core/catalog/propagation.py), on the same
line's domain orders of the target specifications and on the line itself when the target is its
product specification.

``default`` fills a value that is missing, ``set`` overwrites, ``validate`` compares: a mismatch
is recorded as an ``ERROR_MESSAGE`` event (reason ``attributeMismatch``) and changes nothing (the
task's own outcome stands; fallout or an agent decides). A value that reaches the line can
complete the needs of a parked part (staggered decomposition): the advance loop builds it once
the session committed (``LineSupply.resume_ready``), as pack code must not run under the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.catalog.propagation import targets
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.decomposition import WAITING
from om_graph.core.fulfilment.models import DomainOrder
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.kernel import events as ev
from om_graph.core.ordering.models import OrderLine


def propagate(session: PlanSession, registry: Registry, source: DomainOrder | OrderLine, values: Mapping[str, Any]) -> list[str]:
    """Apply the mappings from ``source``'s specification for ``values``; returns the line
    characteristics it changed (names)."""
    if not registry.mappings_by_source or not values:
        return []
    found = targets(registry.mappings_by_source, source.spec_key, values)
    if not found:
        return []
    plan = session.plan
    line = plan.line(source.line_id) if isinstance(source, DomainOrder) else source
    line_changed: dict[str, Any] = {}
    mismatches: list[dict[str, Any]] = []
    for p in found:
        holders: list[DomainOrder | OrderLine] = [
            d for d in plan.domain_orders if d.line_id == line.id and d.spec_key == p.target_spec
        ]
        if line.spec_key == p.target_spec:
            holders.append(line)
        for holder in holders:
            current = (holder.characteristics or {}).get(p.characteristic)
            if p.mode == "validate":
                if current is not None and current != p.value:
                    mismatches.append(
                        {
                            "specKey": p.target_spec,
                            "characteristic": p.characteristic,
                            "value": current,
                            "expected": p.value,
                            "from": ".".join(p.source),
                        }
                    )
                continue
            if (p.mode == "set" or current is None) and current != p.value:
                holder.characteristics = {**(holder.characteristics or {}), p.characteristic: p.value}
                if holder is line:
                    line_changed[p.characteristic] = p.value
    if line_changed and any(
        w.line_id == line.id and w.state == WAITING and w.characteristic in line_changed for w in getattr(plan, "waits", ())
    ):
        # A parked part may be complete now: the advance job (even with nothing to claim) checks
        # LineSupply.resume_ready once this session committed, whoever completed the task.
        session.automatic_work_ready = True
    if line_changed:
        session.uow.record(
            session.order,
            ev.ORDER_ATTRIBUTE_CHANGE,
            entity_kind="line",
            entity_id=line.id,
            actor=SYSTEM_ACTOR,
            payload={"lineNumber": line.line_number, "characteristics": line_changed, "propagated": True},
        )
    for mismatch in mismatches:
        session.uow.record(
            session.order,
            ev.ERROR_MESSAGE,
            entity_kind="line",
            entity_id=line.id,
            actor=SYSTEM_ACTOR,
            payload={"reason": "attributeMismatch", "lineNumber": line.line_number, **mismatch},
        )
    return list(line_changed)
