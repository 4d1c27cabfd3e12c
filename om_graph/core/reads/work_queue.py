"""The work queue read: tasks by assignee, group, state, due date and jeopardy, in keyset pages.

Two orders: ``due`` (the default: the soonest due first, tasks with no due date last, then by
id) and ``id`` (oldest first). A due-ordered page of a person's or a group's tasks (``mine``,
``assignee``, ``assignmentGroup``, ``myGroups``, ``unassigned``) is merged from one ordered,
limited read per (person or group, state) *lane* on ``ix_order_task_assignee_state_due_id`` /
``ix_order_task_group_state_due_id`` (the dated part, then the undated part by id), so it costs
the same however many tasks match (bench/work_queue.py); other filters are one statement sorted
over what they match. The cursor carries the sort key of the page's last row. "My groups" are the
actor's roles (core/fulfilment/queues.py). Staff only (``fulfilment:read``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, tuple_

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.states import TaskStates
from om_graph.core.kernel.error_codes import CommonErrorCode
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


@dataclass(frozen=True)
class _Cursor:
    due: datetime | None  # the last row's due date (sort due; None: it had none, or sort id)
    id: int


def _decode(sort: str, cursor: str) -> _Cursor:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        if not isinstance(raw, list) or raw[:2] != ["q", sort]:
            raise ValueError
        *key, last_id = raw[2:]
        if not isinstance(last_id, int) or isinstance(last_id, bool) or len(key) != (1 if sort == "due" else 0):
            raise ValueError
        due = datetime.fromisoformat(key[0]) if key and key[0] is not None else None
    except Exception:
        raise _bad_cursor() from None
    return _Cursor(due, last_id)


def _after(sort: str, cursor: _Cursor) -> ColumnElement[bool]:
    c = _TASKS.c
    if sort == "id":
        return c.id > cursor.id
    if cursor.due is None:
        return and_(c.due_at.is_(None), c.id > cursor.id)
    return or_(tuple_(c.due_at, c.id) > tuple_(cursor.due, cursor.id), c.due_at.is_(None))


MAX_LANES = 40


def _lanes(actor: Actor, f: TaskQueueFilter) -> list[ColumnElement[bool]] | None:
    """Equality conditions that each name one range of a (person or group, state, due_at, id)
    index, when the filter has them: a due-ordered page is then merged from one ordered, limited
    read per range instead of sorting every matching task."""
    c = _TASKS.c
    states = f.states or DEFAULT_STATES
    if f.mine or f.assignee is not None:
        keys = [c.assignee == (actor.label if f.mine else f.assignee)]
    elif f.unassigned and not f.assignment_group and not f.my_groups:
        keys = [c.assignee.is_(None)]
    elif f.assignment_group is not None:
        keys = [c.assignment_group == f.assignment_group]
    elif f.my_groups:
        keys = [c.assignment_group == group for group in sorted(actor.roles)]
    else:
        return None
    lanes = [and_(key, c.state == state) for key in keys for state in states]
    return lanes if 0 < len(lanes) <= MAX_LANES else None


def _merged(
    session: Any, where: list[ColumnElement[bool]], lanes: list[ColumnElement[bool]], cursor: _Cursor | None, limit: int
) -> list[Any]:
    """The first ``limit`` rows in (due_at nulls last, id) order after ``cursor``: the dated part
    lane by lane in index order, then (if the page is not full) the undated part by id."""
    c = _TASKS.c
    rows: list[Any] = []
    if cursor is None or cursor.due is not None:
        dated: list[ColumnElement[bool]] = [c.due_at.is_not(None)]
        if cursor is not None:
            dated.append(tuple_(c.due_at, c.id) > tuple_(cursor.due, cursor.id))
        for lane in lanes:
            statement = select(_TASKS).where(*where, lane, *dated).order_by(c.due_at, c.id).limit(limit)
            rows.extend(session.execute(statement).all())
        rows = sorted(rows, key=lambda r: (r.due_at, r.id))[:limit]
    if len(rows) < limit:
        undated: list[ColumnElement[bool]] = [c.due_at.is_(None)]
        if cursor is not None and cursor.due is None:
            undated.append(c.id > cursor.id)
        nulls: list[Any] = []
        for lane in lanes:
            statement = select(_TASKS).where(*where, lane, *undated).order_by(c.id).limit(limit - len(rows))
            nulls.extend(session.execute(statement).all())
        rows.extend(sorted(nulls, key=lambda r: r.id)[: limit - len(rows)])
    return rows


class WorkQueueReads:
    def __init__(self, uow: Callable[..., UnitOfWork]):
        self._uow = uow

    def tasks(self, actor: Actor, f: TaskQueueFilter, *, first: int = 20, after: str | None = None, sort: str = "due") -> Page:
        """A page of tasks matching ``f`` (items: task rows; ``related``: their predecessors)."""
        require(actor, Permission.FULFILMENT_READ)
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE}", CommonErrorCode.OUT_OF_RANGE)
        if sort not in SORTS:
            raise ValidationFailed.single("sort", f"one of {', '.join(SORTS)}", CommonErrorCode.INVALID)
        c = _TASKS.c
        where = _conditions(actor, f)
        cursor = _decode(sort, after) if after is not None else None
        lanes = _lanes(actor, f) if sort == "due" else None
        with self._uow(read_only=True) as uow:
            rows: Sequence[DbRow]
            if lanes is not None:
                rows = _merged(uow.session, where, lanes, cursor, first + 1)
            else:
                if cursor is not None:
                    where.append(_after(sort, cursor))
                order_by = (c.due_at.asc().nulls_last(), c.id) if sort == "due" else (c.id,)
                rows = uow.session.execute(select(_TASKS).where(*where).order_by(*order_by).limit(first + 1)).all()
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
