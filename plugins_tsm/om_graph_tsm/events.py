"""Observes order events after commit: a bounded, per-process log of completed orders.

Cheap and local by design (no I/O besides logging): the hook runs in the committing process.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime

from om_graph.api import ORDER_STATE_CHANGE, OrderEvent

log = logging.getLogger("om_graph_tsm.events")

MAX_REMEMBERED = 500
FINAL_ORDER_STATES = ("completed", "partial", "failed", "cancelled", "rejected")


@dataclass(frozen=True)
class OrderOutcome:
    order_id: int
    customer_id: str
    state: str
    occurred_at: datetime


_lock = threading.Lock()
_recent: deque[OrderOutcome] = deque(maxlen=MAX_REMEMBERED)
_counts: Counter[str] = Counter()


def on_order_event(event: OrderEvent) -> None:
    if event.event_type != ORDER_STATE_CHANGE or event.to_state not in FINAL_ORDER_STATES:
        return
    outcome = OrderOutcome(event.order_id, event.customer_id, event.to_state, event.occurred_at)
    with _lock:
        _recent.append(outcome)
        _counts[event.to_state] += 1
    level = logging.INFO if event.to_state == "completed" else logging.WARNING
    log.log(level, "order %s for %s ended %s", event.order_id, event.customer_id, event.to_state)


def completed_orders() -> list[OrderOutcome]:
    """The most recent completed orders seen by this process, oldest first (at most MAX_REMEMBERED)."""
    with _lock:
        return [o for o in _recent if o.state == "completed"]


def outcome_counts() -> dict[str, int]:
    """How many orders this process saw end in each final state (not bounded by MAX_REMEMBERED)."""
    with _lock:
        return dict(_counts)


def reset() -> None:
    with _lock:
        _recent.clear()
        _counts.clear()
