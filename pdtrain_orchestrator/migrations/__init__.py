"""Alembic migrations of the orchestrator's database (see migrate.py)."""
