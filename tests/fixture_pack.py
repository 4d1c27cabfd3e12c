"""A small pack used by the tests: one product realised by a service that requires two
resources, automatic tasks plus one manual installation, and handlers that record their effects
in an "external system" table keyed by idempotency key (so a repeated call is visible)."""

from __future__ import annotations

import os
import sqlite3
import time
from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)


def _ledger():
    path = os.environ.get("OM_TEST_LEDGER")
    if not path:
        return None
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT, task TEXT, at REAL)")
    conn.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, task TEXT)")
    return conn


def _record(ctx, value):
    conn = _ledger()
    if conn is not None:
        with conn:
            conn.execute("INSERT INTO calls VALUES (?, ?, ?)", (ctx.idempotency_key, ctx.task_key, time.time()))
        delay = float(os.environ.get("OM_TEST_HANDLER_DELAY", "0"))
        if delay:
            time.sleep(delay)
        with conn:
            conn.execute("INSERT OR IGNORE INTO effects VALUES (?, ?)", (ctx.idempotency_key, ctx.task_key))
        conn.close()
    return TaskOutcome({ctx.task_key.replace("test.", "").replace("-", "_"): value})


def _allocate(ctx):
    if ctx.characteristics.get("failAt") == ctx.task_key:
        raise TaskHandlerError("the network refused the allocation", code="PROVISIONING_FAILED")
    if ctx.characteristics.get("flakyAt") == ctx.task_key and ctx.attempt == 1:
        raise TaskHandlerError("timeout talking to the network", code="TIMEOUT", retryable=True)
    return _record(ctx, f"val-{ctx.idempotency_key}")


HANDLER = TaskHandler("test.allocate", do=_allocate, undo=lambda ctx: None, max_attempts=3)

CHARS = (
    CharacteristicDef("speed", "integer", required=True, allowed_values=(100, 1000)),
    CharacteristicDef("address", "string", required=True),
    CharacteristicDef("withPhone", "boolean", default=False),
    CharacteristicDef("failAt", "string"),
    CharacteristicDef("flakyAt", "string"),
    CharacteristicDef("links", "integer", default=1),
)

CATALOG = CatalogContribution(
    pack="test",
    specifications=(
        SpecificationDef(
            "test.internet",
            "product",
            "Test internet",
            characteristics=CHARS,
            relationships=(SpecRelationshipDef("test.access-cfs"),),
            tasks=(TaskTemplate("test.activate-product", "Activate product", handler="test.allocate"),),
        ),
        SpecificationDef(
            "test.access-cfs",
            "service",
            "Access service",
            characteristics=CHARS,
            relationships=(
                SpecRelationshipDef("test.line", "requires", 1, 2, count_from="links"),
                SpecRelationshipDef("test.router", "requires"),
            ),
            tasks=(
                TaskTemplate("test.design", "Design service", handler="test.allocate"),
                TaskTemplate("test.activate-service", "Activate service", handler="test.allocate", depends_on=("test.design",)),
            ),
        ),
        SpecificationDef(
            "test.line",
            "resource",
            "Access line",
            tasks=(
                TaskTemplate("test.allocate-line", "Allocate line", handler="test.allocate"),
                TaskTemplate(
                    "test.install", "On-site installation", kind="manual", depends_on=("test.allocate-line",), actions=("add",)
                ),
            ),
            characteristics=CHARS + (CharacteristicDef("ontSerial"),),
        ),
        SpecificationDef(
            "test.router",
            "resource",
            "Router",
            tasks=(TaskTemplate("test.ship-router", "Ship router", handler="test.allocate"),),
        ),
        SpecificationDef("test.licence", "product", "Licence (nothing to fulfil)"),
    ),
    offerings=(
        OfferingDef("test-internet", "Test internet", "test.internet", Decimal("49.00"), Decimal("29.99"), max_quantity=5),
        OfferingDef("test-internet-usd", "Test internet (US)", "test.internet", Decimal("10"), Decimal("5"), currency="USD"),
        OfferingDef("test-licence", "Test licence", "test.licence", Decimal("0"), Decimal("9")),
    ),
)

# A variant with automatic tasks only (for the kill test and benchmarks).
AUTO_ONLY = CatalogContribution(
    pack="test-auto",
    specifications=(
        SpecificationDef(
            "test.auto",
            "product",
            "Auto product",
            characteristics=(CharacteristicDef("label"),),
            tasks=(
                TaskTemplate("test.step-1", "Step 1", handler="test.allocate"),
                TaskTemplate("test.step-2", "Step 2", handler="test.allocate", depends_on=("test.step-1",)),
            ),
        ),
    ),
    offerings=(OfferingDef("test-auto", "Auto", "test.auto", Decimal("1"), Decimal("1")),),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [HANDLER]
