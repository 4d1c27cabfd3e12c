"""Order priority (TMF622 ``priority``, "0" highest .. "4" lowest) from the ``order.priority``
decision table: a derived value, computed on capture, on every draft edit and at submit (when
the requested date's urgency is measured again), not something a client sets.

The table's inputs: ``segment`` and ``channel`` (the order's audience, as pricing stores them),
``action`` (the order's action mix: ``add``, ``modify``, ``delete`` or ``mixed``),
``daysToRequested`` (whole days from today, UTC, to the requested completion date; negative when
it is past; missing when none is requested), ``recurringTotal`` and ``oneTimeTotal`` (the order's
totals), ``lineCount``. Output: ``priority``. A process admin edits the table like any other
(decisionTableDraftUpdate, then activate); its output column stays ``priority`` (string).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

from om_graph.core.decisions.definitions import Condition, DecisionTableDef, InputColumn, OutputColumn, Rule
from om_graph.core.decisions.errors import UnknownDecisionTable

PRIORITY_TABLE = "order.priority"
PRIORITIES = ("0", "1", "2", "3", "4")
DEFAULT_PRIORITY = "3"

ORDER_PRIORITY = DecisionTableDef(
    name=PRIORITY_TABLE,
    description="The order's TMF622 priority: 0 highest, 4 lowest (first matching rule).",
    inputs=(
        InputColumn("segment", "string", "the customer segment the order was priced for"),
        InputColumn("channel", "string", "portal, agent or partner"),
        InputColumn("action", "string", "add, modify, delete or mixed"),
        InputColumn("daysToRequested", "integer", "days from today to the requested completion date"),
        InputColumn("recurringTotal", "number"),
        InputColumn("oneTimeTotal", "number"),
        InputColumn("lineCount", "integer"),
    ),
    outputs=(OutputColumn("priority", "string", default=DEFAULT_PRIORITY, description="0 (highest) .. 4 (lowest)"),),
    hit_policy="first",
    rules=(
        Rule(
            when={"daysToRequested": Condition.between(maximum=2)},
            then={"priority": "1"},
            description="wanted within two days (or overdue)",
        ),
        Rule(
            when={
                "segment": Condition.one_of("enterprise", "business", "wholesale"),
                "recurringTotal": Condition.between(minimum=1000),
            },
            then={"priority": "1"},
            description="large business revenue",
        ),
        Rule(
            when={"daysToRequested": Condition.between(maximum=7)},
            then={"priority": "2"},
            description="wanted within a week",
        ),
        Rule(
            when={"segment": Condition.one_of("enterprise", "business", "wholesale")},
            then={"priority": "2"},
            description="business customers",
        ),
        Rule(when={"action": Condition.equals("delete")}, then={"priority": "4"}, description="disconnects only"),
    ),
)

ORDERING_TABLES: tuple[DecisionTableDef, ...] = (ORDER_PRIORITY,)


class PriorityTables(Protocol):
    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None: ...


class _Order(Protocol):
    segment: str | None
    channel: str | None
    requested_completion_date: datetime | None
    recurring_total: Any
    one_time_total: Any


class _Line(Protocol):
    action: str


def action_mix(actions: Iterable[str]) -> str | None:
    found = set(actions)
    if not found:
        return None
    return next(iter(found)) if len(found) == 1 else "mixed"


def priority_inputs(order: _Order, lines: Iterable[_Line], *, today: date | None = None) -> dict[str, Any]:
    lines = list(lines)
    today = today or datetime.now(UTC).date()
    requested = order.requested_completion_date
    return {
        "segment": order.segment,
        "channel": order.channel,
        "action": action_mix(line.action for line in lines),
        "daysToRequested": (requested.date() - today).days if requested is not None else None,
        "recurringTotal": order.recurring_total,
        "oneTimeTotal": order.one_time_total,
        "lineCount": len(lines),
    }


def order_priority(tables: PriorityTables, order: _Order, lines: Iterable[_Line], *, today: date | None = None) -> str | None:
    """The priority the active ``order.priority`` table gives (its default when no rule hits).
    An admin's version could give a value outside "0".."4": the order keeps the default then."""
    try:
        row = tables.first(PRIORITY_TABLE, priority_inputs(order, lines, today=today))
    except (KeyError, UnknownDecisionTable):  # tables without it (a unit test's): no priority
        return None
    value = (row or {}).get("priority")
    return value if value in PRIORITIES else DEFAULT_PRIORITY
