from __future__ import annotations

from alembic import context
from alembic.util import CommandError

from om_graph.core.kernel.db import make_engine
from om_graph.core.kernel.models import Base

config = context.config
target_metadata = Base.metadata


# No render_as_batch: a batch rebuild of an order table on SQLite drops it, and with foreign keys
# on (core/kernel/db.py) the drop cascades into its child rows. Migrations use plain ALTER TABLE
# (docs/operations.md, "Writing a migration").


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise CommandError("no database: set sqlalchemy.url (om_graph.migrations.alembic_config(url))")
    engine = make_engine(url)  # on SQLite, with the triggers' function
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
