"""Decomposition as plain rows, unit: durations, SLAs, work queues, typed dependencies and the
registry's checks of them (no database)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from om_graph.core.catalog.definitions import (
    CatalogContribution,
    CharacteristicDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskDependencyDef,
    TaskTemplate,
)
from om_graph.core.catalog.extensions import TaskHandler
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.decomposition import Decomposer
from om_graph.core.fulfilment.durations import DEFAULT_AUTOMATIC, DEFAULT_MANUAL, DURATION_TABLE
from om_graph.core.kernel.errors import PluginConfigurationError
from om_graph.core.ordering.models import Order, OrderLine

HANDLER = TaskHandler("noop", do=lambda ctx: None)


def _registry(*specs: SpecificationDef) -> Registry:
    return Registry(catalogs=(CatalogContribution(pack="unit", specifications=specs),), task_handlers=(HANDLER,))


def _line(spec_key: str, characteristics=None, action="add", line_id=1) -> OrderLine:
    return OrderLine(
        id=line_id,
        line_number=line_id,
        action=action,
        offering_key="o",
        spec_key=spec_key,
        quantity=1,
        characteristics=characteristics or {},
    )


ORDER = Order(id=7, customer_id="C", priority="2", segment="business")


class _Tables:
    def __init__(self, answers):
        self.answers = answers
        self.asked: list[tuple[str, dict]] = []

    def first(self, name, inputs):
        self.asked.append((name, dict(inputs)))
        if name not in self.answers:
            raise KeyError(name)
        return self.answers[name](inputs)


def test_durations_come_from_the_table_then_the_template_then_the_default():
    spec = SpecificationDef(
        "p",
        "product",
        "P",
        tasks=(
            TaskTemplate("a", "A", handler="noop", duration=timedelta(minutes=5)),
            TaskTemplate("b", "B", handler="noop", depends_on=(TaskDependencyDef("a", "startToStart", timedelta(minutes=2)),)),
            TaskTemplate("m", "M", kind="manual", depends_on=("b",), role="field_team"),
            TaskTemplate("n", "N", kind="manual", depends_on=("m",)),
        ),
    )
    decomposer = Decomposer(_registry(spec))
    plan = decomposer.plan(ORDER, [_line("p")], {})
    by_key = {t.key: t for t in plan.tasks}
    assert by_key["a"].duration_seconds == 300
    assert by_key["b"].duration_seconds == DEFAULT_AUTOMATIC.total_seconds()
    assert by_key["m"].duration_seconds == DEFAULT_MANUAL.total_seconds()
    # Work queues: the template's role, else none (released, queues.assign_default_groups decides).
    assert by_key["m"].assignment_group == "field_team"
    assert by_key["n"].assignment_group is None
    assert by_key["a"].assignment_group is None
    # Typed dependencies with their lag.
    edges = {(e.task.key, e.predecessor.key): (e.dependency_type, e.lag_seconds) for e in plan.edges}
    assert edges == {("b", "a"): ("startToStart", 120), ("m", "b"): ("finishToStart", 0), ("n", "m"): ("finishToStart", 0)}

    tables = _Tables({DURATION_TABLE: lambda inputs: {"durationSeconds": 42} if inputs["taskKey"] == "a" else None})
    plan = decomposer.plan(ORDER, [_line("p")], {}, tables)
    by_key = {t.key: t for t in plan.tasks}
    assert by_key["a"].duration_seconds == 42 and by_key["b"].duration_seconds == DEFAULT_AUTOMATIC.total_seconds()
    asked = [inputs for name, inputs in tables.asked if name == DURATION_TABLE]
    assert asked[0] == {
        "specKey": "p",
        "action": "add",
        "offering": "o",
        "segment": "business",
        "priority": "2",
        "taskKey": "a",
        "kind": "automatic",
    }


def test_the_sla_is_the_templates_and_asked_once_per_template():
    service = SpecificationDef("s", "service", "S", tasks=(TaskTemplate("x", "X", handler="noop", sla=timedelta(hours=1)),))
    product = SpecificationDef(
        "p", "product", "P", relationships=(SpecRelationshipDef("s", min_cardinality=3, max_cardinality=3),)
    )
    tables = _Tables({})
    plan = Decomposer(_registry(product, service)).plan(ORDER, [_line("p")], {}, tables)
    assert [t.planned_seconds for t in plan.tasks] == [3600, 3600, 3600]
    assert len([1 for name, _ in tables.asked if name == "fulfilment.sla"]) == 1  # memoised within the plan


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ((TaskTemplate("a", "A", handler="noop", depends_on=("zz",)),), "task 'a' depends on unknown 'zz'"),
        ((TaskTemplate("a", "A", handler="noop", depends_on=(TaskDependencyDef("a"),)),), "task 'a' depends on itself"),
        (
            (
                TaskTemplate("a", "A", handler="noop"),
                TaskTemplate("b", "B", handler="noop", depends_on=(TaskDependencyDef("a", "finishToBegin"),)),  # type: ignore[arg-type]
            ),
            "task 'b' depends on 'a' by unknown type 'finishToBegin'",
        ),
        (
            (
                TaskTemplate("a", "A", handler="noop"),
                TaskTemplate("b", "B", handler="noop", depends_on=(TaskDependencyDef("a", lag=60),)),  # type: ignore[arg-type]
            ),
            "task 'b' depends on 'a' with a lag that is no timedelta",
        ),
        (
            (
                TaskTemplate("a", "A", handler="noop", depends_on=("c",)),
                TaskTemplate("b", "B", handler="noop", depends_on=(TaskDependencyDef("a", "finishToFinish"),)),
                TaskTemplate("c", "C", handler="noop", depends_on=("b",)),
            ),
            "task dependencies form a cycle: a -> c -> b -> a",
        ),
    ],
)
def test_the_registry_refuses_bad_task_dependencies(tasks, message):
    with pytest.raises(PluginConfigurationError) as info:
        _registry(SpecificationDef("p", "product", "P", tasks=tasks))
    assert f"pack 'unit': specification 'p': {message}" in str(info.value)


def test_the_catalogs_dependency_types_are_the_release_rules():
    from om_graph.core.catalog.planning import DEPENDENCY_TYPES
    from om_graph.core.fulfilment.rules import DEPENDENCY_RULES

    assert set(DEPENDENCY_RULES) == DEPENDENCY_TYPES


def test_the_registry_refuses_needs_of_unknown_characteristics():
    service = SpecificationDef("s", "service", "S")
    product = SpecificationDef(
        "p",
        "product",
        "P",
        characteristics=(CharacteristicDef("site", "string"),),
        relationships=(SpecRelationshipDef("s", needs=("site", "vlan")),),
    )
    with pytest.raises(PluginConfigurationError, match="relationship to 's' needs unknown characteristic 'vlan'"):
        _registry(product, service)


def test_a_line_relying_on_another_starts_after_it():
    spec = SpecificationDef(
        "p",
        "product",
        "P",
        tasks=(
            TaskTemplate("first", "First", handler="noop"),
            TaskTemplate("last", "Last", handler="noop", depends_on=("first",)),
        ),
    )
    access, router = _line("p", line_id=1), _line("p", line_id=2)
    router.relationships = [{"lineNumber": 1, "relationshipType": "reliesOn"}]
    plan = Decomposer(_registry(spec)).plan(ORDER, [access, router], {})
    line_of = {id(t): t.domain_order.line_id for t in plan.tasks}
    cross = {
        (line_of[id(e.task)], e.task.key, line_of[id(e.predecessor)], e.predecessor.key, e.dependency_type)
        for e in plan.edges
        if line_of[id(e.task)] != line_of[id(e.predecessor)]
    }
    assert cross == {(2, "first", 1, "last", "finishToStart")}


def test_line_relationships_are_checked_at_capture():
    from om_graph.core.ordering.relationships import relationship_errors

    assert relationship_errors([[], [(1, "reliesOn")]]) == []
    errors = relationship_errors([[(1, "reliesOn")], [(4, "reliesOn"), (1, "bundledWith")], []])
    assert [(e.field, e.code) for e in errors] == [
        ("lines.0.relationships.0.lineNumber", "INVALID"),
        ("lines.1.relationships.0.lineNumber", "NOT_FOUND"),
        ("lines.1.relationships.1.relationshipType", "INVALID"),
    ]
    [cycle] = relationship_errors([[(2, "reliesOn")], [(3, "reliesOn")], [(1, "reliesOn")]])
    assert cycle.field == "lines.0.relationships" and "1 -> 2 -> 3 -> 1" in cycle.message


# -- attribute propagation ----------------------------------------------------------------------


def _chars(*names):
    return tuple(CharacteristicDef(n, "string") for n in names)


def test_the_registry_refuses_a_mapping_cycle_and_unknown_names():
    from om_graph.core.catalog.definitions import AttributeMapping

    a = SpecificationDef("a", "product", "A", characteristics=_chars("x"))
    b = SpecificationDef("b", "service", "B", characteristics=_chars("y"))
    cyclic = (AttributeMapping("a", "x", "b", "y"), AttributeMapping("b", "y", "a", "x", "set"))
    with pytest.raises(PluginConfigurationError, match=r"attribute mappings form a cycle: a\.x -> b\.y -> a\.x"):
        Registry(catalogs=(CatalogContribution(pack="unit", specifications=(a, b), attribute_mappings=cyclic),))
    # A validate mapping moves no value: it closes no cycle.
    checked = (AttributeMapping("a", "x", "b", "y"), AttributeMapping("b", "y", "a", "x", "validate"))
    Registry(catalogs=(CatalogContribution(pack="unit", specifications=(a, b), attribute_mappings=checked),))
    unknown = (AttributeMapping("a", "nope", "c", "y"),)
    with pytest.raises(PluginConfigurationError) as info:
        Registry(catalogs=(CatalogContribution(pack="unit", specifications=(a, b), attribute_mappings=unknown),))
    assert "specification 'a' has no characteristic 'nope'" in str(info.value)
    assert "unknown specification 'c'" in str(info.value)


def test_propagation_follows_mappings_transitively():
    from om_graph.core.catalog.definitions import AttributeMapping
    from om_graph.core.catalog.propagation import index, targets

    mappings = (
        AttributeMapping("r", "serial", "s", "serial", "set"),
        AttributeMapping("s", "serial", "p", "deviceSerial"),
        AttributeMapping("r", "serial", "q", "serial", "validate"),
    )
    by_source = index([CatalogContribution(pack="unit", attribute_mappings=mappings)])
    found = [(p.target_spec, p.characteristic, p.value, p.mode) for p in targets(by_source, "r", {"serial": "SN1", "other": 1})]
    assert found == [("s", "serial", "SN1", "set"), ("q", "serial", "SN1", "validate"), ("p", "deviceSerial", "SN1", "default")]
    assert targets(by_source, "r", {"serial": None}) == []


class _Uow:
    def __init__(self):
        self.events: list[tuple[str, dict]] = []

    def record(self, order, event_type, *, entity_kind, entity_id, actor, payload):
        self.events.append((event_type, payload))


class _Session:
    def __init__(self, plan):
        self.plan, self.uow, self.order = plan, _Uow(), plan.order


def test_propagation_defaults_sets_and_validates_on_the_lines_domain_orders_and_the_line():
    from om_graph.core.catalog.definitions import AttributeMapping
    from om_graph.core.fulfilment.models import DomainOrder
    from om_graph.core.fulfilment.plan import OrderPlan
    from om_graph.core.fulfilment.propagation import propagate

    p = SpecificationDef("p", "product", "P", characteristics=_chars("serial", "site"))
    r = SpecificationDef("r", "resource", "R", characteristics=_chars("serial", "site"))
    s = SpecificationDef("s", "service", "S", characteristics=_chars("serial", "site"))
    mappings = (
        AttributeMapping("r", "serial", "p", "serial"),  # default: only where unset
        AttributeMapping("r", "serial", "s", "serial", "set"),
        AttributeMapping("r", "site", "s", "site", "validate"),
    )
    registry = Registry(catalogs=(CatalogContribution(pack="unit", specifications=(p, r, s), attribute_mappings=mappings),))
    line = _line("p", {"site": "A"})
    other = _line("p", line_id=2)
    dos = [
        DomainOrder(id=1, line_id=1, spec_key="p", characteristics={}),
        DomainOrder(id=2, line_id=1, spec_key="s", characteristics={"serial": "OLD", "site": "B"}),
        DomainOrder(id=3, line_id=1, spec_key="r", characteristics={}),
        DomainOrder(id=4, line_id=2, spec_key="s", characteristics={}),  # another line: untouched
    ]
    session = _Session(OrderPlan(ORDER, [line, other], dos, {}))
    changed = propagate(session, registry, dos[2], {"serial": "SN9", "site": "A"})
    assert changed == ["serial"] and line.characteristics == {"site": "A", "serial": "SN9"}
    assert dos[0].characteristics == {"serial": "SN9"} and dos[1].characteristics == {"serial": "SN9", "site": "B"}
    assert dos[3].characteristics == {}
    from om_graph.core.kernel import events as ev

    [(change, changed_payload), (error, mismatch)] = session.uow.events
    assert change == ev.ORDER_ATTRIBUTE_CHANGE and changed_payload["characteristics"] == {"serial": "SN9"}
    assert error == ev.ERROR_MESSAGE and mismatch["reason"] == "attributeMismatch"
    assert (mismatch["specKey"], mismatch["value"], mismatch["expected"]) == ("s", "B", "A")
    # default does not overwrite what the line holds
    line.characteristics = {"serial": "MINE"}
    propagate(session, registry, dos[2], {"serial": "SN10"})
    assert line.characteristics == {"serial": "MINE"}


def test_a_parked_part_holds_its_ancestors():
    from om_graph.core.fulfilment.models import DecompositionWait, DomainOrder
    from om_graph.core.fulfilment.plan import OrderPlan

    dos = [
        DomainOrder(id=1, line_id=1, spec_key="p", parent_id=None, characteristics={}),
        DomainOrder(id=2, line_id=1, spec_key="s", parent_id=1, characteristics={}),
        DomainOrder(id=3, line_id=1, spec_key="t", parent_id=1, characteristics={}),
    ]
    plan = OrderPlan(ORDER, [_line("p")], dos, {})
    assert plan.parked() == frozenset()
    plan.waits = [DecompositionWait(line_id=1, parent_id=2, spec_key="x", characteristic="c", state="waiting")]
    assert plan.parked() == {1, 2} and plan.parked(building_only=True) == {1, 2}
    plan.lines[0].action = "delete"
    assert plan.parked(building_only=True) == frozenset() and plan.parked() == {1, 2}
    plan.waits[0].state = "released"
    assert plan.parked() == frozenset()


def _two_spec_registry(*rules):
    from om_graph.core.catalog.extensions import TaskDependencyRule  # noqa: F401 (the rules' type)

    access = SpecificationDef("access", "resource", "Access", tasks=(TaskTemplate("live", "Live", handler="noop"),))
    router = SpecificationDef("router", "resource", "Router", tasks=(TaskTemplate("ship", "Ship", handler="noop"),))
    product = SpecificationDef(
        "p",
        "product",
        "P",
        relationships=(SpecRelationshipDef("access"), SpecRelationshipDef("router")),
        tasks=(TaskTemplate("done", "Done", handler="noop"),),
    )
    return Registry(
        catalogs=(CatalogContribution(pack="unit", specifications=(product, access, router)),),
        task_handlers=(HANDLER,),
        dependency_rules=rules,
    )


def _rule(**overrides):
    from om_graph.core.catalog.extensions import TaskDependencyRule

    fields = {"key": "r", "task_spec": "router", "task": "ship", "on_spec": "access", "on": "live"}
    return TaskDependencyRule(**{**fields, **overrides})


def _rule_edges(plan):
    return sorted(
        (
            e.task.domain_order.line_id,
            e.task.domain_order.unit_index,
            e.predecessor.domain_order.line_id,
            e.dependency_type,
            e.lag_seconds,
        )
        for e in plan.edges
        if e.task.key == "ship" and e.predecessor.key == "live"
    )


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("unit", [(1, 0, 1, "startToStart", 60), (2, 0, 2, "startToStart", 60)]),
        ("line", [(1, 0, 1, "startToStart", 60), (2, 0, 2, "startToStart", 60)]),
        (
            "order",
            [
                (1, 0, 1, "startToStart", 60),
                (1, 0, 2, "startToStart", 60),
                (2, 0, 1, "startToStart", 60),
                (2, 0, 2, "startToStart", 60),
            ],
        ),
    ],
)
def test_a_packs_dependency_rule_ties_tasks_of_two_specifications_in_its_scope(scope, expected):
    registry = _two_spec_registry(_rule(type="startToStart", lag=timedelta(minutes=1), scope=scope))
    plan = Decomposer(registry).plan(ORDER, [_line("p", line_id=1), _line("p", line_id=2)], {})
    assert _rule_edges(plan) == expected


def test_a_unit_scoped_rule_stays_inside_each_unit_of_a_line():
    registry = _two_spec_registry(_rule(scope="unit"))
    line = _line("p")
    line.quantity = 2
    plan = Decomposer(registry).plan(ORDER, [line], {})
    pairs = {
        (e.task.domain_order.parent.unit_index, e.predecessor.domain_order.parent.unit_index)
        for e in plan.edges
        if e.task.key == "ship" and e.predecessor.key == "live"
    }
    assert pairs == {(0, 0), (1, 1)}
    line_scoped = Decomposer(_two_spec_registry(_rule(scope="line"))).plan(ORDER, [line], {})
    assert len([e for e in line_scoped.edges if e.task.key == "ship" and e.predecessor.key == "live"]) == 4


def test_a_rule_applies_only_to_the_lines_it_says():
    registry = _two_spec_registry(_rule(applies=lambda chars: chars.get("fast") is True))
    plan = Decomposer(registry).plan(ORDER, [_line("p", {"fast": True}, line_id=1), _line("p", line_id=2)], {})
    assert [edge[0] for edge in _rule_edges(plan)] == [1]


def test_a_rule_replaces_the_implied_edge_between_the_same_tasks():
    # The structure already says: the product's task after its resources' (finishToStart).
    registry = _two_spec_registry(_rule(task_spec="p", task="done", lag=timedelta(seconds=30), type="finishToFinish"))
    plan = Decomposer(registry).plan(ORDER, [_line("p")], {})
    done_after_live = [e for e in plan.edges if e.task.key == "done" and e.predecessor.key == "live"]
    assert [(e.dependency_type, e.lag_seconds) for e in done_after_live] == [("finishToFinish", 30)]


def test_a_rule_closing_a_cycle_rejects_the_plan_naming_it():
    from om_graph.core.kernel.errors import PluginCallFailed

    # The resources finish before the product's task (the structure); a rule putting a resource
    # after it closes a cycle.
    registry = _two_spec_registry(_rule(key="unit.backwards", task="live", task_spec="access", on_spec="p", on="done"))
    with pytest.raises(PluginCallFailed, match=r"dependency rules unit\.backwards close a cycle in the plan: "):
        Decomposer(registry).plan(ORDER, [_line("p")], {})


def test_a_raising_rule_predicate_is_a_pack_failure():
    from om_graph.core.kernel.errors import PluginCallFailed

    def broken(chars):
        raise RuntimeError("boom")

    with pytest.raises(PluginCallFailed, match="dependency rule 'r' raised RuntimeError: boom"):
        Decomposer(_two_spec_registry(_rule(applies=broken))).plan(ORDER, [_line("p")], {})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task_spec": "nope"}, "dependency rule 'r': unknown specification 'nope'"),
        ({"on": "nope"}, "dependency rule 'r': specification 'access' has no task 'nope'"),
        ({"on_spec": "router", "on": "ship"}, "dependency rule 'r': task 'ship' depends on itself"),
        ({"type": "sometime"}, "dependency rule 'r': unknown type 'sometime'"),
        ({"scope": "galaxy"}, "dependency rule 'r': unknown scope 'galaxy'"),
        ({"lag": 5}, "dependency rule 'r': a lag that is no timedelta"),
    ],
)
def test_the_registry_refuses_bad_dependency_rules(overrides, message):
    with pytest.raises(PluginConfigurationError, match=re.escape(message)):
        _two_spec_registry(_rule(**overrides))


def test_the_registry_refuses_two_dependency_rules_with_one_key():
    with pytest.raises(PluginConfigurationError, match="duplicate dependency rule key 'r'"):
        _two_spec_registry(_rule(), _rule(scope="order"))
