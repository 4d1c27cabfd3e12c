"""The catalog as stored: packs' definitions are written to the database at startup, by key."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from om_graph.core.catalog.definitions import SpecificationDef
from om_graph.core.catalog.models import Offering, Specification
from om_graph.core.catalog.registry import Registry


def _spec_json(spec: SpecificationDef) -> dict[str, Any]:
    return {key: json_safe(value) for key, value in dataclasses.asdict(spec).items()}


def json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):  # task templates' durations, SLAs and lags: seconds
        return value.total_seconds()
    return value


def sync_catalog(session: Session, registry: Registry) -> None:
    """Insert or update every specification and offering the packs ship. Offerings no pack ships
    any more are retired (kept for the orders that reference them, not orderable)."""
    pack_of_spec = {s.key: c.pack for c in registry.catalogs for s in c.specifications}
    pack_of_offering = {o.key: c.pack for c in registry.catalogs for o in c.offerings}

    existing_specs = {s.key: s for s in session.scalars(select(Specification))}
    for key, spec in registry.specifications.items():
        row = existing_specs.get(key) or Specification(key=key)
        row.kind, row.name, row.version = spec.kind, spec.name, spec.version
        row.pack, row.definition = pack_of_spec[key], _spec_json(spec)
        session.add(row)

    existing = {o.key: o for o in session.scalars(select(Offering))}
    for key, off in registry.offerings.items():
        offering = existing.get(key) or Offering(key=key)
        offering.name, offering.description, offering.product_spec_key = off.name, off.description, off.product_spec
        offering.one_time_price, offering.recurring_price = off.one_time_price, off.recurring_price
        offering.currency, offering.recurring_period = off.currency, off.recurring_period
        offering.min_quantity, offering.max_quantity = off.min_quantity, off.max_quantity
        offering.pack, offering.lifecycle_status = pack_of_offering[key], "active"
        session.add(offering)
    for key, offering in existing.items():
        if key not in registry.offerings:
            offering.lifecycle_status = "retired"


def list_offerings(session: Session, *, include_retired: bool = False) -> list[Offering]:
    stmt = select(Offering).order_by(Offering.key)
    if not include_retired:
        stmt = stmt.where(Offering.lifecycle_status == "active")
    return list(session.scalars(stmt))
