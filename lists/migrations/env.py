"""Alembic environment: runs on the connection the store hands over (or on the configured URL)."""

from alembic import context
from sqlalchemy import create_engine

from lists.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "alembic.ini or the caller sets sqlalchemy.url"
    with create_engine(url).connect() as conn:
        _run(conn)
