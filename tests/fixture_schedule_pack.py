"""A product whose tasks are tied by typed dependencies with lags (tests/test_schedule_graphql.py):
``test.slow-start`` runs for ``SLOW_SECONDS``; ``test.follow`` may start ``LAG`` after it started
(startToStart); ``test.finish-with`` runs at once but may not finish before it (finishToFinish)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from om_graph.api import (
    CatalogContribution,
    OfferingDef,
    SpecificationDef,
    TaskDependencyDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)

SLOW_SECONDS = 4.0
LAG = timedelta(seconds=2)


def _slow(ctx):
    time.sleep(SLOW_SECONDS)
    return TaskOutcome({})


def _quick(ctx):
    return TaskOutcome({})


CATALOG = CatalogContribution(
    pack="test-schedule",
    specifications=(
        SpecificationDef(
            "test.lagged",
            "product",
            "Lagged work",
            tasks=(
                TaskTemplate("test.slow-start", "Slow start", handler="test.slow", duration=timedelta(seconds=4)),
                TaskTemplate(
                    "test.follow",
                    "Follows the start",
                    handler="test.quick",
                    depends_on=(TaskDependencyDef("test.slow-start", "startToStart", LAG),),
                    duration=timedelta(seconds=1),
                ),
                TaskTemplate(
                    "test.finish-with",
                    "Finishes with it",
                    handler="test.quick",
                    depends_on=(TaskDependencyDef("test.slow-start", "finishToFinish"),),
                    duration=timedelta(seconds=1),
                ),
            ),
        ),
    ),
    offerings=(OfferingDef("test-lagged", "Lagged", "test.lagged", Decimal("1"), Decimal("1")),),
)


@hookimpl
def om_register_catalog():
    return CATALOG


@hookimpl
def om_register_task_handlers():
    return [TaskHandler("test.slow", do=_slow), TaskHandler("test.quick", do=_quick)]
