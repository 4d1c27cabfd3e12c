"""Engine and session factory for SQLite (embedded default) and PostgreSQL (scaled)."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from om_graph.core.kernel.models import WRITE_XACT

READ_ONLY = "om_read_only"


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # A kept connection for every request thread (anyio's pool of 40) and worker thread:
        # SQLite connections are cheap to keep, while opening one (and its pragmas) on every
        # burst of load, as overflow connections are, costs more than the query.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=64, max_overflow=0)
        _configure_sqlite(engine)
        engine.connect().close()  # the first connection puts the file in WAL mode, before any concurrency
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def register_sqlite_functions(dbapi_conn: sqlite3.Connection, *, per_transaction: bool = False) -> list[int]:
    """Register on a DB-API sqlite3 connection the SQL functions om-graph's schema calls: the
    change_seq triggers' transaction mark ``om_write_xact()`` (migrations/change_seq.py). Without it
    no statement can write an order table. Every connection that writes needs it: make_engine's
    and any raw ``sqlite3.connect`` (bench, maintenance; docs/operations.md).

    SQLite has no transaction id. With ``per_transaction`` the caller draws the mark at each BEGIN
    into the returned cell (make_engine: a random 62-bit number, which unlike a counter does not
    repeat in another process writing the same file), so a transaction bumps an order once. Without,
    every call draws a new one: each row written bumps its order, more often than once per
    transaction, which only costs a cached read; the counter still grows on every change."""
    mark = [0]
    if per_transaction:
        dbapi_conn.create_function(WRITE_XACT, 0, lambda: mark[0])
    else:
        dbapi_conn.create_function(WRITE_XACT, 0, lambda: random.getrandbits(62))
    return mark


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; writers take the lock at BEGIN (IMMEDIATE) so two writers
    never deadlock upgrading a read lock, and wait up to ``timeout`` for each other."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        # Switching to WAL needs an exclusive lock, and a BEGIN meeting it fails at once instead
        # of waiting: switch only when the file is not in WAL yet (the setting is persistent),
        # which make_engine does before anything else connects.
        if engine.url.database not in (None, "", ":memory:") and cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        _record.info["om_xact"] = register_sqlite_functions(dbapi_conn, per_transaction=True)

    # SQLite has one writer. Left to itself, a waiting writer polls with sleeps that grow to
    # 100 ms, so under load latency explodes; instead writers of this process queue on a lock
    # (FIFO-ish, no polling) and only other processes meet SQLite's busy timeout.
    write_lock = _WRITERS[engine] = SqliteWriter()

    # BEGIN goes straight to the driver: it runs before every transaction, and SQLAlchemy's
    # statement execution around it would cost more than SQLite's own work.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        driver = cast(sqlite3.Connection, conn.connection.driver_connection)  # a live connection: never None
        conn.info["om_xact"][0] = random.getrandbits(62)
        if conn.get_execution_options().get(READ_ONLY):
            driver.execute("BEGIN")
            return
        write_lock.acquire()
        conn.info["om_write_lock"] = True
        try:
            driver.execute("BEGIN IMMEDIATE")
        except Exception:
            _release(conn.info)
            raise

    def _release(info: dict[Any, Any]) -> None:
        if info.pop("om_write_lock", False):
            write_lock.release()

    # Released when the connection goes back to the pool, i.e. after COMMIT or ROLLBACK ran.
    @event.listens_for(engine.pool, "reset")
    def _on_reset(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry | None, reset_state: PoolResetState) -> None:
        if record is not None:  # None for a connection detached from the pool
            _release(record.info)

    @event.listens_for(engine.pool, "detach")
    def _on_detach(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        _release(record.info)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        _release(record.info)


@dataclass
class WriterStats:
    transactions: int
    held_seconds: float
    waited_seconds: float


class SqliteWriter:
    """The process's SQLite write lock, with its utilisation: how many write transactions ran,
    how long the lock was held and how long writers queued for it. Held time close to the
    wall-clock time means the single writer is the bottleneck (see docs/operations.md)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acquired_at = 0.0
        self._transactions = 0
        self._held = 0.0
        self._waited = 0.0
        self.owner: int | None = None  # the thread holding it

    def acquire(self) -> None:
        asked = time.perf_counter()
        self._lock.acquire()
        self._acquired_at = now = time.perf_counter()
        self._waited += now - asked
        self.owner = threading.get_ident()

    def release(self) -> None:
        self.owner = None
        self._held += time.perf_counter() - self._acquired_at
        self._transactions += 1
        self._lock.release()

    def stats(self) -> WriterStats:
        return WriterStats(self._transactions, self._held, self._waited)


_WRITERS: weakref.WeakKeyDictionary[Engine, SqliteWriter] = weakref.WeakKeyDictionary()


def sqlite_writer_stats(engine: Engine) -> WriterStats | None:
    """The write lock's utilisation so far for an SQLite engine; None for other databases."""
    writer = _WRITERS.get(engine)
    return None if writer is None else writer.stats()


def write_lock_held_here() -> bool:
    """Whether this thread holds an SQLite engine's write lock."""
    return any(writer.owner == threading.get_ident() for writer in list(_WRITERS.values()))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
