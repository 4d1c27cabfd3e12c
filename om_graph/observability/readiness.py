"""Readiness: can this process serve now? The database answers, the broker answers, and the
database's schema is at the head of ``om_graph/migrations``.

Each check returns ``(ok, detail)``; details name what is wrong (an exception's class, revision
ids) but never URLs, hosts or messages that could carry credentials: the full error is logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from om_graph.core.kernel.db import READ_ONLY
from om_graph.migrations import alembic_config

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
Check = tuple[bool, str]


@functools.cache
def migration_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def check_database(engine) -> tuple[Check, Check]:
    """The database and the migrations, over one connection."""
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:
        log.warning("readiness: the database check failed", exc_info=True)
        return (False, f"unreachable ({type(exc).__name__})"), (False, "unknown: the database is unreachable")
    heads = migration_heads()
    if current == heads:
        migrations = (True, f"at head {', '.join(sorted(heads))}")
    elif not current:
        migrations = (False, f"not migrated (head {', '.join(sorted(heads))}): run om-graph db upgrade")
    else:
        migrations = (False, f"at {', '.join(sorted(current))}, head {', '.join(sorted(heads))}: run om-graph db upgrade")
    return (True, "answers"), migrations


def check_broker(runtime) -> Check:
    """Scaled: Redis answers a PING (on its own short-timeout connection). Embedded: the
    in-process worker is running, or nothing would ever process a job."""
    if runtime.settings.scaled:
        import redis

        client = redis.Redis.from_url(
            runtime.settings.redis_url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        except Exception as exc:
            log.warning("readiness: Redis did not answer", exc_info=True)
            return False, f"redis unreachable ({type(exc).__name__})"
        finally:
            client.close()
        return True, "redis answers"
    if runtime.workers_running:
        return True, "in-process worker running"
    return False, "no in-process worker is running"


async def readiness(runtime) -> tuple[bool, dict]:
    """Run the checks concurrently in threads, each bounded by a timeout."""
    database, broker = await asyncio.gather(
        _bounded(functools.partial(check_database, runtime.engine), ((False, "timed out"), (False, "unknown: timed out"))),
        _bounded(functools.partial(check_broker, runtime), (False, "timed out")),
    )
    checks = {"database": database[0], "migrations": database[1], "broker": broker}
    ready = all(ok for ok, _ in checks.values())
    return ready, {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}


async def _bounded(check: Callable, on_timeout):
    try:
        return await asyncio.wait_for(asyncio.to_thread(check), CHECK_TIMEOUT_SECONDS * 2)
    except TimeoutError:
        return on_timeout
