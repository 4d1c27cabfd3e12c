"""The fallout queue's pages at a million records against the same pages at a thousand (issue 13:
"the fallout queue page at 1 M records against the same page at 1 k (ratio <= 1.5)").

Seeds two SQLite databases with Core inserts (``executemany``): orders, and fallout records of
every state (a tenth open, as in a queue that is worked: most records are resolved or closed),
types and priorities, some assigned, created over the last ``SPAN_DAYS`` (older records have
lower ids, as in a real table). Then, through :class:`FalloutService.queue` (what the
``fallouts`` field calls), the fastest of many calls and their median of: the first page (the open
records, highest priority first: the partial index ``ix_fallout_active_priority_id``), a filtered
page (open provisioning records: ``ix_fallout_active_type_priority_id``), the page after a cursor
deep in the queue, "my" records (``ix_fallout_active_assignee_priority_id``) and an age-filtered
page (``olderThan`` ``AGE_DAYS`` days: the priority index, the age checked per row). Reports each at
both sizes with the ratio of the fastest calls and of the medians, the SQLite query plans, and the
dashboard counts' time (informative: every state's counts read the whole covering index
``ix_fallout_state_type_priority``).

    .venv/bin/python -m bench.run fallout_queue --size small
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
    "tiny": {"small": 1_000, "large": 20_000, "repeats": 30},
    "small": {"small": 1_000, "large": 200_000, "repeats": 100},
    "full": {"small": 1_000, "large": 1_000_000, "repeats": 200},
}
TARGET_RATIO = 1.5
ORDERS = 1_000
CHUNK = 20_000
STATES = ("resolved", "closed", "closed", "closed", "closed", "cancelled", "closed", "resolved", "closed")  # + open ones
OPEN_STATES = ("open", "inProgress", "onHold", "awaitingInformation")
TYPES = ("provisioning", "provisioning", "inventoryAllocation", "billing", "manualClose")
PAGE = 25  # a full page at both sizes (1 k records: 100 open, 40 of them provisioning)
SPAN_DAYS = 180  # created_at spread evenly over this many days, oldest first
AGE_DAYS = 30  # the age-filtered page: records older than this (5/6 of them)
PAGES = ("first_page", "filtered_page", "deep_page", "my_page", "aged_page")


def seed(engine: Any, records: int) -> None:
    from om_graph.core.fulfilment.models import Fallout
    from om_graph.core.kernel.models import utcnow
    from om_graph.core.ordering.models import Order

    now = utcnow()
    step = timedelta(days=SPAN_DAYS) / records
    with engine.begin() as connection:
        connection.execute(
            insert(Order.__table__),
            [
                {"id": o, "customer_id": f"CUST-{o % 20}", "state": "inProgress", "created_by": "bench", "stage": "fulfilment"}
                for o in range(1, ORDERS + 1)
            ],
        )
        batch: list[dict[str, Any]] = []
        for i in range(1, records + 1):
            state = OPEN_STATES[i % 4] if i % 10 == 0 else STATES[i % len(STATES)]
            created = now - step * (records - i)
            batch.append(
                {
                    "id": i,
                    "order_id": i % ORDERS + 1,
                    "fallout_type": TYPES[(i // 7) % len(TYPES)],
                    "priority": 1 + (i * 7919) % 5,
                    "state": state,
                    "assignment_group": "order_fallout_agent" if i % 3 else "billing_desk",
                    "assignee": f"agent-{i % 5}" if i % 4 == 0 else None,
                    "error_code": "PROVISIONING_FAILED",
                    "error_message": "the network refused the allocation",
                    "handler": "test.allocate",
                    "attempt": 3,
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if len(batch) == CHUNK:
                connection.execute(insert(Fallout.__table__), batch)
                batch = []
        if batch:
            connection.execute(insert(Fallout.__table__), batch)
        connection.execute(text("ANALYZE"))


def _fastest_and_median_ms(call: Any, repeats: int) -> tuple[float, float]:
    """The fastest of ``repeats`` calls (the least disturbed by other work on the machine) and
    their median, in ms."""
    call()  # warm: statement cache, pages of the index
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(min(times) * 1000, 3), round(statistics.median(times) * 1000, 3)


def measure_one(path: Path, records: int, repeats: int) -> dict[str, Any]:
    from bench.seed import services_for
    from om_graph.core.access.actor import Actor
    from om_graph.core.fulfilment.fallout import FalloutFilter
    from om_graph.core.kernel.models import utcnow

    path.unlink(missing_ok=True)
    svc, _jobs, engine, _run = services_for(sqlite_url(path))
    agent = Actor("bench", frozenset({"order_fallout_agent"}))
    try:
        started = time.perf_counter()
        seed(engine, records)
        seed_seconds = time.perf_counter() - started
        queue = svc.fallout.queue
        # A cursor halfway down the open records (the keyset: priority, id).
        with engine.connect() as connection:
            middle = connection.execute(
                text(
                    "SELECT priority, id FROM fallout WHERE state IN ('open', 'inProgress', 'onHold', 'awaitingInformation') "
                    "ORDER BY priority, id LIMIT 1 OFFSET :n"
                ),
                {"n": records // 20},
            ).one()
        filtered = FalloutFilter(types=("provisioning",))
        mine = FalloutFilter(assignee="agent-0")
        aged = FalloutFilter(older_than=utcnow() - timedelta(days=AGE_DAYS))
        pages = {
            "first_page": lambda: queue(agent, FalloutFilter(), first=PAGE),
            "filtered_page": lambda: queue(agent, filtered, first=PAGE),
            "deep_page": lambda: queue(agent, FalloutFilter(), first=PAGE, after=(middle[0], middle[1])),
            "my_page": lambda: queue(agent, mine, first=PAGE),
            "aged_page": lambda: queue(agent, aged, first=PAGE),
        }
        data: dict[str, Any] = {
            "records": records,
            "seed_seconds": round(seed_seconds, 2),
            "pages_ms": {},
            "median_pages_ms": {},
        }
        for name, call in pages.items():
            rows, _more = call()
            assert len(rows) == PAGE, (name, len(rows))
            data["pages_ms"][name], data["median_pages_ms"][name] = _fastest_and_median_ms(call, repeats)
        data["counts_ms"], data["median_counts_ms"] = _fastest_and_median_ms(
            lambda: svc.fallout.counts(agent), max(3, repeats // 20)
        )
        data["plans"] = plans(engine, pages)
        return data
    finally:
        engine.dispose()


def plans(engine: Any, pages: dict[str, Any]) -> dict[str, list[str]]:
    """SQLite's plans of the statements the service runs for each page (captured as executed)."""
    from sqlalchemy import event

    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM fallout" in statement:
            captured.append((statement, parameters))

    found = {}
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for name, call in pages.items():
            captured.clear()
            call()
            statement, parameters = captured[-1]
            with engine.connect() as connection:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                found[name] = [row[-1] for row in plan]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return found


def run(size: str, workdir: Path) -> list[Result]:
    params = PARAMS[size]
    small = measure_one(workdir / "fallout-1k.db", params["small"], params["repeats"])
    large = measure_one(workdir / "fallout-large.db", params["large"], params["repeats"])
    results = []
    for name in PAGES:
        at_small, at_large = small["pages_ms"][name], large["pages_ms"][name]
        ratio = round(at_large / at_small, 3) if at_small else None
        med_small, med_large = small["median_pages_ms"][name], large["median_pages_ms"][name]
        median_ratio = round(med_large / med_small, 3) if med_small else None
        note = f"fastest of {params['repeats']} calls; medians {med_large} / {med_small} ms, ratio {median_ratio}"
        if size != "full":
            note += "; the target is for --size full (1 M records)"
        results.append(
            Result(
                f"fallout queue {name.replace('_', ' ')} at {params['large']:,} records",
                at_large,
                "ms",
                target=f"<= {TARGET_RATIO}x the same page at {params['small']:,}",
                ok=(ratio is not None and ratio <= TARGET_RATIO) if size == "full" else None,
                reference=at_small,
                reference_unit="ms",
                ratio=ratio,
                note=note,
                data={"median_ratio": median_ratio, **({"small": small, "large": large} if name == "first_page" else {})},
            )
        )
    return results
