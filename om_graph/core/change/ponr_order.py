"""An order's point of no return: the strongest one (hard > soft) any of its live lines passed
(core/change/ponr.py records it per line; cancelled and rejected lines no longer count). Ties go
to the earliest reached, then the lowest line number."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from om_graph.core.ordering.states import LineStates

STRENGTH = {"hard": 2, "soft": 1}
NOT_LIVE = frozenset({LineStates.CANCELLED, LineStates.REJECTED})


class LinePonr(Protocol):
    """An order line or its read row."""

    id: int
    line_number: int
    state: str
    ponr: str | None
    ponr_at: datetime | None
    ponr_task_id: int | None


@dataclass(frozen=True)
class OrderPonr:
    kind: str
    reached_at: datetime
    line_id: int
    task_id: int


def order_point_of_no_return(lines: Iterable[LinePonr]) -> OrderPonr | None:
    passed = [
        line
        for line in lines
        if line.ponr in STRENGTH and line.ponr_task_id is not None and line.ponr_at is not None and line.state not in NOT_LIVE
    ]
    if not passed:
        return None
    line = min(
        passed,
        key=lambda ln: (-STRENGTH[ln.ponr or ""], ln.ponr_at or datetime.max, ln.line_number),
    )
    assert line.ponr is not None and line.ponr_at is not None and line.ponr_task_id is not None
    return OrderPonr(line.ponr, line.ponr_at, line.id, line.ponr_task_id)
