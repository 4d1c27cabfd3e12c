"""Dispatch bookkeeping for jobs that never reached the broker.

A job is sent after its transaction commits, and the rows it is about carry the time it was
dispatched; the reconciler re-enqueues work whose dispatch is older than the redispatch age
(``OM_GRAPH_REDISPATCH_SECONDS``). When the send itself fails, nothing is in flight, so waiting
that long would only delay the work: the timestamps are cleared instead, and the reconciler's
next pass (every ``OM_GRAPH_RECONCILE_INTERVAL``) picks the work up as never dispatched.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.states import TaskKinds, TaskStates
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, Job
from om_graph.core.ordering.models import Order
from om_graph.core.ordering.states import OrderStates

_ORDERS, _TASKS = Order.__table__, Task.__table__
# Plain statements: dispatch times are no part of an order's detail, so they bump no change_seq.
_FORGET_PROCESSING = (
    update(_ORDERS)
    .where(_ORDERS.c.id.in_(bindparam("order_ids", expanding=True)), _ORDERS.c.state == OrderStates.ACKNOWLEDGED)
    .values(processing_dispatched_at=None)
)
_FORGET_ADVANCE = (
    update(_TASKS)
    .where(_TASKS.c.order_id.in_(bindparam("order_ids", expanding=True)), _TASKS.c.kind == TaskKinds.AUTOMATIC)
    .where(_TASKS.c.state.in_((TaskStates.READY, TaskStates.IN_PROGRESS)))
    .values(dispatched_at=None)
)
_STATEMENTS = {PROCESS_ORDER: _FORGET_PROCESSING, ADVANCE_ORDER: _FORGET_ADVANCE}


def forget_dispatch(session: Session, jobs: Sequence[Job]) -> None:
    """Mark the work of unsent jobs as never dispatched (the caller commits)."""
    by_name: dict[str, set[int]] = {}
    for job in jobs:
        if job.name in _STATEMENTS:
            by_name.setdefault(job.name, set()).add(job.args["order_id"])
    for name, order_ids in by_name.items():
        session.execute(_STATEMENTS[name], {"order_ids": sorted(order_ids)})
