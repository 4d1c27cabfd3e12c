"""Pricing a 100-line order (issue 12), in process, single-threaded, with the telecom pack.

Two figures:

- **the Pricer alone**: a 100-line fibre order (each line priced from the ``tsm.fibreMonthlyPrice``
  matrix, the pack's adjustment table and ``pricing.adjustments`` evaluated per line and for the
  order, a manual discount on every fifth line and one on the order), CPU milliseconds per order
  and microseconds per line (``time.process_time``), the decision tables compiled once as the
  decision service caches them per version;
- **orderCreate of the same order** through the core service on a fresh SQLite file (validation,
  pricing with the active tables read from the database, the insert), CPU milliseconds per create,
  the Pricer's share of it, and the SQL statements per create (counted on the engine), which must
  not grow with the number of lines: the active tables are one SELECT, the Pricer none.

    .venv/bin/python -m bench.run pricing --size small
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.common import Result
from om_graph.core.access.actor import Actor
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.ports import NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.pricing import pricing_request
from om_graph.core.pricing.request import PriceAdjustment
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry

PARAMS = {
    "tiny": {"prices": 5, "creates": 2},
    "small": {"prices": 200, "creates": 20},
    "full": {"prices": 1000, "creates": 100},
}
LINES = 100
AGENT = Actor("bench-agent", frozenset({"order_manager"}))
TERMS = (12, 24, 36)


def order(lines: int = LINES, customer: str = "BENCH-PRICING") -> OrderInput:
    built = []
    for i in range(lines):
        discount = (PriceAdjustment("discount", "recurring", "bench: loyalty", percentage=Decimal("7.5")),) if i % 5 == 0 else ()
        built.append(
            LineInput(
                offering="fibre-broadband-1000" if i % 2 else "fibre-broadband-500",
                characteristics={
                    "installationAddress": f"Benchstrasse {i + 1}, 10115 Berlin",
                    "contractTermMonths": TERMS[i % 3],
                    "staticIp": i % 4 == 0,
                },
                price_adjustments=discount,
            )
        )
    return OrderInput(
        customer_id=customer,
        lines=tuple(built),
        price_adjustments=(PriceAdjustment("discount", "oneTime", "bench: bulk installation", amount=Decimal(5 * lines)),),
    )


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    registry = collect_registry(build_plugin_manager(load_entrypoints=True))
    db = workdir / "pricing.db"
    db.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    svc = Services(make_session_factory(engine), registry, RecordingJobSink(), NullEventSink())
    svc.load_catalog()
    data = order()

    # -- the Pricer alone ---------------------------------------------------------------------
    with svc.uow(read_only=True) as uow:
        tables = svc.decisions.active(uow.session)
        valid, errors = svc.orders.validator.validate(uow.session, data)
    assert not errors, errors
    request = pricing_request(AGENT, data, valid, channel="agent", segment=None)
    priced = svc.pricer.price(request, tables)  # warm
    started = time.process_time()
    for _ in range(p["prices"]):
        priced = svc.pricer.price(request, tables)
    pricer_ms = 1000 * (time.process_time() - started) / p["prices"]
    json_bytes = sum(len(str(line.prices)) for line in priced.lines)

    # -- orderCreate of the same order ----------------------------------------------------------
    statements: list[int] = []
    counting = [0]

    def count(*_args: Any) -> None:
        counting[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        svc.orders.create(AGENT, order(customer="BENCH-WARM"))
        started = time.process_time()
        for n in range(p["creates"]):
            counting[0] = 0
            created = svc.orders.create(AGENT, order(customer=f"BENCH-{n}"))
            statements.append(counting[0])
        create_ms = 1000 * (time.process_time() - started) / p["creates"]
        counting[0] = 0
        svc.orders.create(AGENT, order(lines=1, customer="BENCH-ONE"))
        one_line_statements = counting[0]
    finally:
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    assert len(created.lines) == LINES and created.total_prices
    return [
        Result(
            "pricing: Pricer, 100-line order",
            pricer_ms,
            "ms CPU/order",
            note=f"{1000 * pricer_ms / LINES:.0f} µs per line; {json_bytes / LINES:.0f} B of line prices per line (repr)",
            data={
                "orders": p["prices"],
                "lines": LINES,
                "us_per_line": 1000 * pricer_ms / LINES,
                "recurring_total": str(priced.recurring_total),
                "one_time_total": str(priced.one_time_total),
                "manual_discount_percent": str(priced.manual_discount_percent),
            },
        ),
        Result(
            "pricing: orderCreate, 100-line order",
            create_ms,
            "ms CPU/create",
            note=(
                f"Pricer {100 * pricer_ms / create_ms:.0f} % of it; {max(statements)} SQL statements per create "
                f"({one_line_statements} for a 1-line order)"
            ),
            data={
                "creates": p["creates"],
                "statements": statements,
                "one_line_statements": one_line_statements,
                "pricer_share": pricer_ms / create_ms,
            },
        ),
    ]
