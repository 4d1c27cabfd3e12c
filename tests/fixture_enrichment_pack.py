"""A pack for the enrichment and approval scenarios: a fibre-like product whose lines get a
manual site survey from the enrichment policy (a rule this pack ships), and an expensive
offering whose orders the default approval policy sends to two levels."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)
from om_graph.core.decisions.definitions import Condition, DecisionTableDef, Rule
from om_graph.core.lifecycle.tables import ENRICHMENT_POLICY_TABLE

FIBRE = "enr-fibre"
BIG = "enr-big"

CATALOG = CatalogContribution(
    pack="test-enrichment",
    specifications=(
        SpecificationDef(
            "enr.fibre",
            "product",
            "Fibre access (test)",
            characteristics=(
                CharacteristicDef("bandwidth", "integer", required=True, allowed_values=(500, 1000)),
                CharacteristicDef("surveyReference", "string", max_length=12),
                CharacteristicDef("poleNumber", "string", max_length=12),
            ),
            tasks=(TaskTemplate("enr.activate", "Activate", handler="enr.ok"),),
        ),
        SpecificationDef("enr.kit", "product", "Kit (test)", tasks=(TaskTemplate("enr.ship", "Ship", handler="enr.ok"),)),
    ),
    offerings=(
        OfferingDef(FIBRE, "Fibre (test)", "enr.fibre", Decimal("100.00"), Decimal("40.00")),
        OfferingDef(BIG, "Kit (test)", "enr.kit", Decimal("6000.00"), Decimal("0"), max_quantity=10),
    ),
)

HANDLER = TaskHandler("enr.ok", do=lambda ctx: TaskOutcome({"done": ctx.task_key}))

SITE_SURVEY = Rule(
    when={"specification": Condition.equals("enr.fibre"), "action": Condition.one_of("add", "modify")},
    then={"task": "siteSurvey", "name": "Site survey", "characteristics": "surveyReference,poleNumber"},
    description="a technician surveys the site and records the survey and pole references",
)
# The pack's rules of the enrichment policy: a table of its own with the core table's columns.
ENRICHMENT_POLICY = DecisionTableDef(
    "test.enrichment.policy",
    ENRICHMENT_POLICY_TABLE.inputs,
    ENRICHMENT_POLICY_TABLE.outputs,
    rules=(SITE_SURVEY,),
    hit_policy="collect",
    description="The test pack's manual enrichment tasks.",
)


@hookimpl
def om_register_decision_tables():
    return [ENRICHMENT_POLICY]


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [HANDLER]
