"""Alembic environment: migrations run on the connection handed over by :func:`store.db.migrate`."""

from alembic import context
from sqlalchemy import text

from vru_desktop.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
if connection.dialect.name == "postgresql":
    # Two people opening a new server at once: the second waits, then finds the schema current.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('vru_desktop migrations'))"))
with context.begin_transaction():
    context.run_migrations()
