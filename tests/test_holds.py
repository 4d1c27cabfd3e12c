"""Hold, resume and pending (core/fulfilment/holds.py) through the core services: a held order or
line claims, releases and completes nothing until resumed; pending records the TMF622
InformationRequired event; pauses move due dates by exactly the time paused (a property over
overlapping order and line pauses)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from om_graph.core.access.actor import Actor
from om_graph.core.fulfilment import holds
from om_graph.core.fulfilment.holds import LineRef
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.reconciler import Reconciler
from om_graph.core.kernel.errors import DomainError, InvalidTransition, ValidationFailed
from om_graph.core.kernel.models import EventRecord
from om_graph.core.ordering.models import Order, OrderLine
from tests.support import AGENT
from tests.test_orchestration import drain, load, place, services  # noqa: F401  (the fixture)

FULFILMENT_AGENT = Actor("tech-1", frozenset({"order_fulfillment_agent"}))


@pytest.fixture
def svc(services):  # noqa: F811  (the fixture of tests/test_orchestration.py)
    return services


def _task(svc, order_id, key) -> Task:
    with svc.sessions() as s:
        return s.scalars(select(Task).where(Task.order_id == order_id, Task.key == key)).one()


def _backdate(svc, model, row_id, seconds):
    """Move a pause's start into the past (as if it had lasted ``seconds``)."""
    with svc.sessions.begin() as s:
        row = s.get(model, row_id)
        row.paused_at = row.paused_at - timedelta(seconds=seconds)


def test_a_held_order_claims_and_completes_nothing_until_resumed(svc):
    order_id = place(svc)
    drain(svc)  # the automatic work before the installer has run; the manual install is ready
    install = _task(svc, order_id, "test.install")
    assert install.state == "ready"
    due = datetime(2030, 1, 1)
    with svc.sessions.begin() as s:
        # its clock started long before the hold (a set due date with no SLA length)
        s.execute(update(Task).where(Task.id == install.id).values(due_at=due, planned_seconds=None))

    with pytest.raises(ValidationFailed) as refused:
        svc.holds.hold_order(AGENT, order_id, "  ")
    assert refused.value.errors[0].field == "reason"
    with pytest.raises(DomainError) as forbidden:
        svc.holds.hold_order(FULFILMENT_AGENT, order_id, "customer asked")
    assert forbidden.value.code == "FORBIDDEN"

    held = svc.holds.hold_order(AGENT, order_id, "customer asked to wait")
    assert (held.state, held.hold_reason) == ("held", "customer asked to wait")
    assert held.paused_at is not None
    with pytest.raises(InvalidTransition) as blocked:
        svc.processing.complete_task(AGENT, install.id, {"ontSerial": "S1"})
    assert blocked.value.code == "HELD"
    with pytest.raises(InvalidTransition):
        svc.holds.hold_order(AGENT, order_id, "twice")  # already held

    _backdate(svc, Order, order_id, 3600)
    resumed = svc.holds.resume_order(AGENT, order_id)
    assert (resumed.state, resumed.hold_reason, resumed.paused_at) == ("inProgress", None, None)
    assert 3599 <= resumed.paused_seconds <= 3601
    moved = _task(svc, order_id, "test.install").due_at
    assert abs((moved - due).total_seconds() - 3600) < 2  # the clock stopped while held

    drain(svc, manual_chars={"ontSerial": "S1"})
    order = load(svc, order_id)
    assert order.state == "completed"
    kinds = [(e.entity_kind, e.payload.get("event")) for e in order.events if e.event_type == "ProductOrderStateChangeEvent"]
    assert ("order", "hold") in kinds and ("order", "resume") in kinds


def test_a_held_line_is_neither_claimed_nor_redispatched_and_resumes(svc):
    order_id = place(svc, {}, {})
    svc.processing.process(order_id)  # decomposed and started; the first wave is left to an advance job
    svc.holds.hold_line(AGENT, order_id, LineRef(line_number=1), "site not ready")
    drain(svc)
    order = load(svc, order_id)
    by_line = {line.line_number: line.state for line in order.lines}
    assert by_line == {1: "held", 2: "inProgress"}  # line 2 waits for its installer only
    with svc.sessions() as s:
        line1 = s.scalars(select(OrderLine.id).where(OrderLine.order_id == order_id, OrderLine.line_number == 1)).one()
        held_tasks = s.scalars(
            select(Task).join(DomainOrder, DomainOrder.id == Task.domain_order_id).where(DomainOrder.line_id == line1)
        ).all()
    assert {t.state for t in held_tasks} <= {"ready", "pending"}  # nothing of it ran
    assert all(t.attempts == 0 for t in held_tasks)
    # The reconciler does not re-send work that would only find the line held.
    assert Reconciler(svc.uow, svc.registry, redispatch_after=0).run_once().tasks_requeued == 0

    with pytest.raises(ValidationFailed):
        svc.holds.resume_line(AGENT, order_id, LineRef())
    svc.holds.resume_line(AGENT, order_id, LineRef(line_id=line1))
    drain(svc, manual_chars={"ontSerial": "S2"})
    assert load(svc, order_id).state == "completed"


def test_pending_records_information_required_and_resumes(svc):
    order_id = place(svc)
    svc.processing.process(order_id)
    paths = ["productOrderItem[1].product.productCharacteristic[installationDate]"]
    with svc.uow() as uow:
        session = svc.orchestrator.open(uow, order_id)
        with session:
            line = session.plan.lines[0]
            holds.await_information(session, line, paths, "installation date unknown")
            assert holds.is_paused(session.order, line) and holds.order_paused(session.plan)
            assert not holds.is_held(session.order, line)
    with svc.sessions() as s:
        line = s.scalars(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        assert (line.state, line.information_required) == ("pending", paths)
        [event] = s.scalars(select(EventRecord).where(EventRecord.event_type == "ProductOrderInformationRequiredEvent")).all()
        assert event.payload["fieldPath"] == paths and event.payload["reason"] == "installation date unknown"
    _backdate(svc, OrderLine, line.id, 120)
    drain(svc, manual_chars={"ontSerial": "S3"})  # built work runs while pending; the line cannot complete
    assert load(svc, order_id).lines[0].state == "pending"
    with svc.uow() as uow:
        session = svc.orchestrator.open(uow, order_id)
        with session:
            holds.information_provided(session, session.plan.lines[0])
            with pytest.raises(InvalidTransition):
                holds.information_provided(session, session.plan.lines[0])
    order = load(svc, order_id)
    assert order.state == "completed" and order.lines[0].state == "completed"
    # the backdated 120 s plus the real time the drain took (seconds on a loaded machine)
    assert order.lines[0].information_required is None and 119 <= order.lines[0].paused_seconds <= 180


# -- the clock: overlapping pauses of an order and its line move due dates by their union --------

T0 = datetime(2030, 1, 1)


class _Session:
    def __init__(self, plan):
        self.plan = plan
        self.automatic_work_ready = False


@settings(max_examples=200, deadline=None)
@given(
    order_pause=st.tuples(st.integers(0, 100), st.integers(1, 100)),
    line_pause=st.tuples(st.integers(0, 100), st.integers(1, 100)),
)
def test_overlapping_pauses_move_due_dates_by_their_union(order_pause, line_pause):
    order = Order(id=1, state="held", paused_seconds=0)
    line = OrderLine(id=1, line_number=1, state="held", paused_seconds=0)
    domain_order = DomainOrder(id=1, line_id=1, state="inProgress", due_at=T0)
    task = Task(id=1, domain_order_id=1, kind="manual", state="ready", due_at=T0)
    session = _Session(OrderPlan(order, [line], [domain_order], {1: task}))
    (o_start, o_len), (l_start, l_len) = order_pause, line_pause
    moments = sorted(
        [(o_start, "pause", order), (o_start + o_len, "end", order), (l_start, "pause", line), (l_start + l_len, "end", line)],
        key=lambda m: (m[0], m[1] == "pause"),  # an end before a start at the same second
    )
    with pytest.MonkeyPatch.context() as patch:
        for second, what, entity in moments:
            patch.setattr(holds, "utcnow", lambda second=second: T0 + timedelta(seconds=second))
            if what == "pause":
                entity.paused_at = T0 + timedelta(seconds=second)
            else:
                holds._end_pause(session, entity)  # type: ignore[arg-type]
    covered = set(range(o_start, o_start + o_len)) | set(range(l_start, l_start + l_len))
    assert (task.due_at - T0).total_seconds() == len(covered)
    assert (domain_order.due_at - T0).total_seconds() == len(covered)
    assert (order.paused_seconds, line.paused_seconds) == (o_len, l_len)


@pytest.mark.parametrize("state", ["ready", "inProgress", "onHold"])
def test_a_pause_moves_every_task_whose_clock_runs_including_fallout(state):
    line = OrderLine(id=1, line_number=1, state="held", paused_seconds=0, paused_at=T0)
    order = Order(id=1, state="inProgress", paused_seconds=0)
    task = Task(id=1, domain_order_id=1, kind="automatic", state=state, due_at=T0, planned_seconds=None)
    session = _Session(OrderPlan(order, [line], [DomainOrder(id=1, line_id=1, state="inProgress")], {1: task}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(holds, "utcnow", lambda: T0 + timedelta(seconds=60))
        holds._end_pause(session, line)  # type: ignore[arg-type]
    assert task.due_at == T0 + timedelta(seconds=60)


def test_a_task_released_during_a_pause_moves_only_by_the_part_after_its_release():
    """Its clock started (release: due_at = released + planned_seconds) 40 s into a 100 s pause."""
    line = OrderLine(id=1, line_number=1, state="pending", paused_seconds=0, paused_at=T0)
    order = Order(id=1, state="inProgress", paused_seconds=0)
    released = T0 + timedelta(seconds=40)
    task = Task(id=1, domain_order_id=1, kind="manual", state="ready", planned_seconds=3600)
    task.due_at = released + timedelta(seconds=3600)
    session = _Session(OrderPlan(order, [line], [DomainOrder(id=1, line_id=1, state="inProgress")], {1: task}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(holds, "utcnow", lambda: T0 + timedelta(seconds=100))
        holds._end_pause(session, line)  # type: ignore[arg-type]
    assert task.due_at == released + timedelta(seconds=3600 + 60)  # not the whole 100 s
