"""The fulfilment context's decision tables (process admins edit them like any other):
task durations (the schedule), SLAs (jeopardy) and work-queue assignment. Each module that
asks one defines it and lists it here; ``core/services.py`` stores them as defaults."""

from __future__ import annotations

from om_graph.core.decisions.definitions import DecisionTableDef
from om_graph.core.fulfilment.durations import DURATION_TABLE_DEF
from om_graph.core.fulfilment.jeopardy import SLA_TABLE_DEF
from om_graph.core.fulfilment.queues import ASSIGNMENT_TABLE_DEF

FULFILMENT_TABLES: tuple[DecisionTableDef, ...] = (
    SLA_TABLE_DEF,  # jeopardy.py
    ASSIGNMENT_TABLE_DEF,  # queues.py
    DURATION_TABLE_DEF,  # durations.py
)
