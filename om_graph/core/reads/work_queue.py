"""The work queue read: tasks by assignee, group, state, due date and jeopardy, in keyset pages.

Two orders: ``due`` (the default: the soonest due first, tasks with no due date last, then by
id) and ``id`` (oldest first; with an assignee or group filter it walks the
``ix_order_task_assignee_state_id`` / ``ix_order_task_assignment_group_state_id`` indexes). The
cursor carries the sort key of the page's last row, so a page costs the same wherever it is.
"My groups" are the actor's roles (core/fulfilment/queues.py). Staff only
(``fulfilment:read``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.states import TaskStates
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.reads.error_codes import ReadsErrorCode
from om_graph.core.reads.queries import MAX_PAGE, Page, Related
from om_graph.core.reads.rows import DbRow

# With no state filter: the work someone can act on.
DEFAULT_STATES = (TaskStates.READY, TaskStates.IN_PROGRESS)
SORTS = ("due", "id")
_TASKS = Task.__table__


@dataclass(frozen=True)
class TaskQueueFilter:
    assignee: str | None = None  # a person's label (the API turns ME into the actor's)
    assignment_group: str | None = None
    mine: bool = False  # assigned to the actor
    my_groups: bool = False  # queued for one of the actor's roles
    unassigned: bool = False  # nobody has it yet (with my_groups: what I could claim)
    states: tuple[str, ...] = ()
    due_before: datetime | None = None
    jeopardy: tuple[str, ...] = ()
    kind: str | None = None
    order_id: int | None = None


def _conditions(actor: Actor, f: TaskQueueFilter) -> list[ColumnElement[bool]]:
    c = _TASKS.c
    where: list[ColumnElement[bool]] = [c.state.in_(list(f.states or DEFAULT_STATES))]
    if f.assignee is not None:
        where.append(c.assignee == f.assignee)
    if f.mine:
        where.append(c.assignee == actor.label)
    if f.unassigned:
        where.append(c.assignee.is_(None))
    if f.assignment_group is not None:
        where.append(c.assignment_group == f.assignment_group)
    if f.my_groups:
        groups = sorted(actor.roles)
        where.append(c.assignment_group.in_(groups) if groups else false())
    if f.due_before is not None:
        where.append(c.due_at < f.due_before)
    if f.jeopardy:
        where.append(c.jeopardy.in_(list(f.jeopardy)))
    if f.kind is not None:
        where.append(c.kind == f.kind)
    if f.order_id is not None:
        where.append(c.order_id == f.order_id)
    return where


def encode_queue_cursor(sort: str, row: Any) -> str:
    key = [row.due_at.isoformat() if row.due_at is not None else None, row.id] if sort == "due" else [row.id]
    return base64.urlsafe_b64encode(json.dumps(["q", sort, *key]).encode()).decode()


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed.single("after", "not a cursor this API issued", ReadsErrorCode.INVALID_CURSOR)


def _after(sort: str, cursor: str) -> ColumnElement[bool]:
    c = _TASKS.c
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        if not isinstance(raw, list) or raw[:2] != ["q", sort]:
            raise ValueError
        *key, last_id = raw[2:]
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValueError
        if sort == "id":
            if key:
                raise ValueError
            return c.id > last_id
        [due] = key
        if due is None:
            return and_(c.due_at.is_(None), c.id > last_id)
        at = datetime.fromisoformat(due)
    except Exception:
        raise _bad_cursor() from None
    return or_(c.due_at > at, and_(c.due_at == at, c.id > last_id), c.due_at.is_(None))


class WorkQueueReads:
    def __init__(self, uow: Callable[..., UnitOfWork]):
        self._uow = uow

    def tasks(self, actor: Actor, f: TaskQueueFilter, *, first: int = 20, after: str | None = None, sort: str = "due") -> Page:
        """A page of tasks matching ``f`` (items: task rows; ``related``: their predecessors)."""
        require(actor, Permission.FULFILMENT_READ)
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE}", "OUT_OF_RANGE")
        if sort not in SORTS:
            raise ValidationFailed.single("sort", f"one of {', '.join(SORTS)}", "INVALID")
        c = _TASKS.c
        where = _conditions(actor, f)
        if after is not None:
            where.append(_after(sort, after))
        order_by = (c.due_at.asc().nulls_last(), c.id) if sort == "due" else (c.id,)
        statement = select(_TASKS).where(*where).order_by(*order_by).limit(first + 1)
        with self._uow(read_only=True) as uow:
            rows: Sequence[DbRow] = uow.session.execute(statement).all()
            has_next = len(rows) > first
            items = list(rows[:first])
            related = Related()
            related.add_dependencies(uow.session, items)
        return Page(
            items,
            has_next,
            encode_queue_cursor(sort, items[-1]) if items else None,
            encode_queue_cursor(sort, items[0]) if items else None,
            None,
            related,
        )
