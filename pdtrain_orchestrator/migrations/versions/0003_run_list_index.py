"""Index runs by owner and creation time for the run list

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:03:27.427126
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_runs_owner_created_at_id",
            ["owner", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_owner_created_at_id")
