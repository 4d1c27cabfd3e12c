"""A product whose decomposition waits for a characteristic (tests/test_staggered_decomposition.py):
``test.site`` is realised by an access service (always built) and a VLAN service that ``needs``
the line's ``vlan``; ordered without one, the access service runs, the VLAN part is parked and
the line is pending until an agent supplies the value. ``test.auto-site`` is the same product
whose access task outputs the VLAN: an attribute mapping propagates it to the line, which
releases the parked part with no agent."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    AttributeMapping,
    CatalogContribution,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)


def _done(ctx):
    return TaskOutcome({})


def _assign_vlan(ctx):
    return TaskOutcome({"vlan": 42})


CATALOG = CatalogContribution(
    pack="test-staggered",
    specifications=(
        SpecificationDef(
            "test.site",
            "product",
            "Site",
            characteristics=(
                CharacteristicDef("address", "string", required=True),
                CharacteristicDef("vlan", "integer", min_value=1, max_value=4094),
                CharacteristicDef("siteNote", "string"),  # optional: no part waits on it
            ),
            relationships=(
                SpecRelationshipDef("test.site-access"),
                SpecRelationshipDef("test.site-vlan", needs=("vlan",)),
            ),
            tasks=(TaskTemplate("test.site-activate", "Activate the site", handler="test.staggered-done"),),
        ),
        SpecificationDef(
            "test.site-access",
            "service",
            "Site access",
            tasks=(TaskTemplate("test.access-configure", "Configure access", handler="test.staggered-done"),),
        ),
        SpecificationDef(
            "test.site-vlan",
            "service",
            "Site VLAN",
            tasks=(TaskTemplate("test.vlan-configure", "Configure the VLAN", handler="test.staggered-done"),),
        ),
        SpecificationDef(
            "test.auto-site",
            "product",
            "Site with an assigned VLAN",
            characteristics=(
                CharacteristicDef("address", "string", required=True),
                CharacteristicDef("vlan", "integer", min_value=1, max_value=4094),
            ),
            relationships=(
                SpecRelationshipDef("test.auto-access"),
                SpecRelationshipDef("test.site-vlan", needs=("vlan",)),
            ),
            tasks=(TaskTemplate("test.site-activate", "Activate the site", handler="test.staggered-done"),),
        ),
        SpecificationDef(
            "test.auto-access",
            "service",
            "Site access assigning the VLAN",
            characteristics=(CharacteristicDef("vlan", "integer"),),
            tasks=(TaskTemplate("test.access-assign", "Assign the VLAN", handler="test.assign-vlan"),),
        ),
    ),
    offerings=(
        OfferingDef("test-site", "Site", "test.site", Decimal("1"), Decimal("1")),
        OfferingDef("test-auto-site", "Site (VLAN assigned)", "test.auto-site", Decimal("1"), Decimal("1")),
    ),
    attribute_mappings=(AttributeMapping("test.auto-access", "vlan", "test.auto-site", "vlan"),),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [TaskHandler("test.staggered-done", do=_done), TaskHandler("test.assign-vlan", do=_assign_vlan)]
