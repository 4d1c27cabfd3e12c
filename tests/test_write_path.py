"""The write path (core/kernel/uow.py): the database bumps an order's change_seq once per
transaction whatever writes its rows, bookkeeping bumps nothing, the unit of work's bulk insert
leaves ordinary persistent objects, events and jobs leave only after commit, and reserved ids."""

from __future__ import annotations

import ast
import pathlib
import re
import threading

import pytest
from sqlalchemy import select, text, update

import om_graph.core
from om_graph.core.access.actor import SYSTEM_ACTOR as SYSTEM
from om_graph.core.fulfilment.dispatch import forget_dispatch
from om_graph.core.fulfilment.models import Task
from om_graph.core.inventory.models import Agreement, Product
from om_graph.core.kernel.ids import reserve_ids
from om_graph.core.kernel.models import (
    BOOKKEEPING_COLUMNS,
    BUMPED_BY_THEIR_WRITER,
    CHANGE_MARK_COLUMNS,
    ORDER_ROWS,
    ORDER_TABLE,
    Base,
    EventRecord,
)
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, Job, RecordingJobSink
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order, OrderLine
from tests import test_orchestration
from tests.support import AGENT

services, drain = test_orchestration.services, test_orchestration.drain  # the same fixture and job runner


def _engine(svc):
    return svc.sessions.kw["bind"]


def completed_order(svc) -> int:
    """An order with a row in every table an order's detail shows (an entitlement, an enrichment
    task and an approval step added by hand: the test packs' offerings and policies give none)."""
    lines = (LineInput("test-internet", characteristics={"speed": 100, "address": "x"}), LineInput("test-licence"))
    order = svc.orders.create(AGENT, OrderInput("ACME", lines), submit=True)
    drain(svc, manual_chars={"ontSerial": "S1"})
    with _engine(svc).begin() as conn:
        product = conn.execute(select(Product.id, Product.agreement_id).where(Product.order_id == order.id)).first()
        assert product.agreement_id is not None, "the order did not complete"
        conn.execute(
            text(
                "INSERT INTO entitlement (customer_id, product_id, agreement_id, name, quantity, unit, status, created_at)"
                " VALUES ('ACME', :p, :a, 'seats', 1, 'seat', 'active', CURRENT_TIMESTAMP)"
            ),
            {"p": product.id, "a": product.agreement_id},
        )
        # The lifecycle's rows (the test packs' policies ask for no enrichment task or approval).
        conn.execute(
            text(
                "INSERT INTO enrichment_task (order_id, line_id, line_number, key, name, role, state, capture, captured,"
                " created_at) VALUES (:o, NULL, 1, 'survey', 'Survey', 'order_fulfillment_agent', 'completed', '[]', '{}',"
                " CURRENT_TIMESTAMP)"
            ),
            {"o": order.id},
        )
        conn.execute(
            text(
                "INSERT INTO order_approval (order_id, round, level, levels, role, reasons, state, created_at)"
                " VALUES (:o, 1, 1, 1, 'order_approver', 'policy', 'approved', CURRENT_TIMESTAMP)"
            ),
            {"o": order.id},
        )
        # Fulfilment control's rows (0014).
        conn.execute(
            text("INSERT INTO completion_estimate (order_id, reason, recorded_at) VALUES (:o, 'planned', CURRENT_TIMESTAMP)"),
            {"o": order.id},
        )
        conn.execute(
            text(
                "INSERT INTO fallout (order_id, fallout_type, priority, state, version, created_at, updated_at)"
                " VALUES (:o, 'provisioning', 3, 'closed', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"o": order.id},
        )
        conn.execute(
            text(
                "INSERT INTO decomposition_wait (order_id, line_id, spec_key, unit_index, characteristic, state, created_at)"
                " SELECT order_id, id, spec_key, 0, 'x', 'released', CURRENT_TIMESTAMP FROM order_line WHERE order_id = :o"
            ),
            {"o": order.id},
        )
        # Change management's rows (0015).
        conn.execute(
            text(
                "INSERT INTO order_version (order_id, number, snapshot, created_by, created_at)"
                " VALUES (:o, 99, '{}', 'test', CURRENT_TIMESTAMP)"
            ),
            {"o": order.id},
        )
        conn.execute(
            text(
                "INSERT INTO order_revision (order_id, state, base_version, reason, requested_by, changes, ponr_acknowledged,"
                " version, created_at, updated_at) VALUES (:o, 'rejected', 1, 'test', 'test', '{}', false, 1, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            {"o": order.id},
        )
        conn.execute(
            text(
                "INSERT INTO cancel_request (order_id, state, cancellation_reason, ponr_acknowledged, requested_by, version,"
                " created_at, updated_at) VALUES (:o, 'done', 'test', false, 'test', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"o": order.id},
        )
        conn.execute(
            text(
                "INSERT INTO product_status_change (product_id, event, to_status, actor, at)"
                " VALUES (:p, 'activate', 'active', 'test', CURRENT_TIMESTAMP)"
            ),
            {"p": product.id},
        )
    return order.id


def change_seq(svc, order_id: int) -> int:
    with _engine(svc).connect() as conn:
        return conn.execute(select(Order.change_seq).where(Order.id == order_id)).scalar_one()


def _order_filter(table: str) -> str:
    how = ORDER_ROWS[table]
    if isinstance(how, str):
        return f"{how} = :order_id"
    parent, column = how
    return f"{column} IN (SELECT id FROM {parent} WHERE order_id = :order_id)"


def _a_detail_column(table: str) -> str:
    table_ = Base.metadata.tables[table]
    return next(
        c.name
        for c in table_.columns
        if not c.primary_key and not c.foreign_keys and c.name not in BOOKKEEPING_COLUMNS.get(table, ())
    )


def test_a_core_statement_on_any_row_of_an_order_bumps_its_change_seq_once_per_transaction(services):
    order_id = completed_order(services)
    for table in set(ORDER_ROWS) - BUMPED_BY_THEIR_WRITER:
        column = _a_detail_column(table)
        before = change_seq(services, order_id)
        with _engine(services).begin() as conn:  # plain Core: no unit of work, no lock_order
            for _ in range(2):
                changed = conn.execute(
                    text(f"UPDATE {table} SET {column} = {column} WHERE {_order_filter(table)}"), {"order_id": order_id}
                )
                assert changed.rowcount >= 1, f"no {table} row for the order"
        assert change_seq(services, order_id) == before + 1, table
    before = change_seq(services, order_id)
    with _engine(services).begin() as conn:  # every table, and the order row itself, in one transaction
        for table in ORDER_ROWS:
            column = _a_detail_column(table)
            conn.execute(text(f"UPDATE {table} SET {column} = {column} WHERE {_order_filter(table)}"), {"order_id": order_id})
        conn.execute(update(Order).where(Order.id == order_id).values(description="changed"))
        conn.execute(
            text("DELETE FROM order_event WHERE id = (SELECT min(id) FROM order_event WHERE order_id = :o)"), {"o": order_id}
        )
    assert change_seq(services, order_id) == before + 1


def test_events_have_one_writer_which_bumps_orders_not_marked_yet(services):
    """order_event has no trigger (migration 0010): UnitOfWork._write_events is its one writer
    (the DML scan below) and bumps, once, the orders of its events that nothing marked yet."""
    order_id = completed_order(services)
    other = completed_order(services)
    before, other_before = change_seq(services, order_id), change_seq(services, other)
    with services.uow() as uow:  # events only, no lock: the writer bumps both orders once
        order, second = uow.session.get(Order, order_id), uow.session.get(Order, other)
        for n in range(2):
            _event(uow, order, n)
        _event(uow, second, 0)
    assert (change_seq(services, order_id), change_seq(services, other)) == (before + 1, other_before + 1)
    with services.uow() as uow:  # locked: the lock's bump is the one
        _event(uow, lock_order(uow, order_id), 3)
    assert change_seq(services, order_id) == before + 2
    with _engine(services).connect() as conn:
        assert not [t for t in _live_triggers(conn) if t in BUMPED_BY_THEIR_WRITER]
    built = [
        path.relative_to(CORE).as_posix()
        for path in sorted(CORE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "EventRecord"
    ]
    assert not built, f"events are written only by UnitOfWork._write_events, not as ORM objects: {built}"


def test_an_update_of_the_order_row_bumps_once_and_the_lock_takes_part(services):
    order_id = completed_order(services)
    before = change_seq(services, order_id)
    with _engine(services).begin() as conn:
        conn.execute(update(Order).where(Order.id == order_id).values(description="a"))
        conn.execute(update(Order).where(Order.id == order_id).values(description="b"))
    assert change_seq(services, order_id) == before + 1
    with services.uow() as uow:
        order = lock_order(uow, order_id)
        assert order.change_seq == before + 2
        uow.session.execute(update(Task).where(Task.order_id == order_id).values(jeopardy="critical"))
        order.description = "c"
    assert change_seq(services, order_id) == before + 2


def test_bookkeeping_bumps_nothing(services):
    order_id = completed_order(services)
    before = change_seq(services, order_id)
    with _engine(services).begin() as conn:
        conn.execute(update(Order.__table__).where(Order.id == order_id).values(processing_dispatched_at=None))
        conn.execute(update(Task.__table__).where(Task.order_id == order_id).values(dispatched_at=None))
    with services.sessions() as session, session.begin():
        forget_dispatch(session, [Job(PROCESS_ORDER, {"order_id": order_id}), Job(ADVANCE_ORDER, {"order_id": order_id})])
    assert change_seq(services, order_id) == before


def test_an_entitlement_or_a_dependency_bumps_the_order_that_shows_it(services):
    order_id = completed_order(services)
    before = change_seq(services, order_id)
    with _engine(services).begin() as conn:
        conn.execute(
            text(f"UPDATE entitlement SET status = 'revoked' WHERE {_order_filter('entitlement')}"), {"order_id": order_id}
        )
    assert change_seq(services, order_id) == before + 1
    with _engine(services).begin() as conn:
        conn.execute(text(f"DELETE FROM task_dependency WHERE {_order_filter('task_dependency')}"), {"order_id": order_id})
    assert change_seq(services, order_id) == before + 2


def _live_triggers(conn) -> dict[str, dict[str, set[str] | None]]:
    """table -> operation -> the UPDATE OF columns (None for insert/delete), as the database has them."""
    found: dict = {}
    if conn.dialect.name == "sqlite":
        for (sql,) in conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")):
            m = re.match(r"CREATE TRIGGER \w+ (?:BEFORE|AFTER) (INSERT|DELETE|UPDATE OF (.+?)) ON (\w+)", sql)
            operation = m.group(1).split()[0].lower()
            found.setdefault(m.group(3), {})[operation] = {c.strip() for c in m.group(2).split(",")} if m.group(2) else None
        return found
    rows = conn.execute(
        text(
            "SELECT c.relname, t.tgtype, ARRAY(SELECT a.attname FROM unnest(t.tgattr) k"
            " JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k)"
            " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
        )
    )
    for table, tgtype, columns in rows:
        ops = found.setdefault(table, {})
        for bit, operation in ((4, "insert"), (8, "delete")):
            if tgtype & bit:
                ops[operation] = None
        if tgtype & 16:
            ops["update"] = set(columns)
    return found


def _tables_reaching_an_order() -> set[str]:
    """Every table whose rows point, through foreign keys, at an order."""
    reach = {ORDER_TABLE}
    while True:
        more = {t.name for t in Base.metadata.tables.values() if any(fk.column.table.name in reach for fk in t.foreign_keys)}
        if more <= reach:
            return reach - {ORDER_TABLE}
        reach |= more


def test_every_table_an_order_shows_has_triggers_over_every_column_but_bookkeeping(services):
    assert _tables_reaching_an_order() <= set(ORDER_ROWS), "a table pointing at an order needs a place in ORDER_ROWS"
    with _engine(services).connect() as conn:
        live = _live_triggers(conn)
    for table in [ORDER_TABLE, *(t for t in ORDER_ROWS if t not in BUMPED_BY_THEIR_WRITER)]:
        columns = {c.name for c in Base.metadata.tables[table].columns} - BOOKKEEPING_COLUMNS.get(table, frozenset())
        if table == ORDER_TABLE:
            assert live[table] == {"update": columns - CHANGE_MARK_COLUMNS}, "rebuild the triggers (migrations/change_seq.py)"
        else:
            assert live[table] == {"insert": None, "update": columns, "delete": None}, table


def test_rows_added_in_bulk_are_persistent_so_a_later_change_is_written(services):
    with services.uow() as uow:
        [order_id] = reserve_ids(uow.session, Order, 1)
        order = Order(id=order_id, customer_id="ACME", state="draft", created_by="t")
        line = OrderLine(
            order_id=order_id, line_number=1, action="add", offering_key="test-licence", spec_key="test.licence", quantity=1,
            characteristics={}, state="pending", unit_one_time_price=0, unit_recurring_price=0,
        )  # fmt: skip
        uow.add_new([order, line])
        assert line.id is not None  # reserved by add_new
        line.quantity, order.description = 3, "changed after the insert"
    with services.sessions() as s:
        assert s.get(OrderLine, line.id).quantity == 3
        stored = s.get(Order, order_id)
        assert stored.description == "changed after the insert"
        assert stored.change_seq == 0  # created, then changed, in one transaction: nothing to bump


def test_the_plan_is_not_reattached_after_another_writer_changed_only_a_child_row(services):
    """The plan re-attach (fulfilment's plan session) takes its previous order back only when
    ``lock_order(known=...)`` answers with that same object: when each transaction since bumped once."""
    order = services.orders.create(
        AGENT, OrderInput("ACME", (LineInput("test-internet", characteristics={"speed": 100, "address": "x"}),))
    )
    services.orders.submit(AGENT, order.id)
    drain(services)
    with services.uow() as uow:
        first = lock_order(uow, order.id)
    with services.uow() as uow:
        assert lock_order(uow, order.id, known=first) is first  # nobody wrote since: re-attached
    with _engine(services).begin() as conn:  # another writer: one Core statement on a task, no lock
        conn.execute(update(Task.__table__).where(Task.order_id == order.id).values(error_message="changed elsewhere"))
    with services.uow() as uow:
        fresh = lock_order(uow, order.id, known=first)
        assert fresh is not None and fresh is not first
        assert fresh.change_seq == first.change_seq + 2


# -- the unit of work ------------------------------------------------------------------------


class _FailingSink:
    def send(self, jobs):
        raise ConnectionError("broker down")

    def publish(self, events):
        raise ConnectionError("bus down")


class _Recorder:
    def __init__(self):
        self.published = []

    def publish(self, events):
        self.published.extend(events)


def _event(uow, order, n):
    uow.record(order, "test.event", entity_kind="order", entity_id=order.id, actor=SYSTEM, payload={"n": n})


def test_events_are_numbered_in_commit_order_and_jobs_and_events_leave_only_after_commit(services):
    order_id = completed_order(services)
    jobs, events = RecordingJobSink(), _Recorder()
    with services.sessions() as s:
        start = s.scalar(select(EventRecord.sequence).order_by(EventRecord.sequence.desc()).limit(1))
    for batch in (3, 2):
        announced = len(events.published)
        with UnitOfWork(services.sessions, jobs, events) as uow:
            order = lock_order(uow, order_id)
            for n in range(batch):
                _event(uow, order, n)
            uow.enqueue(Job(ADVANCE_ORDER, {"order_id": order_id}))
            uow.enqueue(Job(ADVANCE_ORDER, {"order_id": order_id}))  # once per transaction
            assert jobs.jobs == [] and len(events.published) == announced  # nothing leaves before commit
        assert len(jobs.take()) == 1
    assert [e.sequence for e in events.published] == list(range(start + 1, start + 6))
    with pytest.raises(RuntimeError), UnitOfWork(services.sessions, jobs, events) as uow:
        _event(uow, lock_order(uow, order_id), 9)
        uow.enqueue(Job(ADVANCE_ORDER, {"order_id": order_id}))
        raise RuntimeError("rolled back")
    assert jobs.take() == [] and len(events.published) == 5
    with services.sessions() as s:  # the rolled-back block was given back: no gap
        assert s.scalar(select(EventRecord.sequence).order_by(EventRecord.sequence.desc()).limit(1)) == start + 5


def test_a_failed_send_after_commit_does_not_fail_the_caller(services):
    order_id = completed_order(services)
    before = change_seq(services, order_id)
    unsent = []
    with UnitOfWork(services.sessions, _FailingSink(), _FailingSink(), unsent=lambda s, j: unsent.extend(j)) as uow:
        order = lock_order(uow, order_id)
        _event(uow, order, 1)
        uow.enqueue(Job(ADVANCE_ORDER, {"order_id": order_id}))
    assert [j.name for j in unsent] == [ADVANCE_ORDER]  # left to the reconciler
    assert change_seq(services, order_id) == before + 1  # committed


# -- id reservation --------------------------------------------------------------------------


def test_reserved_ids_are_distinct_and_not_reused_by_a_concurrent_transaction(services):
    with services.uow() as uow:
        first = reserve_ids(uow.session, Agreement, 5)
        assert first == sorted(set(first)) and len(first) == 5
        if _engine(services).dialect.name == "sqlite":
            assert first == list(range(first[0], first[0] + 5))  # max + 1 under the write lock
            return
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.extend(_reserve_elsewhere(services)))
        thread.start()
        thread.join(10)  # PostgreSQL: sequences do not wait for our transaction
        assert other and not set(other) & set(first)
        assert reserve_ids(uow.session, Agreement, 2)[0] > first[-1]


def _reserve_elsewhere(services) -> list[int]:
    with services.uow() as uow:
        return reserve_ids(uow.session, Agreement, 5)


# -- one write style: no Core DML on order rows outside the declared statements -----------------

CORE = pathlib.Path(om_graph.core.__file__).parent
DML = {"insert", "update", "delete"}
# (module, statement target): the Core DML the write path declares (kernel/uow.py's docstring), with why.
DECLARED_DML = {
    ("kernel/uow.py", "table"): "add_new: the bulk insert of new rows, which then are session objects",
    ("kernel/uow.py", "_EVENTS"): "the transaction's events, one statement before commit",
    ("kernel/uow.py", "_SEQUENCE"): "the events' commit-order block",
    ("kernel/uow.py", "_ORDER_ROW"): "the events' change_seq bump (order_event has no trigger: its one writer bumps)",
    ("ordering/locking.py", "_ORDERS"): "the order lock's change_seq bump",
    ("fulfilment/dispatch.py", "_ORDERS"): "bookkeeping: dispatch times",
    ("fulfilment/dispatch.py", "_TASKS"): "bookkeeping: dispatch times",
    ("fulfilment/reconciler.py", "Order.__table__"): "bookkeeping: dispatch times",
    ("fulfilment/reconciler.py", "Task.__table__"): "bookkeeping: dispatch times",
    ("access/auth.py", "ApiToken"): "an API token, not an order row",
    ("notification/hub.py", "_LISTENERS"): "the event hub's fan-out cursor, not an order row (a conditional update)",
    ("notification/hub.py", "_DELIVERIES"): "the event hub's deliveries and their claims, not order rows",
}


def _core_dml() -> set[tuple[str, str]]:
    """(module, target) for every insert(…)/update(…)/delete(…), t.insert()/.update()/.delete()
    and text() DML statement in the core."""
    found = set()
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(CORE).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in DML and node.args:
                found.add((rel, ast.unparse(node.args[0])))
            elif isinstance(func, ast.Attribute) and func.attr in DML and not node.args and not node.keywords:
                found.add((rel, ast.unparse(func.value)))
            elif isinstance(func, ast.Name) and func.id == "text" and node.args and isinstance(node.args[0], ast.Constant):
                sql = str(node.args[0].value).lstrip().split(None, 1)[0].upper()
                if sql in {"INSERT", "UPDATE", "DELETE"}:
                    found.add((rel, f"text: {node.args[0].value}"))
    return found


def test_order_rows_are_written_through_the_session_outside_the_declared_statements():
    found = _core_dml()
    undeclared = sorted(found - set(DECLARED_DML))
    assert not undeclared, "Core DML outside the write path's declared statements (use the session):\n" + "\n".join(
        f"core/{module}: {target}" for module, target in undeclared
    )
    assert set(DECLARED_DML) <= found, "stale entries: " + repr(sorted(set(DECLARED_DML) - found))
