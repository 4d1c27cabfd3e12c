"""Work queues and holds through GraphQL: a held order resumes (its in-flight work finishes, its
successor is not claimed while held, its manual task cannot be completed, its due dates move by
the hold), and a fulfilment agent works their queue (list my group's tasks, claim one, it is
mine, another agent cannot complete or take it, the agent completes it). Plus the queue's
keyset paging (due date, nulls last) and the assignment decision table."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from om_graph.api import (
    CatalogContribution,
    OfferingDef,
    SpecificationDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)
from om_graph.app import create_app
from om_graph.core.access.actor import Actor
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.reconciler import Reconciler
from om_graph.core.kernel.errors import Conflict, DomainError
from om_graph.core.reads.work_queue import TaskQueueFilter
from tests import fixture_auto_pack, fixture_pack, support
from tests.support import AGENT
from tests.test_orchestration import drain, place, services  # noqa: F401  (the fixture)

GATE = threading.Event()  # the slow handler runs until the test opens it


def _slow(ctx):
    GATE.wait(30)
    return TaskOutcome({"slow": "done"})


class SlowPack:
    """An offering whose first task runs until the test lets it finish; a successor after it; and
    a manual review queued for the fulfilment agents from the start."""

    @hookimpl
    def om_register_catalog(self):
        return CatalogContribution(
            pack="wq-test",
            specifications=(
                SpecificationDef(
                    "wq.slow",
                    "product",
                    "Slow product",
                    tasks=(
                        TaskTemplate("wq.slow", "Slow step", handler="wq.slow"),
                        TaskTemplate("wq.after", "After the slow step", handler="wq.fast", depends_on=("wq.slow",)),
                        TaskTemplate("wq.review", "Review", kind="manual", role="order_fulfillment_agent"),
                    ),
                ),
            ),
            offerings=(OfferingDef("wq-slow", "Slow", "wq.slow", Decimal("1"), Decimal("1")),),
        )

    @hookimpl
    def om_register_task_handlers(self):
        return [
            TaskHandler("wq.slow", do=_slow, undo=lambda ctx: None),
            TaskHandler("wq.fast", do=lambda ctx: TaskOutcome({"fast": "done"}), undo=lambda ctx: None),
        ]


CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { field message code } } }"""
SUBMIT = """mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state } errors { code } } }"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state version holdReason pausedAt pausedSeconds
    lines { lineNumber state holdReason pausedSeconds informationRequired }
    domainOrders { tasks { id key state dueAt assignee assignmentGroup completedBy } }
  }
}"""
HOLD = """
mutation($input: OrderHoldInput!) {
  orderHold(input: $input) { order { id state holdReason pausedAt } errors { field message code } }
}"""
RESUME = """
mutation($input: OrderResumeInput!) {
  orderResume(input: $input) { order { id state holdReason pausedAt pausedSeconds } errors { field message code } }
}"""
LINE_HOLD = """
mutation($input: OrderLineHoldInput!) {
  orderLineHold(input: $input) { order { lines { lineNumber state holdReason } } errors { field message code } }
}"""
LINE_RESUME = """
mutation($input: OrderLineResumeInput!) {
  orderLineResume(input: $input) { order { lines { lineNumber state } } errors { field message code } }
}"""
COMPLETE = """
mutation($id: ID!, $chars: [CharacteristicInput!]) {
  taskComplete(input: {id: $id, characteristics: $chars}) { task { state completedBy assignee } errors { field code } }
}"""
TASKS = """
query($filter: TaskQueueFilterInput, $first: Int, $after: String) {
  tasks(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id key state assignee assignmentGroup } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CLAIM = """mutation($id: ID!) { taskClaim(input: {id: $id}) { task { id assignee assignedAt } errors { field code } } }"""
ASSIGN = """
mutation($id: ID!, $assignee: String) {
  taskAssign(input: {id: $id, assignee: $assignee}) { task { id assignee } errors { field code } }
}"""
MOVE = """
mutation($id: ID!, $group: String) {
  taskAssign(input: {id: $id, assignmentGroup: $group}) { task { assignee assignmentGroup } errors { field code } }
}"""
UNASSIGN = """
mutation($id: ID!) { taskAssign(input: {id: $id, assignee: null}) { task { assignee assignmentGroup } errors { field code } } }"""
RELEASE = """mutation($id: ID!) { taskRelease(input: {id: $id}) { task { id assignee } errors { field code } } }"""


def _token(runtime, name: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.tokens.issue(name, list(roles)).token}"}


@pytest.fixture
def world(make_runtime, database_url):
    GATE.clear()
    runtime = make_runtime(database_url, extra_plugins=(fixture_pack, fixture_auto_pack, SlowPack()))
    with TestClient(create_app(runtime=runtime)) as client:
        tokens = {
            "agent": _token(runtime, "agent", "order_agent"),
            "tech1": _token(runtime, "tech-1", "order_fulfillment_agent"),
            "tech2": _token(runtime, "tech-2", "order_fulfillment_agent"),
            "fallout": _token(runtime, "fa-1", "order_fallout_agent"),
            "manager": _token(runtime, "boss", "order_fulfillment_manager"),
        }
        yield client, runtime, tokens
    GATE.set()


def gql(client, headers, query, variables=None) -> dict:
    body = client.post("/graphql", headers=headers, json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _place(client, tokens, offering, characteristics=()) -> str:
    line = {"offering": offering, "characteristics": list(characteristics)}
    created = gql(client, tokens["agent"], CREATE, {"input": {"customerId": "WQ", "lines": [line]}})["orderCreate"]
    assert created["errors"] == [], created
    gql(client, tokens["agent"], SUBMIT, {"input": {"id": created["order"]["id"]}})
    return created["order"]["id"]


def _order(client, tokens, order_id) -> dict:
    return gql(client, tokens["manager"], ORDER, {"id": order_id})["order"]


def _tasks(order) -> dict[str, dict]:
    return {t["key"]: t for d in order["domainOrders"] for t in d["tasks"]}


def test_a_held_order_resumes(world):
    client, runtime, tokens = world
    order_id = _place(client, tokens, "wq-slow")
    running = support.wait_for(
        lambda: (o := _order(client, tokens, order_id)) and _tasks(o).get("wq.slow", {}).get("state") == "IN_PROGRESS" and o,
        30,
        message="the slow task to run",
    )
    review = _tasks(running)["wq.review"]
    assert (review["state"], review["assignmentGroup"]) == ("READY", "order_fulfillment_agent")
    due = datetime(2030, 1, 1)
    with runtime.services.sessions.begin() as s:  # an SLA on the open manual task, to watch the clock stop
        # its clock started long before the hold (a set due date with no SLA length)
        s.execute(update(Task).where(Task.key == "wq.review").values(due_at=due, planned_seconds=None))

    refused = client.post(
        "/graphql", headers=tokens["agent"], json={"query": HOLD, "variables": {"input": {"id": order_id, "reason": "x"}}}
    ).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # order agents do not hold orders
    bad = gql(client, tokens["manager"], HOLD, {"input": {"id": order_id, "reason": " "}})["orderHold"]
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [("reason", "REQUIRED")]
    stale = gql(client, tokens["manager"], HOLD, {"input": {"id": order_id, "reason": "x", "version": 1}})["orderHold"]
    assert [e["code"] for e in stale["errors"]] == ["CONFLICT"]
    held = gql(client, tokens["manager"], HOLD, {"input": {"id": order_id, "reason": "customer asked to wait"}})["orderHold"]
    assert held["errors"] == [] and held["order"]["state"] == "HELD"
    assert held["order"]["holdReason"] == "customer asked to wait" and held["order"]["pausedAt"]

    GATE.set()  # the running handler finishes: its result is recorded, its successor is not released
    support.wait_for(lambda: _tasks(_order(client, tokens, order_id))["wq.slow"]["state"] == "COMPLETED", 30)
    assert Reconciler(runtime.services.uow, runtime.services.registry, redispatch_after=0).run_once().tasks_requeued == 0
    during = _order(client, tokens, order_id)
    assert during["state"] == "HELD" and _tasks(during)["wq.after"]["state"] == "PENDING"
    blocked = gql(client, tokens["tech1"], COMPLETE, {"id": review["id"]})["taskComplete"]
    assert [e["code"] for e in blocked["errors"]] == ["HELD"]

    with runtime.services.sessions.begin() as s:  # as if held for an hour
        from om_graph.core.ordering.models import Order

        order_row = s.scalars(select(Order).where(Order.customer_id == "WQ")).one()
        order_row.paused_at = order_row.paused_at - timedelta(hours=1)
    resumed = gql(client, tokens["manager"], RESUME, {"input": {"id": order_id}})["orderResume"]
    assert resumed["errors"] == [] and resumed["order"]["state"] == "IN_PROGRESS"
    assert resumed["order"]["holdReason"] is None and resumed["order"]["pausedAt"] is None
    assert resumed["order"]["pausedSeconds"] >= 3600
    after = support.wait_for(
        lambda: (o := _order(client, tokens, order_id)) and _tasks(o)["wq.after"]["state"] == "COMPLETED" and o,
        30,
        message="the successor to run after the resume",
    )
    moved = datetime.fromisoformat(_tasks(after)["wq.review"]["dueAt"]).replace(tzinfo=None)
    assert timedelta(hours=1) <= moved - due < timedelta(hours=1, minutes=1)
    done = gql(client, tokens["tech1"], COMPLETE, {"id": review["id"]})["taskComplete"]
    assert done["errors"] == [] and done["task"]["state"] == "COMPLETED"
    support.wait_for(lambda: _order(client, tokens, order_id)["state"] == "COMPLETED", 30, message="the order to complete")


def test_a_held_line_and_resume_through_graphql(world):
    client, runtime, tokens = world
    GATE.set()
    order_id = _place(client, tokens, "wq-slow")
    support.wait_for(lambda: _order(client, tokens, order_id)["state"] == "IN_PROGRESS", 30)
    neither = gql(client, tokens["manager"], LINE_HOLD, {"input": {"orderId": order_id, "reason": "x"}})["orderLineHold"]
    assert [e["code"] for e in neither["errors"]] == ["INVALID"]
    missing = gql(client, tokens["manager"], LINE_HOLD, {"input": {"orderId": order_id, "lineNumber": 9, "reason": "x"}})
    assert [e["code"] for e in missing["orderLineHold"]["errors"]] == ["NOT_FOUND"]
    held = gql(client, tokens["manager"], LINE_HOLD, {"input": {"orderId": order_id, "lineNumber": 1, "reason": "site closed"}})
    assert held["orderLineHold"]["order"]["lines"] == [{"lineNumber": 1, "state": "HELD", "holdReason": "site closed"}]
    review = _tasks(_order(client, tokens, order_id))["wq.review"]
    blocked = gql(client, tokens["tech1"], COMPLETE, {"id": review["id"]})["taskComplete"]
    assert [e["code"] for e in blocked["errors"]] == ["HELD"]
    resumed = gql(client, tokens["manager"], LINE_RESUME, {"input": {"orderId": order_id, "lineNumber": 1}})["orderLineResume"]
    assert resumed["errors"] == [] and resumed["order"]["lines"][0]["state"] == "IN_PROGRESS"
    assert gql(client, tokens["tech1"], COMPLETE, {"id": review["id"]})["taskComplete"]["errors"] == []
    support.wait_for(lambda: _order(client, tokens, order_id)["state"] == "COMPLETED", 30, message="the order to complete")


def test_a_fulfilment_agent_works_their_queue(world):
    client, runtime, tokens = world
    order_id = _place(
        client, tokens, "test-internet", [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Queue St"}]
    )
    install = support.wait_for(
        lambda: (t := _tasks(_order(client, tokens, order_id)).get("test.install")) and t["state"] == "READY" and t,
        30,
        message="the installation to be ready",
    )
    # The template names no role: the assignment table's default group.
    assert (install["assignmentGroup"], install["assignee"]) == ("order_fulfillment_agent", None)

    mine = {"filter": {"myGroups": True, "unassigned": True, "orderId": order_id}}
    queue = gql(client, tokens["tech1"], TASKS, mine)["tasks"]
    assert [e["node"]["id"] for e in queue["edges"]] == [install["id"]]
    assert gql(client, tokens["fallout"], TASKS, mine)["tasks"]["edges"] == []  # not the fallout agents' group
    bad = client.post("/graphql", headers=tokens["tech1"], json={"query": TASKS, "variables": {"after": "bm9wZQ=="}}).json()
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"  # as for fallouts(after:)
    due = {"filter": {"myGroups": True, "dueBefore": "2999-01-01T00:00:00+02:00"}}  # an offset: converted to UTC
    assert [e["node"]["id"] for e in gql(client, tokens["tech1"], TASKS, due)["tasks"]["edges"]] == [
        e["node"]["id"] for e in gql(client, tokens["tech1"], TASKS, {"filter": {"myGroups": True}})["tasks"]["edges"]
    ]
    wrong_group = gql(client, tokens["fallout"], CLAIM, {"id": install["id"]})["taskClaim"]
    assert [e["code"] for e in wrong_group["errors"]] == ["NOT_IN_GROUP"]

    claimed = gql(client, tokens["tech1"], CLAIM, {"id": install["id"]})["taskClaim"]
    assert claimed["errors"] == [] and claimed["task"]["assignee"] == "token:tech-1" and claimed["task"]["assignedAt"]
    again = gql(client, tokens["tech1"], CLAIM, {"id": install["id"]})["taskClaim"]
    assert again["errors"] == []  # one's own: nothing changes
    listed = gql(client, tokens["tech1"], TASKS, {"filter": {"mine": True}})["tasks"]["edges"]
    assert [e["node"]["id"] for e in listed] == [install["id"]]
    assert gql(client, tokens["tech1"], TASKS, {"filter": {"assignee": "ME"}})["tasks"]["edges"] == listed
    assert gql(client, tokens["tech1"], TASKS, mine)["tasks"]["edges"] == []  # no longer unassigned

    chars = [{"name": "ontSerial", "value": "ONT-42"}]
    other = gql(client, tokens["tech2"], COMPLETE, {"id": install["id"], "chars": chars})["taskComplete"]
    assert [e["code"] for e in other["errors"]] == ["NOT_ASSIGNEE"]
    taken = gql(client, tokens["tech2"], CLAIM, {"id": install["id"]})["taskClaim"]
    assert [e["code"] for e in taken["errors"]] == ["CONFLICT"]
    not_theirs = gql(client, tokens["tech2"], RELEASE, {"id": install["id"]})["taskRelease"]
    assert [e["code"] for e in not_theirs["errors"]] == ["NOT_ASSIGNEE"]
    forbidden = client.post(
        "/graphql",
        headers=tokens["tech2"],
        json={"query": ASSIGN, "variables": {"id": install["id"], "assignee": "token:tech-2"}},
    ).json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # A manager moves it to tech-2 and back; tech-1 releases and claims it again.
    assert gql(client, tokens["manager"], ASSIGN, {"id": install["id"], "assignee": "token:tech-2"})["taskAssign"]["task"] == {
        "id": install["id"],
        "assignee": "token:tech-2",
    }
    gql(client, tokens["manager"], ASSIGN, {"id": install["id"], "assignee": "token:tech-1"})
    # Moving it to another group keeps its assignee when none is given; an unknown group is refused.
    moved = gql(client, tokens["manager"], MOVE, {"id": install["id"], "group": "order_fallout_agent"})["taskAssign"]
    assert moved["errors"] == [] and moved["task"] == {"assignee": "token:tech-1", "assignmentGroup": "order_fallout_agent"}
    typo = gql(client, tokens["manager"], MOVE, {"id": install["id"], "group": "order_fulfilment_agnet"})["taskAssign"]
    assert typo["errors"] == [{"field": "assignmentGroup", "code": "NOT_IN_GROUP"}] and typo["task"] is None
    back = gql(client, tokens["manager"], MOVE, {"id": install["id"], "group": "order_fulfillment_agent"})["taskAssign"]
    assert back["task"] == {"assignee": "token:tech-1", "assignmentGroup": "order_fulfillment_agent"}
    nothing = gql(client, tokens["manager"], MOVE, {"id": install["id"]})["taskAssign"]
    assert nothing["errors"] == [{"field": "assignee", "code": "REQUIRED"}]
    unassigned = gql(client, tokens["manager"], UNASSIGN, {"id": install["id"]})["taskAssign"]["task"]
    assert unassigned == {"assignee": None, "assignmentGroup": "order_fulfillment_agent"}
    assert gql(client, tokens["manager"], ASSIGN, {"id": install["id"], "assignee": "token:tech-1"})["taskAssign"]["errors"] == []
    assert gql(client, tokens["tech1"], RELEASE, {"id": install["id"]})["taskRelease"]["task"]["assignee"] is None
    assert gql(client, tokens["tech1"], CLAIM, {"id": install["id"]})["taskClaim"]["task"]["assignee"] == "token:tech-1"

    done = gql(client, tokens["tech1"], COMPLETE, {"id": install["id"], "chars": chars})["taskComplete"]
    assert done["errors"] == [] and done["task"]["state"] == "COMPLETED" and done["task"]["completedBy"] == "token:tech-1"
    support.wait_for(lambda: _order(client, tokens, order_id)["state"] == "COMPLETED", 30, message="the order to complete")
    assert gql(client, tokens["tech1"], TASKS, {"filter": {"mine": True}})["tasks"]["edges"] == []  # done: off the queue
    finished = gql(client, tokens["tech1"], TASKS, {"filter": {"mine": True, "states": ["COMPLETED"]}})["tasks"]["edges"]
    assert [e["node"]["id"] for e in finished] == [install["id"]]


# -- core: paging and the implicit claim ---------------------------------------------------------

STAFF = Actor("staff", frozenset({"order_fulfillment_agent", "order_manager"}))


@pytest.fixture
def svc(services):  # noqa: F811  (the fixture of tests/test_orchestration.py)
    return services


def test_the_queue_pages_by_due_date_nulls_last_without_gaps_or_repeats(svc):
    for _ in range(3):
        place(svc)
        drain(svc)
    base = datetime(2030, 1, 1)
    due_of: dict[int, datetime | None] = {}
    with svc.sessions.begin() as s:
        ids = s.scalars(select(Task.id).where(Task.state.in_(("ready", "pending"))).order_by(Task.id)).all()
        for i, task_id in enumerate(ids):
            due_of[task_id] = None if i % 3 == 0 else base + timedelta(hours=(i * 7) % 5)  # ties and nulls
            group = ("order_fulfillment_agent", "order_manager")[i % 2]  # the staff actor's two roles
            values = {"due_at": due_of[task_id], "state": "ready", "assignment_group": group, "assignee": None}
            s.execute(update(Task).where(Task.id == task_id).values(**values))
    assert len(ids) >= 9
    every = TaskQueueFilter(states=("ready",))
    expected = sorted(ids, key=lambda i: (due_of[i] is None, due_of[i] or base, i))

    def walk(f, sort, first):
        seen, after = [], None
        while True:
            page = svc.work_queue.tasks(STAFF, f, first=first, after=after, sort=sort)
            seen += [row.id for row in page.items]
            if not page.has_next:
                return seen
            after = page.end_cursor

    for sort, order in (("due", expected), ("id", sorted(ids))):
        for first in (1, 2, 5):
            assert walk(every, sort, first) == order, (sort, first)
            # The same through the per-group lanes (merged from one ordered read per group and state).
            lanes = TaskQueueFilter(states=("ready", "inProgress"), my_groups=True, unassigned=True)
            assert walk(lanes, sort, first) == order, ("lanes", sort, first)
    one_group = TaskQueueFilter(states=("ready",), assignment_group="order_manager")
    assert walk(one_group, "due", 2) == [i for i in expected if ids.index(i) % 2]
    with pytest.raises(DomainError) as bad:
        svc.work_queue.tasks(STAFF, every, after="not-a-cursor")
    assert bad.value.errors[0].field == "after"
    customer = Actor("c", frozenset({"customer"}), account_id="ACME")
    with pytest.raises(DomainError):
        svc.work_queue.tasks(customer, every)


def test_completing_an_unassigned_task_claims_it_and_a_claimed_one_conflicts(svc):
    order_id = place(svc)
    drain(svc)
    with svc.sessions() as s:
        install = s.scalars(select(Task).where(Task.order_id == order_id, Task.key == "test.install")).one()
    assert install.assignment_group == "order_fulfillment_agent"
    svc.work_queues.claim(STAFF, install.id)
    with pytest.raises(Conflict):
        svc.work_queues.claim(AGENT, install.id)
    svc.work_queues.release(STAFF, install.id)
    svc.processing.complete_task(AGENT, install.id, {"ontSerial": "S1"})
    with svc.sessions() as s:
        done = s.get(Task, install.id)
        assert (done.state, done.assignee, done.completed_by) == ("completed", AGENT.label, AGENT.label)


def test_the_assignment_table_queues_a_manual_task_without_a_role(svc):
    import dataclasses

    from om_graph.core.decisions.definitions import Condition, Rule
    from om_graph.core.fulfilment.queues import ASSIGNMENT_TABLE_DEF

    admin = Actor("admin-1", frozenset({"process_admin"}))
    rules = (Rule(when={"taskKey": Condition.equals("test.install")}, then={"group": "field_engineer"}),)
    view = svc.decisions.update_draft(admin, dataclasses.replace(ASSIGNMENT_TABLE_DEF, rules=rules))
    svc.decisions.activate(admin, ASSIGNMENT_TABLE_DEF.name, view.versions[0].number, reason="engineers install")
    order_id = place(svc)
    drain(svc)
    with svc.sessions() as s:
        install = s.scalars(select(Task).where(Task.order_id == order_id, Task.key == "test.install")).one()
    assert (install.state, install.assignment_group) == ("ready", "field_engineer")
    engineer = Actor("eng-1", frozenset({"field_engineer", "order_fulfillment_agent"}))
    page = svc.work_queue.tasks(engineer, TaskQueueFilter(my_groups=True, unassigned=True, order_id=order_id))
    assert [row.id for row in page.items] == [install.id]
    with pytest.raises(DomainError) as refused:
        svc.work_queues.claim(Actor("tech-9", frozenset({"order_fulfillment_agent"})), install.id)
    assert refused.value.errors[0].code == "NOT_IN_GROUP"
    assert svc.work_queues.claim(engineer, install.id).assignee == "eng-1"
