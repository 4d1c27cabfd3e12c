"""A pack whose handlers can undo (cancellation and revision tests, core/change): every call is
recorded in ``CALLS`` (mode, the context's own idempotency key, the key it compensates, task key),
and effects in ``EFFECTS`` keyed by idempotency key (a repeated call changes nothing twice).

- ``undo.product`` (offering ``undo-box``, cancellation fee 15): automatic ``undo.reserve`` →
  automatic ``undo.configure`` → manual ``undo.install`` (group ``field``), so an order waits at
  the manual step with two completed effects.
- ``undo.hard`` (offering ``undo-hard``): ``undo.commit`` (hard point of no return) → manual.
- ``undo.soft`` (offering ``undo-soft``): ``undo.order-kit`` (soft, charge 7.50) → manual.
- ``undo.plain`` (offering ``undo-plain``): ``undo.fire`` whose handler has no undo → manual.

``UNDO_GATE``: when set (a threading.Event), undo calls wait on it (a worker killed mid-undo).
"""

from __future__ import annotations

import threading
from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)

CALLS: list[tuple[str, str, str | None, str]] = []
EFFECTS: dict[str, str] = {}  # idempotency key → task key (applied once)
UNDONE: dict[str, str] = {}  # compensated key → undo's own key (applied once)
LOCK = threading.Lock()
UNDO_GATE: list[threading.Event] = []  # a gate undo calls wait on (fault tests)
FAIL_UNDO: set[str] = set()  # task keys whose undo fails (not retryable)


def reset() -> None:
    with LOCK:
        CALLS.clear()
        EFFECTS.clear()
        UNDONE.clear()
        FAIL_UNDO.clear()
    UNDO_GATE.clear()


def _do(ctx):
    with LOCK:
        CALLS.append((ctx.mode, ctx.idempotency_key, ctx.compensates, ctx.task_key))
        EFFECTS.setdefault(ctx.idempotency_key, ctx.task_key)
    return TaskOutcome({ctx.task_key.replace("undo.", "").replace("-", "_"): f"ref-{ctx.idempotency_key[-6:]}"})


def _undo(ctx):
    for gate in list(UNDO_GATE):
        gate.wait(10)
    with LOCK:
        CALLS.append((ctx.mode, ctx.idempotency_key, ctx.compensates, ctx.task_key))
        if ctx.task_key in FAIL_UNDO:
            raise TaskHandlerError("the network refused the release", code="RELEASE_REFUSED")
        assert ctx.compensates in EFFECTS, "an undo names the original's key"
        UNDONE.setdefault(ctx.compensates, ctx.idempotency_key)
    return TaskOutcome({"released": ctx.compensates}, message="released")  # kept on the undo task only


HANDLER = TaskHandler("undo.work", do=_do, undo=_undo, max_attempts=2)
NO_UNDO = TaskHandler("undo.oneway", do=_do, max_attempts=1)


def undo_calls() -> list[tuple[str, str | None, str]]:
    """(own key, compensated key, task key) of every undo call, in call order."""
    return [(key, comp, task) for mode, key, comp, task in CALLS if mode == "undo"]


def _manual(key: str, after: str) -> TaskTemplate:
    return TaskTemplate(key, "Install on site", kind="manual", depends_on=(after,), role="field")


CATALOG = CatalogContribution(
    pack="test-undo",
    specifications=(
        SpecificationDef(
            "undo.product",
            "product",
            "Undoable box",
            characteristics=(CharacteristicDef("label"),),
            tasks=(
                TaskTemplate("undo.reserve", "Reserve stock", handler="undo.work"),
                TaskTemplate("undo.configure", "Configure box", handler="undo.work", depends_on=("undo.reserve",)),
                _manual("undo.install", "undo.configure"),
            ),
        ),
        SpecificationDef(
            "undo.hard",
            "product",
            "Box past a hard PONR",
            characteristics=(CharacteristicDef("label"),),
            tasks=(
                TaskTemplate("undo.commit", "Commit the build", handler="undo.work", ponr="hard"),
                _manual("undo.hard-install", "undo.commit"),
            ),
        ),
        SpecificationDef(
            "undo.soft",
            "product",
            "Box past a soft PONR",
            characteristics=(CharacteristicDef("label"),),
            tasks=(
                TaskTemplate("undo.order-kit", "Order the kit", handler="undo.work", ponr="soft", ponr_charge=Decimal("7.50")),
                _manual("undo.soft-install", "undo.order-kit"),
            ),
        ),
        SpecificationDef(
            "undo.plain",
            "product",
            "Box with one-way work",
            characteristics=(CharacteristicDef("label"),),
            tasks=(
                TaskTemplate("undo.fire", "Fire the laser", handler="undo.oneway"),
                _manual("undo.plain-install", "undo.fire"),
            ),
        ),
    ),
    offerings=(
        OfferingDef(
            "undo-box",
            "Undoable box",
            "undo.product",
            Decimal("10"),
            Decimal("5"),
            max_quantity=3,
            cancellation_fee=Decimal("15"),
        ),
        OfferingDef("undo-hard", "Hard box", "undo.hard", Decimal("10"), Decimal("5")),
        OfferingDef("undo-soft", "Soft box", "undo.soft", Decimal("10"), Decimal("5")),
        OfferingDef("undo-plain", "Plain box", "undo.plain", Decimal("10"), Decimal("5")),
    ),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [HANDLER, NO_UNDO]
