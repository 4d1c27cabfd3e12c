"""Products with points of no return (tests/test_ponr.py): ``ponr-box`` prepares (automatic, no
PONR), ships (manual, a soft PONR charged ``SHIP_CHARGE``) and activates (automatic, hard);
``ponr-plain`` has one automatic task and no PONR, ``ponr-slow`` one manual task and no PONR
(bundle members)."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import CatalogContribution, OfferingDef, SpecificationDef, TaskHandler, TaskOutcome, TaskTemplate, hookimpl

SHIP_CHARGE = Decimal("25.00")


def _done(ctx):
    return TaskOutcome({})


CATALOG = CatalogContribution(
    pack="test-ponr",
    specifications=(
        SpecificationDef(
            "ponr.box",
            "product",
            "Box with points of no return",
            tasks=(
                TaskTemplate("ponr.prepare", "Prepare the box", handler="ponr.done"),
                TaskTemplate(
                    "ponr.ship",
                    "Ship the box",
                    kind="manual",
                    depends_on=("ponr.prepare",),
                    ponr="soft",
                    ponr_charge=SHIP_CHARGE,
                ),
                TaskTemplate("ponr.activate", "Activate the box", handler="ponr.done", depends_on=("ponr.ship",), ponr="hard"),
            ),
        ),
        SpecificationDef(
            "ponr.plain", "product", "Plain add-on", tasks=(TaskTemplate("ponr.enable", "Enable", handler="ponr.done"),)
        ),
        SpecificationDef(
            "ponr.slow", "product", "Add-on set up by hand", tasks=(TaskTemplate("ponr.configure", "Configure", kind="manual"),)
        ),
    ),
    offerings=(
        OfferingDef("ponr-box", "PONR box", "ponr.box", Decimal("10.00"), Decimal("5.00")),
        OfferingDef("ponr-plain", "Plain add-on", "ponr.plain", Decimal("0"), Decimal("2.00")),
        OfferingDef("ponr-slow", "Hand-configured add-on", "ponr.slow", Decimal("0"), Decimal("3.00")),
    ),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [TaskHandler("ponr.done", do=_done, undo=_done)]
