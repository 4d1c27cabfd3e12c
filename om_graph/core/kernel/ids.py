"""Primary keys reserved before rows are built.

A transaction that creates a graph of rows (domain orders, their tasks, the dependency edges
between tasks) and then moves them along (release, claim, roll-up) would otherwise insert them
to learn their ids and update them straight after. With the ids known up front, every row is
inserted once, in its final state.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Select, Table, TextClause, func, select, text
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


# Built once per set of tables: SQLAlchemy reuses their compiled forms.
@cache
def _max_ids(tables: tuple[Table, ...]) -> Select[Any]:
    return select(*(select(func.max(table.c.id)).scalar_subquery() for table in tables))


@cache
def _next_ids(tables: tuple[str, ...]) -> TextClause:
    return text(
        " UNION ALL ".join(
            f"SELECT {i} AS t, nextval(pg_get_serial_sequence('{name}', 'id')) AS id FROM generate_series(1, :n{i})"
            for i, name in enumerate(tables)
        )
    )


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` unused primary keys of ``model``'s table, ascending, for this transaction."""
    return reserve_many(session, {model: count})[model] if count else []


def reserve_many(session: Session, counts: Mapping[type[Base], int]) -> dict[type[Base], list[int]]:
    """Unused primary keys for several tables in one statement: per model, ``counts[model]`` of
    them, ascending, for this transaction."""
    wanted = {model: count for model, count in counts.items() if count}
    found: dict[type[Base], list[int]] = {model: [] for model in counts}
    if not wanted:
        return found
    models = tuple(wanted)
    with session.no_autoflush:  # pending rows of this transaction have no id yet either way
        if session.get_bind().dialect.name == "postgresql":
            statement = _next_ids(tuple(model.__table__.name for model in models))
            for index, reserved in session.connection().execute(statement, {f"n{i}": wanted[m] for i, m in enumerate(models)}):
                found[models[index]].append(reserved)
            for ids in found.values():
                ids.sort()
            return found
        # SQLite: every writing transaction holds the database write lock from BEGIN IMMEDIATE,
        # and a new rowid is max(rowid) + 1, so the next ids are ours until commit.
        lasts = session.connection().execute(_max_ids(tuple(model.__table__ for model in models))).one()
        for model, last in zip(models, lasts):
            start = int(last or 0) + 1
            found[model] = list(range(start, start + wanted[model]))
        return found
