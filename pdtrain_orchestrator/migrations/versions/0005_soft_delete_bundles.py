"""Mark deleted bundle versions instead of removing their rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Runs refer to bundles by foreign key, so a deleted bundle keeps its
    # row with deleted_at set; rows made before this revision are live.
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deleted_at", sa.DateTime(), nullable=True)
        )


def downgrade() -> None:
    # NOTE: deleted bundles come back as live rows whose archive is gone,
    # because runs still refer to them and so the rows cannot be dropped.
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
