"""Alembic environment: run migrations on the connection migrate.py gives.

Without one (the `alembic` command line), the URL comes from the
`sqlalchemy.url` option of the Alembic config.
"""

from alembic import context
from sqlalchemy import TypeDecorator, create_engine

from pdtrain_orchestrator.models import Base

config = context.config


def _render_item(kind, item, autogen_context):
    """Write decorated column types as their stored type (UTCDateTime as
    sa.DateTime), so migrations never import models.py."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl_instance!r}"
    return False


def _configure(connection) -> None:
    # Batch mode rebuilds a table to alter it, which SQLite needs for
    # most ALTER TABLE changes; PostgreSQL alters in place.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as opened:
        _configure(opened)
    engine.dispose()
