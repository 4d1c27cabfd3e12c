"""A product whose one automatic task hangs on its first attempt for longer than any lease the
tests set, inside a call that ignores interruption (as some client libraries do), and then
returns anyway: its late result must be fenced off. Every call is kept in ``CALLS``."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    OfferingDef,
    SpecificationDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)

HANG_SECONDS = 6.0
CALLS: list[tuple[str, int, str]] = []  # (idempotency key, attempt, "started" | "returned")
_lock = threading.Lock()


def _note(ctx, what: str) -> None:
    with _lock:
        CALLS.append((ctx.idempotency_key, ctx.attempt, what))


def _hang_once(ctx):
    _note(ctx, "started")
    if ctx.attempt == 1:
        deadline = time.monotonic() + HANG_SECONDS
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except BaseException:  # dramatiq's time limit interrupts the thread: ignore it, as a stuck call would
                pass
    _note(ctx, "returned")
    return TaskOutcome({"answeredBy": f"attempt-{ctx.attempt}"})


CATALOG = CatalogContribution(
    pack="test-hang",
    specifications=(
        SpecificationDef(
            "test.hang",
            "product",
            "Hangs once",
            tasks=(TaskTemplate("test.hang-step", "Hang once", handler="test.hang-once"),),
        ),
    ),
    offerings=(OfferingDef("test-hang", "Hangs once", "test.hang", Decimal("1"), Decimal("1")),),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [TaskHandler("test.hang-once", do=_hang_once, undo=lambda ctx: None, max_attempts=3)]
