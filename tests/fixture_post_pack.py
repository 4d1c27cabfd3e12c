"""Products changed after fulfilment (tests/test_post_fulfilment.py): a line product in two tiers
of one family (``test-line-100`` and ``test-line-200``, family ``test-line``), a tier of another
specification in the same family (refused), and a seat-counted product whose entitlement reads
its ``seats``. Suspend and resume have their own tasks (bar and unbar the line); every call of a
handler is recorded in ``CALLS`` (task key, mode, idempotency key)."""

from __future__ import annotations

import threading
from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    CharacteristicDef,
    EntitlementDef,
    OfferingDef,
    SpecificationDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)

CALLS: list[tuple[str, str, str]] = []
_LOCK = threading.Lock()


def _record(ctx) -> None:
    with _LOCK:
        CALLS.append((ctx.task_key, getattr(ctx, "mode", "do"), ctx.idempotency_key))


def _do(ctx):
    _record(ctx)
    return TaskOutcome({})


def _undo(ctx) -> None:
    _record(ctx)


def calls(key: str) -> list[tuple[str, str, str]]:
    with _LOCK:
        return [c for c in CALLS if c[0] == key]


CATALOG = CatalogContribution(
    pack="test-post",
    specifications=(
        SpecificationDef(
            "test.post-line",
            "product",
            "Access line",
            characteristics=(CharacteristicDef("label"),),
            tasks=(
                TaskTemplate("test.post.provision", "Provision the line", handler="test.post", actions=("add", "modify")),
                TaskTemplate("test.post.bar", "Bar the line", handler="test.post", actions=("suspend",)),
                TaskTemplate("test.post.unbar", "Unbar the line", handler="test.post", actions=("resume",)),
                TaskTemplate("test.post.cease", "Cease the line", handler="test.post", actions=("delete",)),
            ),
        ),
        SpecificationDef("test.post-other-line", "product", "Another access line", tasks=()),
        SpecificationDef(
            "test.post-seats",
            "product",
            "Seats",
            characteristics=(CharacteristicDef("seats", "integer", default=5, min_value=1, max_value=50),),
            tasks=(TaskTemplate("test.post.seats", "Set the seat count", handler="test.post", actions=("add", "modify")),),
        ),
    ),
    offerings=(
        OfferingDef(
            "test-line-100",
            "Line 100",
            "test.post-line",
            Decimal("10"),
            Decimal("30"),
            family="test-line",
            suspension_fee=Decimal("5"),
        ),
        OfferingDef("test-line-200", "Line 200", "test.post-line", Decimal("10"), Decimal("45"), family="test-line"),
        OfferingDef("test-line-other", "Line elsewhere", "test.post-other-line", Decimal("0"), Decimal("50"), family="test-line"),
        OfferingDef(
            "test-seats",
            "Seats",
            "test.post-seats",
            Decimal("0"),
            Decimal("4"),
            entitlements=(EntitlementDef("seat", unit="seat", quantity_from="seats"),),
        ),
    ),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [TaskHandler("test.post", do=_do, undo=_undo)]
