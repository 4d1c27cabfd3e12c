"""The work queue's pages (``tasks(filter)``, core/reads/work_queue.py) at a large number of tasks
against the same pages at a thousand: informative (issue 13 sets no target for the work queue).

Seeds two SQLite databases with Core inserts: orders with one line and one domain order each, and
tasks of which a tenth are open (``ready``/``inProgress``: a worked queue), manual ones queued
for two groups, some assigned, most with a due date. Then, through :class:`WorkQueueReads.tasks`
(what the ``tasks`` field calls), the median time of: my groups' unassigned tasks soonest due first
(``sort: DUE``: one ordered, limited read per group and state on ``ix_order_task_group_state_due_id``
or ``ix_order_task_assignee_state_due_id``, merged), the same by id (``sort: ID``), a page after a
cursor deep in the due order, and my tasks. Reports each at both sizes, their ratio and the SQLite
query plans (of one lane's statement for the due-ordered pages).

    .venv/bin/python -m bench.run work_queue --size small
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.common import Result, sqlite_url

PARAMS = {
    "tiny": {"small": 1_000, "large": 20_000, "repeats": 20},
    "small": {"small": 1_000, "large": 200_000, "repeats": 50},
    "full": {"small": 1_000, "large": 1_000_000, "repeats": 100},
}
ORDERS = 1_000
CHUNK = 20_000
PAGE = 25
GROUPS = ("order_fulfillment_agent", "field_engineer")


def seed(engine: Any, tasks: int) -> None:
    from om_graph.core.fulfilment.models import DomainOrder, Task
    from om_graph.core.kernel.models import utcnow
    from om_graph.core.ordering.models import Order, OrderLine

    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(Order.__table__),
            [
                {"id": o, "customer_id": f"CUST-{o % 20}", "state": "inProgress", "created_by": "bench", "stage": "fulfilment"}
                for o in range(1, ORDERS + 1)
            ],
        )
        connection.execute(
            insert(OrderLine.__table__),
            [
                {
                    "id": o,
                    "order_id": o,
                    "line_number": 1,
                    "action": "add",
                    "offering_key": "test-internet",
                    "spec_key": "test.internet",
                    "unit_one_time_price": 0,
                    "unit_recurring_price": 0,
                    "quantity": 1,
                    "state": "inProgress",
                    "characteristics": {},
                }
                for o in range(1, ORDERS + 1)
            ],
        )
        connection.execute(
            insert(DomainOrder.__table__),
            [
                {
                    "id": o,
                    "order_id": o,
                    "line_id": o,
                    "kind": "product",
                    "spec_key": "test.internet",
                    "unit_index": 0,
                    "state": "inProgress",
                    "characteristics": {},
                }
                for o in range(1, ORDERS + 1)
            ],
        )
        batch: list[dict[str, Any]] = []
        for i in range(1, tasks + 1):
            state = ("ready", "inProgress")[i % 2] if i % 10 == 0 else "completed"
            batch.append(
                {
                    "id": i,
                    "order_id": i % ORDERS + 1,
                    "domain_order_id": i % ORDERS + 1,
                    "key": f"bench.task-{i % 7}",
                    "name": "Bench task",
                    "kind": "manual",
                    "idempotency_key": f"om-bench-{i}",
                    "state": state,
                    "attempts": 0,
                    "max_attempts": 1,
                    "due_at": None if i % 9 == 0 else now + timedelta(minutes=(i * 7919) % 10_000),
                    "assignment_group": GROUPS[i % 3 == 0],
                    "assignee": f"tech-{i % 50}" if i % 4 == 0 else None,
                    "critical": False,
                    "finish_blocked": False,
                }
            )
            if len(batch) == CHUNK:
                connection.execute(insert(Task.__table__), batch)
                batch = []
        if batch:
            connection.execute(insert(Task.__table__), batch)
        connection.execute(text("ANALYZE"))


def _median_ms(call: Any, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def measure_one(path: Path, tasks: int, repeats: int) -> dict[str, Any]:
    from bench.seed import services_for
    from om_graph.core.access.actor import Actor
    from om_graph.core.reads.work_queue import TaskQueueFilter

    path.unlink(missing_ok=True)
    svc, _jobs, engine, _run = services_for(sqlite_url(path))
    agent = Actor("tech-0", frozenset({"order_fulfillment_agent"}))
    try:
        started = time.perf_counter()
        seed(engine, tasks)
        seed_seconds = time.perf_counter() - started
        read = svc.work_queue.tasks
        claimable = TaskQueueFilter(my_groups=True, unassigned=True)
        mine = TaskQueueFilter(mine=True)
        deep = read(agent, claimable, first=20, sort="due")
        for _ in range(tasks // 10_000):  # walk into the queue (20 rows at 1 k tasks, 2 000 at 1 M)
            if not deep.has_next:
                break
            deep = read(agent, claimable, first=20, after=deep.end_cursor, sort="due")
        cursor = deep.end_cursor
        pages = {
            "group_due_page": lambda: read(agent, claimable, first=PAGE, sort="due"),
            "group_id_page": lambda: read(agent, claimable, first=PAGE, sort="id"),
            "deep_due_page": lambda: read(agent, claimable, first=PAGE, after=cursor, sort="due"),
            "my_page": lambda: read(agent, mine, first=PAGE, sort="due"),
        }
        data: dict[str, Any] = {"tasks": tasks, "seed_seconds": round(seed_seconds, 2), "pages_ms": {}}
        for name, call in pages.items():
            page = call()
            assert page.items, name
            data["pages_ms"][name] = _median_ms(call, repeats)
        data["plans"] = plans(engine, agent)
        return data
    finally:
        engine.dispose()


def plans(engine: Any, agent: Any) -> dict[str, list[str]]:
    from sqlalchemy import select
    from sqlalchemy.dialects import sqlite

    from om_graph.core.fulfilment.models import Task
    from om_graph.core.reads.work_queue import TaskQueueFilter, _conditions

    c = Task.__table__.c
    # A due-ordered page reads each (group or person, state) lane in index order: one lane's statement.
    lane = c.state == "ready"
    statements = {
        "group_due_page": (
            TaskQueueFilter(my_groups=True, unassigned=True),
            (lane, c.assignment_group == "order_fulfillment_agent", c.due_at.is_not(None)),
            (c.due_at, c.id),
        ),
        "group_id_page": (TaskQueueFilter(my_groups=True, unassigned=True), (), (c.id,)),
        "my_page": (TaskQueueFilter(mine=True), (lane, c.assignee == agent.label, c.due_at.is_not(None)), (c.due_at, c.id)),
    }
    found = {}
    with engine.connect() as connection:
        for name, (where, extra, order_by) in statements.items():
            statement = select(c.id).where(*_conditions(agent, where), *extra).order_by(*order_by).limit(PAGE)
            compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
            params = tuple(compiled.params[p] for p in compiled.positiontup or ())
            found[name] = [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)]
    return found


def run(size: str, workdir: Path) -> list[Result]:
    params = PARAMS[size]
    small = measure_one(workdir / "queue-1k.db", params["small"], params["repeats"])
    large = measure_one(workdir / "queue-large.db", params["large"], params["repeats"])
    results = []
    for name in ("group_due_page", "group_id_page", "deep_due_page", "my_page"):
        at_small, at_large = small["pages_ms"][name], large["pages_ms"][name]
        ratio = round(at_large / at_small, 3) if at_small else None
        results.append(
            Result(
                f"work queue {name.replace('_', ' ')} at {params['large']:,} tasks",
                at_large,
                "ms",
                target="informative (no target)",
                reference=at_small,
                reference_unit="ms",
                ratio=ratio,
                data={"small": small, "large": large} if name == "group_due_page" else {},
            )
        )
    return results
