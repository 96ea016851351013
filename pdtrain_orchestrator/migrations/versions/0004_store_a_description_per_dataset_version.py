"""Store a description per dataset version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:04:55.598526
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Versions made before this revision keep no description of their
    # own: the dataset's description may belong to a later upload.
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_column("description")
