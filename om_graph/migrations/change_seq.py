"""The triggers that keep the change_seq rule (core/kernel/uow.py): every write transaction that
changes a row an order's detail shows bumps that order's ``customer_order.change_seq`` once.

Each row trigger runs ``UPDATE customer_order SET change_seq = change_seq + 1, change_xact = mark
WHERE id = <the row's order> AND change_xact IS NOT mark``, where ``mark`` is
``om_write_xact()`` (PostgreSQL: a SQL function over ``txid_current()``; SQLite: an application
function that core/kernel/db.py registers on every connection). The first row of a transaction
bumps and marks its order, the others find the mark and change nothing. Updates that set only
bookkeeping columns (kernel.models.BOOKKEEPING_COLUMNS) fire nothing: ``UPDATE OF`` lists every
other column.

The column lists are read from the live table when the triggers are built, so a migration that
adds a column to one of these tables ends with :func:`rebuild_triggers` (tests/test_write_path.py
compares the live triggers with the models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

from om_graph.core.kernel.models import (
    BOOKKEEPING_COLUMNS,
    BUMPED_BY_THEIR_WRITER,
    CHANGE_MARK_COLUMNS,
    ORDER_ROWS,
    ORDER_TABLE,
    WRITE_XACT,
)

MARK = f"{WRITE_XACT}()"
_PG_MARK_FUNCTION = f"CREATE OR REPLACE FUNCTION {MARK} RETURNS bigint LANGUAGE sql STABLE AS 'SELECT txid_current()'"


def trigger_name(table: str, operation: str = "") -> str:
    """SQLite has one trigger per operation (names are per database), PostgreSQL one per table."""
    return f"om_change_seq_{table}" + (f"_{operation}" if operation else "")


def detail_columns(connection: sa.Connection, table: str) -> list[str]:
    """The table's columns whose update bumps the order: all but bookkeeping and the mark."""
    skip = BOOKKEEPING_COLUMNS.get(table, frozenset()) | (CHANGE_MARK_COLUMNS if table == ORDER_TABLE else frozenset())
    return [c["name"] for c in sa.inspect(connection).get_columns(table) if c["name"] not in skip]


def _order_of(table: str, row: str) -> str:
    how = ORDER_ROWS[table]
    if isinstance(how, str):
        return f"{row}.{how}"
    parent, column = how
    return f"(SELECT order_id FROM {parent} WHERE id = {row}.{column})"


def _bump(table: str, row: str, distinct: str) -> str:
    return (
        f"UPDATE {ORDER_TABLE} SET change_seq = change_seq + 1, change_xact = {MARK} "
        f"WHERE id = {_order_of(table, row)} AND change_xact {distinct} {MARK};"
    )


def _sqlite_ddl(table: str, columns: list[str]) -> list[str]:
    of = ", ".join(columns)
    if table == ORDER_TABLE:
        return [
            f"CREATE TRIGGER {trigger_name(table, 'update')} AFTER UPDATE OF {of} ON {table} "
            f"WHEN NEW.change_xact IS NOT {MARK} BEGIN "
            f"UPDATE {table} SET change_seq = change_seq + 1, change_xact = {MARK} WHERE id = NEW.id; END"
        ]
    events = {"insert": ("INSERT", "NEW"), "update": (f"UPDATE OF {of}", "NEW"), "delete": ("DELETE", "OLD")}
    return [
        f"CREATE TRIGGER {trigger_name(table, name)} AFTER {event} ON {table} BEGIN {_bump(table, row, 'IS NOT')} END"
        for name, (event, row) in events.items()
    ]


def _postgres_ddl(table: str, columns: list[str]) -> list[str]:
    name, of = trigger_name(table), ", ".join(columns)
    if table == ORDER_TABLE:
        # BEFORE: the row's own update carries the bump, no second write of the row.
        body = f"BEGIN NEW.change_seq := OLD.change_seq + 1; NEW.change_xact := {MARK}; RETURN NEW; END"
        trigger = (
            f"CREATE TRIGGER {name} BEFORE UPDATE OF {of} ON {table} FOR EACH ROW "
            f"WHEN (NEW.change_xact IS DISTINCT FROM {MARK}) EXECUTE FUNCTION {name}()"
        )
    else:
        body = (
            f"BEGIN IF TG_OP = 'DELETE' THEN {_bump(table, 'OLD', 'IS DISTINCT FROM')} "
            f"ELSE {_bump(table, 'NEW', 'IS DISTINCT FROM')} END IF; RETURN NULL; END"
        )
        trigger = (
            f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {of} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    return [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$", trigger]


def _tables(*, events: bool = False) -> list[str]:
    """The tables with triggers: since 0010 not the events (kernel.models.BUMPED_BY_THEIR_WRITER);
    0008 and 0009, which ran before, pass ``events=True`` so that each migration builds what it
    built then. Only the tables the database has at this revision: ORDER_ROWS is today's list, and
    a table a later migration creates (0013's enrichment_task, order_approval) gets its triggers
    there."""
    tables = [ORDER_TABLE, *(t for t in ORDER_ROWS if events or t not in BUMPED_BY_THEIR_WRITER)]
    if context.is_offline_mode():
        return tables
    present = set(sa.inspect(op.get_bind()).get_table_names())
    return [t for t in tables if t in present]


def create_triggers(*, events: bool = False, only: tuple[str, ...] | None = None) -> None:
    if context.is_offline_mode():
        raise CommandError(
            "the change_seq triggers list the live table's columns, so migrations that build them (0008, 0009) "
            "cannot run offline (--sql): run them against the database (`om-graph db upgrade`)"
        )
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_MARK_FUNCTION)
    for table in only or _tables(events=events):
        for statement in (_postgres_ddl if postgres else _sqlite_ddl)(table, detail_columns(connection, table)):
            op.execute(statement)


def drop_triggers(*, only: tuple[str, ...] | None = None) -> None:
    """Every change_seq trigger (those of the events too, if there), or ``only`` these tables'."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in only or _tables(events=True):
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table)} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {trigger_name(table)}()")
        else:
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, operation)}")


def rebuild_triggers(*, events: bool = False) -> None:
    """After a migration changed the columns of a table an order's detail shows."""
    drop_triggers()
    create_triggers(events=events)
