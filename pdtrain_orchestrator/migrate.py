"""Bring the database schema up to date with Alembic migrations.

Every start of the orchestrator runs `upgrade`, on SQLite and on
PostgreSQL alike. `pdtrain-orchestrator db revision` writes a new
migration from the difference between models.py and the migrated
schema; tests/orchestrator/test_migrations.py fails while they differ.
"""

import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from pdtrain_orchestrator.models import Base

LOG = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The revision whose schema equals what `Base.metadata.create_all` made
# before migrations existed; such databases are stamped with it.
BASELINE = "0001"
# pg_advisory_xact_lock key: workers that start together migrate in turn.
MIGRATION_LOCK_KEY = 7_413_001


def make_config(connection: Connection | None = None) -> Config:
    """Return an Alembic Config for the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(make_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _stamp_unversioned(connection: Connection, config: Config) -> None:
    tables = set(inspect(connection).get_table_names())
    if "runs" in tables and "alembic_version" not in tables:
        LOG.warning(
            "Database has tables but no migration version; stamping %s",
            BASELINE,
        )
        command.stamp(config, BASELINE)


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks, in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": MIGRATION_LOCK_KEY},
            )
        config = make_config(connection)
        _stamp_unversioned(connection, config)
        before = current_revision(connection)
        command.upgrade(config, "head")
        after = current_revision(connection)
    if before != after:
        LOG.info("Migrated the database from %s to %s", before, after)


def schema_differences(connection: Connection) -> list:
    """Return how the migrated schema differs from models.py."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True}
    )
    return compare_metadata(context, Base.metadata)


def write_revision(engine: Engine, message: str) -> str | None:
    """Autogenerate a migration for what models.py adds; return its path."""
    upgrade(engine)
    with engine.begin() as connection:
        if not schema_differences(connection):
            return None
        config = make_config(connection)
        head = head_revision()
        script = command.revision(
            config,
            message=message,
            autogenerate=True,
            rev_id=f"{int(head) + 1:04d}" if head else BASELINE,
        )
    return script.path
