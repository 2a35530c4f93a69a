"""fair share between organizations: an index of each organization's pending jobs,
and token buckets every API node shares

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00

A claim deals pending jobs to the organizations with pending work in turns
(pagewire.store.fair_claim). It finds those organizations by skipping through
``ix_jobs_pending_org`` (one probe each), reads each one's next jobs, in its priority
order, from it, and counts each one's running jobs in ``ix_jobs_running_org``. ``ix_jobs_pending`` (the FIFO claim's) is kept for this release, so that nodes
of the previous release claim as fast while a cluster upgrades; a later release
drops it.

``rate_buckets`` holds the API's per-organization request limit (a row per
organization, ``org:<id>``) where each API node kept its own in memory, so N nodes
let an organization through at N times the limit (pagewire.store.ratelimits).
On PostgreSQL the table is UNLOGGED: buckets are worth no log write and fsync per
request, and a crash that empties them only makes every bucket full again.
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
    op.create_index(
        "ix_jobs_running_org",
        "jobs",
        ["org_id"],
        postgresql_where=sa.text("status = 'processing'"),
        sqlite_where=sa.text("status = 'processing'"),
    )

    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("refilled_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        # PostgreSQL: UNLOGGED, so that a request's take does not wait for the log
        # to reach the disk (5 ms there, 0.3 ms here). A crash empties the table:
        # every bucket is full again, which a rate limit can afford.
        prefixes=["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else [],
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    op.drop_index("ix_jobs_running_org", table_name="jobs")
    op.drop_index("ix_jobs_pending_org", table_name="jobs")
