"""Add the tables and columns added after the first release

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 16:52:16.609142
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "multipart_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("s3_key", sa.String(length=1024), nullable=False),
        sa.Column("store_upload_id", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("multipart_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_multipart_uploads_owner"), ["owner"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_multipart_uploads_s3_key"), ["s3_key"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "key"),
    )
    op.create_table(
        "run_log_streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("next_token", sa.String(length=1024), nullable=True),
        sa.Column("last_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("seen_at_last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "name"),
    )
    with op.batch_alter_table("run_log_streams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_run_log_streams_run_id"), ["run_id"], unique=False
        )

    op.create_table(
        "run_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("secondary_status", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("run_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_run_transitions_run_id"), ["run_id"], unique=False
        )

    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files", sa.JSON(), nullable=True))

    with op.batch_alter_table("log_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source_offset", sa.BigInteger(), nullable=True)
        )

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "instance_count",
                sa.Integer(),
                server_default="1",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("max_wait_seconds", sa.Integer(), nullable=True)
        )
        batch_op.add_column(sa.Column("metrics", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("metrics")
        batch_op.drop_column("max_wait_seconds")
        batch_op.drop_column("instance_count")

    with op.batch_alter_table("log_events", schema=None) as batch_op:
        batch_op.drop_column("source_offset")

    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_column("files")

    with op.batch_alter_table("run_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_transitions_run_id"))

    op.drop_table("run_transitions")
    with op.batch_alter_table("run_log_streams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_log_streams_run_id"))

    op.drop_table("run_log_streams")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("multipart_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_multipart_uploads_s3_key"))
        batch_op.drop_index(batch_op.f("ix_multipart_uploads_owner"))

    op.drop_table("multipart_uploads")
