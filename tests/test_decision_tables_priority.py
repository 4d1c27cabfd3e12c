"""The order.priority default table and its inputs (ordering/priority.py), evaluated directly;
through GraphQL in tests/test_decision_tables_graphql.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pytest

from om_graph.core.decisions.compiled import compile_table
from om_graph.core.ordering.priority import ORDER_PRIORITY, PRIORITY_TABLE, order_priority, priority_inputs

TODAY = date(2026, 12, 1)


@dataclass
class FakeOrder:
    segment: str | None = None
    channel: str | None = "agent"
    requested_completion_date: datetime | None = None
    recurring_total: Decimal = Decimal("0")
    one_time_total: Decimal = Decimal("0")


@dataclass
class FakeLine:
    action: str = "add"


@dataclass
class Tables:
    tables: dict = field(default_factory=lambda: {PRIORITY_TABLE: compile_table(ORDER_PRIORITY)})

    def first(self, name, inputs):
        return self.tables[name].first(inputs)


@pytest.mark.parametrize(
    ("order", "lines", "expected"),
    [
        (FakeOrder(), [FakeLine()], "3"),
        (FakeOrder(requested_completion_date=datetime(2026, 12, 2, 9)), [FakeLine()], "1"),
        (FakeOrder(requested_completion_date=datetime(2026, 11, 20)), [FakeLine()], "1"),  # overdue
        (FakeOrder(requested_completion_date=datetime(2026, 12, 6)), [FakeLine()], "2"),
        (FakeOrder(requested_completion_date=datetime(2027, 1, 6)), [FakeLine()], "3"),
        (FakeOrder(segment="enterprise", recurring_total=Decimal("1500")), [FakeLine()], "1"),
        (FakeOrder(segment="business"), [FakeLine()], "2"),
        (FakeOrder(), [FakeLine("delete")], "4"),
        (FakeOrder(), [FakeLine("delete"), FakeLine("add")], "3"),
    ],
)
def test_the_default_priorities(order, lines, expected):
    assert order_priority(Tables(), order, lines, today=TODAY) == expected


def test_the_inputs_and_a_table_without_it():
    inputs = priority_inputs(
        FakeOrder(requested_completion_date=datetime(2026, 12, 4)), [FakeLine("modify"), FakeLine()], today=TODAY
    )
    assert inputs == {
        "segment": None,
        "channel": "agent",
        "action": "mixed",
        "daysToRequested": 3,
        "recurringTotal": Decimal("0"),
        "oneTimeTotal": Decimal("0"),
        "lineCount": 2,
    }
    assert order_priority(Tables(tables={}), FakeOrder(), [FakeLine()]) is None  # a unit test's tables: no priority
