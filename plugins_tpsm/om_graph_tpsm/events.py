"""Order event observer: a bounded per-process log of jeopardy alerts and error messages.

Support teams of a technology provider watch these first; the hook only logs and keeps a
short in-memory history (no I/O), since it runs in the committing process.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from om_graph.api import ERROR_MESSAGE, JEOPARDY_ALERT, OrderEvent

log = logging.getLogger("om_graph_tpsm.events")

WATCHED = (JEOPARDY_ALERT, ERROR_MESSAGE)
MAX_REMEMBERED = 200


@dataclass(frozen=True)
class Alert:
    order_id: int
    customer_id: str
    event_type: str
    entity_kind: str
    entity_id: int
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


_lock = threading.Lock()
_alerts: deque[Alert] = deque(maxlen=MAX_REMEMBERED)
_seen: Counter[str] = Counter()


def on_order_event(event: OrderEvent) -> None:
    with _lock:
        _seen[event.event_type] += 1
    if event.event_type not in WATCHED:
        return
    alert = Alert(
        event.order_id,
        event.customer_id,
        event.event_type,
        event.entity_kind,
        event.entity_id,
        event.occurred_at,
        dict(event.payload),
    )
    with _lock:
        _alerts.append(alert)
    log.warning("%s on order %s (%s %s)", event.event_type, event.order_id, event.entity_kind, event.entity_id)


def recent_alerts(order_id: int | None = None) -> list[Alert]:
    with _lock:
        return [a for a in _alerts if order_id is None or a.order_id == order_id]


def event_counts() -> dict[str, int]:
    with _lock:
        return dict(_seen)


def reset() -> None:
    with _lock:
        _alerts.clear()
        _seen.clear()
