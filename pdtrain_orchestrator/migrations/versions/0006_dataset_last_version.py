"""Remember the highest version number of each dataset

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_version", sa.Integer(), nullable=True)
        )
    # Numbers of versions deleted before this revision are not known;
    # the highest remaining one is the best start.
    op.execute(
        "UPDATE datasets SET last_version = (SELECT MAX(version) FROM "
        "dataset_versions WHERE dataset_versions.dataset_id = datasets.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("last_version")
