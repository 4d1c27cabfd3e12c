"""Primary keys reserved before rows are built.

A transaction that creates a graph of rows (domain orders, their tasks, the dependency edges
between tasks) and then moves them along (release, claim, roll-up) would otherwise insert them
to learn their ids and update them straight after. With the ids known up front, every row is
inserted once, in its final state.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, Table, func, select, text
from sqlalchemy.orm import Session

from om_graph.core.kernel.models import Base

MAX_KEY = 2**63 - 1  # primary keys are 64-bit: a larger number cannot even be bound as a parameter


def key_number(text: str) -> int | None:
    """The primary key a client's id or cursor names, or None when no row can have it: anything
    but a number of ASCII digits (int() would take ' 7', '+7', '7_0' and other scripts' digits)
    in 1..MAX_KEY. The one range check for every id and cursor the API decodes."""
    if not (text.isascii() and text.isdecimal()) or len(text) > 19:  # 19 digits hold MAX_KEY
        return None
    number = int(text)
    return number if 1 <= number <= MAX_KEY else None


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


@cache
def _max_id(table: Table) -> Select[int]:
    return select(func.max(table.c.id))  # built once per table: SQLAlchemy reuses its compiled form


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` unused primary keys of ``model``'s table, ascending, for this transaction."""
    if count == 0:
        return []
    table = model.__table__
    with session.no_autoflush:  # pending rows of this transaction have no id yet either way
        if session.get_bind().dialect.name == "postgresql":
            rows = session.execute(_NEXT_IDS, {"table": table.name, "n": count})
            return sorted(rows.scalars())
        # SQLite: every writing transaction holds the database write lock from BEGIN IMMEDIATE,
        # and a new rowid is max(rowid) + 1, so the next ``count`` ids are ours until commit.
        last = session.scalar(_max_id(table)) or 0
        return list(range(last + 1, last + count + 1))
