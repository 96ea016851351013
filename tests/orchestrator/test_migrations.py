"""Alembic migrations: they build models.py's schema, on both databases."""

import pytest
from sqlalchemy import inspect, text

from pdtrain_orchestrator import db, migrate
from pdtrain_orchestrator.models import Base
from tests import postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        made = db.make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield made
        made.dispose()
        return
    with postgres.fresh_schema() as url:
        made = db.make_engine(url)
        yield made
        made.dispose()


def test_migrations_match_models(engine):
    migrate.upgrade(engine)

    with engine.connect() as connection:
        differences = migrate.schema_differences(connection)
        revision = migrate.current_revision(connection)

    # A failure here means models.py changed without a migration: run
    # `pdtrain-orchestrator db revision -m "what changed"` and review it.
    assert differences == []
    assert revision == migrate.head_revision()


def test_migrations_upgrade_twice_is_a_no_op(engine):
    migrate.upgrade(engine)
    migrate.upgrade(engine)

    tables = set(inspect(engine).get_table_names())

    assert set(Base.metadata.tables) <= tables


def test_migrations_adopt_database_made_before_them(engine):
    # Databases of the first release were made by create_all without an
    # Alembic version table; their schema is migration 0001's.
    migrate_to_baseline(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))

    migrate.upgrade(engine)

    with engine.connect() as connection:
        assert migrate.schema_differences(connection) == []


def migrate_to_baseline(engine):
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(migrate.make_config(connection), migrate.BASELINE)
