"""A pack whose every extension records whether it ran inside a writing transaction (a unit of
work open in its thread, or the SQLite write lock held by it), and whose enrichment step can be
told to answer "not yet", whose jeopardy policy can be told to fail, and whose approval gate
(``approve``, given to ``OrderProcessing`` as its constructor argument) can be told to wait. Used by the staged-lifecycle and pack-code-outside-the-lock tests."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from om_graph.core.catalog.definitions import (
    CatalogContribution,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskTemplate,
)
from om_graph.core.catalog.extensions import (
    BusinessValidator,
    DecompositionRule,
    EnrichmentPending,
    EnrichmentStep,
    JeopardyPolicy,
    TaskHandler,
    TaskOutcome,
)
from om_graph.core.kernel.db import write_lock_held_here
from om_graph.core.kernel.uow import write_transaction_open
from om_graph.plugins import hookimpl

OFFERING = "probe-offering"
_lock = threading.Lock()
PROBES: list[tuple[str, bool]] = []  # (extension, ran under a write transaction)
PENDING: dict[str, str] = {}  # set "routerModel" to a reason: the enrichment step answers not yet
ON_VALIDATE: list = []  # callables the validator runs (once each) before answering
ON_POLICY: list = []  # callables the jeopardy policy runs (once each) before answering
APPROVAL: dict[str, str] = {}  # set "reason": the approval gate makes the order wait for it
POLICY_ANSWER: list = []  # what the jeopardy policy answers instead of five minutes (an exception is raised)


def _probe(what: str) -> None:
    with _lock:
        PROBES.append((what, write_transaction_open() or write_lock_held_here()))


def reset() -> None:
    with _lock:
        PROBES.clear()
    PENDING.clear()
    ON_VALIDATE.clear()
    ON_POLICY.clear()
    APPROVAL.clear()
    POLICY_ANSWER.clear()


def _validate(line):
    _probe("validator")
    while ON_VALIDATE:
        ON_VALIDATE.pop(0)(line)
    return []


def _enrich(line):
    _probe("enrichment")
    if "routerModel" in PENDING:
        return EnrichmentPending(PENDING["routerModel"], characteristic="routerModel")
    return {"routerModel": "R-1"}


def _include(characteristics):
    _probe("decomposition rule")
    return True


def _duration(timing):
    if not timing.spec_key.startswith("probe."):
        return None
    _probe("jeopardy policy")
    while ON_POLICY:
        ON_POLICY.pop(0)(timing)
    if POLICY_ANSWER:
        if isinstance(POLICY_ANSWER[0], Exception):
            raise POLICY_ANSWER[0]
        return POLICY_ANSWER[0]
    return timedelta(minutes=5)


def approve(order, lines):
    """The approval gate: the reason the order needs a person, if one is set."""
    _probe("approval gate")
    return APPROVAL.get("reason")


def _handle(ctx):
    _probe("task handler")
    return TaskOutcome({"done": ctx.task_key})


CATALOG = CatalogContribution(
    pack="probe",
    specifications=(
        SpecificationDef(
            "probe.product",
            "product",
            "Probe product",
            characteristics=(CharacteristicDef("routerModel", "string"), CharacteristicDef("done", "string")),
            relationships=(SpecRelationshipDef("probe.service"),),
            tasks=(TaskTemplate("probe.activate", "Activate", handler="probe.handler"),),
        ),
        SpecificationDef(
            "probe.service",
            "service",
            "Probe service",
            characteristics=(CharacteristicDef("routerModel", "string"), CharacteristicDef("done", "string")),
            tasks=(TaskTemplate("probe.configure", "Configure", handler="probe.handler"),),
        ),
    ),
    offerings=(OfferingDef(OFFERING, "Probe", "probe.product", one_time_price=Decimal("1.00")),),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_business_validators():
    return [BusinessValidator("probe.validator", validate=_validate, spec_keys=("probe.product",))]


@hookimpl
def om_register_enrichment_steps():
    return [EnrichmentStep("probe.enrich", enrich=_enrich, spec_keys=("probe.product",))]


@hookimpl
def om_register_decomposition_rules():
    return [DecompositionRule("probe.rule", "probe.product", "probe.service", include=_include)]


@hookimpl
def om_register_jeopardy_policies():
    return [JeopardyPolicy("probe.sla", planned_duration=_duration, priority=10)]


@hookimpl
def om_handle_order_event(event):
    _probe("order event handler")


@hookimpl
def om_register_task_handlers():
    return [TaskHandler("probe.handler", do=_handle)]
