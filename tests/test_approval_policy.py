"""The approval and enrichment policies as pure functions (what the stages and orderPreview
call): the default tables compile, and their rules give the levels, roles and reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from om_graph.core.decisions.compiled import compile_table
from om_graph.core.decisions.definitions import Condition, Rule
from om_graph.core.lifecycle.approval import approval_steps_for, describe_wait
from om_graph.core.lifecycle.enrichment import enrichment_tasks_for
from om_graph.core.lifecycle.tables import (
    APPROVAL_POLICY_TABLE,
    ENRICHMENT_POLICY_TABLE,
    LIFECYCLE_TABLES,
    ONE_TIME_TOTAL_THRESHOLD,
)


class Tables:
    """An ActiveTables stand-in: the given definitions, compiled."""

    def __init__(self, *defs):
        self.compiled = {d.name: compile_table(d) for d in defs}

    def evaluate(self, name: str, inputs: dict[str, Any]) -> list[dict[str, Any]]:
        return self.compiled[name].evaluate(inputs)

    @property
    def names(self) -> list[str]:
        return sorted(self.compiled)


@dataclass
class FakeOrder:
    one_time_total: Decimal = Decimal("100")
    recurring_total: Decimal = Decimal("10")
    currency: str = "EUR"
    manual_discount_percent: Decimal = Decimal("0")
    discount_over_limit: bool = False
    segment: str | None = None
    channel: str | None = None
    customer_id: str = "ACME"


@dataclass
class FakeLine:
    line_number: int = 1
    offering_key: str = "fibre-1000"
    spec_key: str = "tsm.fibre"
    action: str = "add"
    quantity: int = 1
    id: int | None = None
    characteristics: dict = field(default_factory=dict)


DEFAULTS = Tables(*LIFECYCLE_TABLES)


def test_the_default_tables_compile_and_ask_for_nothing_on_a_plain_order():
    assert approval_steps_for(FakeOrder(), [FakeLine()], DEFAULTS, new_customer=False) == []
    assert enrichment_tasks_for(FakeOrder(), [FakeLine()], DEFAULTS) == []


def test_a_manual_discount_over_the_limit_or_over_ten_percent_asks_one_level():
    over_limit = approval_steps_for(FakeOrder(discount_over_limit=True), [FakeLine()], DEFAULTS, new_customer=False)
    assert [(s.level, s.levels, s.role) for s in over_limit] == [(1, 1, "order_approver")]
    assert over_limit[0].reasons == ("a manual discount is over the agent's limit",)
    ten = approval_steps_for(FakeOrder(manual_discount_percent=Decimal("10")), [FakeLine()], DEFAULTS, new_customer=False)
    assert ten == []  # over 10 %, not at it
    both = approval_steps_for(
        FakeOrder(manual_discount_percent=Decimal("12.5"), discount_over_limit=True), [FakeLine()], DEFAULTS, new_customer=False
    )
    assert len(both) == 1 and len(both[0].reasons) == 2
    assert describe_wait(both[0]).startswith("approval level 1 of 1: a manual discount is over")


def test_a_large_total_asks_two_levels_approver_then_fulfilment_manager():
    steps = approval_steps_for(
        FakeOrder(one_time_total=ONE_TIME_TOTAL_THRESHOLD + 1, discount_over_limit=True),
        [FakeLine()],
        DEFAULTS,
        new_customer=False,
    )
    assert [(s.level, s.levels, s.role) for s in steps] == [(1, 2, "order_approver"), (2, 2, "order_fulfillment_manager")]
    assert "a one-time total over 10,000" in steps[0].reasons and steps[0].reasons == steps[1].reasons


def test_a_new_customer_asks_one_level_above_the_floor():
    assert approval_steps_for(FakeOrder(one_time_total=Decimal("999")), [FakeLine()], DEFAULTS, new_customer=True) == []
    [step] = approval_steps_for(FakeOrder(one_time_total=Decimal("1500")), [FakeLine()], DEFAULTS, new_customer=True)
    assert step.reasons == ("a new customer's order over 1,000",)
    assert approval_steps_for(FakeOrder(one_time_total=Decimal("1500")), [FakeLine()], DEFAULTS, new_customer=False) == []


def test_a_gate_reason_asks_one_level_and_roles_that_may_not_approve_fall_back():
    [step] = approval_steps_for(FakeOrder(), [FakeLine()], DEFAULTS, new_customer=False, extra_reasons=["credit check"])
    assert (step.level, step.role, step.reasons) == (1, "order_approver", ("credit check",))
    table = Tables(
        ENRICHMENT_POLICY_TABLE,
        APPROVAL_POLICY_TABLE.__class__(
            **{
                **APPROVAL_POLICY_TABLE.__dict__,
                "rules": (Rule(when={"lineCount": Condition.between(3, None)}, then={"levels": 3, "roles": "order_agent,x"}),),
            }
        ),
    )
    steps = approval_steps_for(FakeOrder(), [FakeLine()] * 3, table, new_customer=False)
    # order_agent may not approve: the defaults for the level; the last default approves the rest.
    assert [s.role for s in steps] == ["order_approver", "order_fulfillment_manager", "order_fulfillment_manager"]


def test_the_enrichment_policy_gives_tasks_per_line_with_declared_characteristics_only():
    from om_graph.core.catalog.definitions import CharacteristicDef, SpecificationDef

    policy = ENRICHMENT_POLICY_TABLE.__class__(
        **{
            **ENRICHMENT_POLICY_TABLE.__dict__,
            "rules": (
                Rule(
                    when={"specification": Condition.equals("tsm.fibre"), "action": Condition.one_of("add", "modify")},
                    then={"task": "siteSurvey", "name": "Site survey", "characteristics": "surveyReference, nope"},
                ),
                Rule(when={"offering": Condition.equals("fibre-1000")}, then={"task": "siteSurvey", "name": "again"}),
                Rule(when={"channel": Condition.equals("partner")}, then={"task": "partnerCheck", "role": "order_manager"}),
            ),
        }
    )
    specs = {
        "tsm.fibre": SpecificationDef("tsm.fibre", "product", "Fibre", characteristics=(CharacteristicDef("surveyReference"),))
    }
    tables = Tables(policy, APPROVAL_POLICY_TABLE)
    lines = [FakeLine(1, id=11), FakeLine(2, action="delete", id=12), FakeLine(3, spec_key="other", offering_key="x", id=13)]
    tasks = enrichment_tasks_for(FakeOrder(channel="partner"), lines, tables, specifications=specs)
    assert [(t.line_number, t.line_id, t.key, t.capture, t.role) for t in tasks] == [
        (1, 11, "siteSurvey", ("surveyReference",), "order_fulfillment_agent"),  # one task per key; 'nope' is not declared
        (1, 11, "partnerCheck", (), "order_manager"),
        (2, 12, "siteSurvey", (), "order_fulfillment_agent"),  # the offering's rule (the spec's wants add or modify)
        (2, 12, "partnerCheck", (), "order_manager"),
        (3, 13, "partnerCheck", (), "order_manager"),
    ]


@given(
    total=st.decimals(min_value=0, max_value=10**6, places=2),
    discount=st.decimals(min_value=0, max_value=100, places=2),
    over_limit=st.booleans(),
    new_customer=st.booleans(),
)
def test_the_levels_are_those_of_the_most_demanding_rule(total, discount, over_limit, new_customer):
    order = FakeOrder(one_time_total=total, manual_discount_percent=discount, discount_over_limit=over_limit)
    steps = approval_steps_for(order, [FakeLine()], DEFAULTS, new_customer=new_customer)
    expected = max(
        2 if total > 10000 else 0,
        1 if over_limit or discount > 10 or (new_customer and total > 1000) else 0,
    )
    assert len(steps) == expected
    assert [s.level for s in steps] == list(range(1, expected + 1))
    assert all(s.levels == expected for s in steps)


@pytest.mark.parametrize("bad", [{"oneTimeTotal": "a lot"}])
def test_a_wrong_typed_input_is_refused_by_the_table(bad):
    from om_graph.core.decisions.errors import DecisionInputInvalid

    with pytest.raises(DecisionInputInvalid):
        DEFAULTS.evaluate("approval.policy", bad)


def test_the_read_skips_lookups_the_policies_cannot_use():
    from om_graph.core.lifecycle.approval import new_customer_matters
    from om_graph.core.lifecycle.enrichment import may_give_tasks

    class Compiled(Tables):  # with ActiveTables' table(name)
        def table(self, name):
            return self.compiled[name]

    defaults = Compiled(*LIFECYCLE_TABLES)
    assert not new_customer_matters(FakeOrder(one_time_total=Decimal("999")), [FakeLine()], defaults)
    assert new_customer_matters(FakeOrder(one_time_total=Decimal("1500")), [FakeLine()], defaults)
    assert not may_give_tasks(defaults)  # the core's enrichment policy has no rules
    from tests.fixture_enrichment_pack import ENRICHMENT_POLICY

    assert may_give_tasks(Compiled(*LIFECYCLE_TABLES, ENRICHMENT_POLICY))  # a pack's table has
