"""job shards: a long document's page ranges as jobs any worker can claim

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-12 09:00:00

A shard is a row of ``jobs`` whose ``parent_id`` names the job it is part of
(pagewire.store.shards). Additive only: older nodes never create shards, and read
every row as a job of their own as before (they list a shard only while a newer
worker has split a job). The index finds a job's shards.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("parent_id", sa.String(length=40), nullable=True))
    op.create_index("ix_jobs_parent", "jobs", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_parent", table_name="jobs")
    op.drop_column("jobs", "parent_id")
