"""A pack for fallout tests: a widget provisioned by a handler that fails ``failTimes`` times
(per task, counted by idempotency key) before it succeeds, then a notification step that waits
for it; failures with code BILLING_DOWN are classified as billing fallout by the pack's hook."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    CharacteristicDef,
    FalloutClassification,
    OfferingDef,
    RetryPolicy,
    SpecificationDef,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)

CALLS: Counter[str] = Counter()  # idempotency key -> calls (the embedded workers share the process)
_LOCK = threading.Lock()


def _provision(ctx):
    with _LOCK:
        CALLS[ctx.idempotency_key] += 1
        calls = CALLS[ctx.idempotency_key]
    if calls <= int(ctx.characteristics.get("failTimes") or 0):
        code = ctx.characteristics.get("failCode") or "PROVISIONING_FAILED"
        raise TaskHandlerError(f"the network refused call {calls}", code=code, response={"status": 503, "call": calls})
    return TaskOutcome({"serial": f"SN-{ctx.idempotency_key[-6:]}"}, message="provisioned")


PROVISION = TaskHandler("fo.provision", do=_provision, max_attempts=1, retry=RetryPolicy(backoff_ms=0))
NOTIFY = TaskHandler("fo.notify", do=lambda ctx: TaskOutcome({"notified": True}))

CATALOG = CatalogContribution(
    pack="fo",
    specifications=(
        SpecificationDef(
            "fo.widget",
            "product",
            "Widget",
            characteristics=(
                CharacteristicDef("failTimes", "integer", default=0),
                CharacteristicDef("failCode", "string"),
                CharacteristicDef("serial", "string", max_length=20),
                CharacteristicDef("notified", "boolean"),
            ),
            tasks=(
                TaskTemplate("fo.provision", "Provision widget", handler="fo.provision"),
                TaskTemplate("fo.notify", "Notify customer", handler="fo.notify", depends_on=("fo.provision",)),
            ),
        ),
    ),
    offerings=(OfferingDef("fo-widget", "Widget", "fo.widget", Decimal("1"), Decimal("1")),),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [PROVISION, NOTIFY]


@hookimpl
def om_classify_fallout(failure):
    if failure.code == "BILLING_DOWN":
        return FalloutClassification("billing", priority=1, assignment_group="billing_desk")
    return None
