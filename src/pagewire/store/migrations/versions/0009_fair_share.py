"""fair share between organizations: an index of each organization's pending jobs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00

A claim deals pending jobs to the organizations with pending work in turns
(pagewire.store.fair_claim). It finds those organizations by skipping through this
index (one probe each) and reads each one's next jobs, in its priority order, from
it. ``ix_jobs_pending`` (the FIFO claim's) is kept for this release, so that nodes
of the previous release claim as fast while a cluster upgrades; a later release
drops it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_pending_org",
        "jobs",
        ["org_id", sa.text("priority DESC"), "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_pending_org", table_name="jobs")
