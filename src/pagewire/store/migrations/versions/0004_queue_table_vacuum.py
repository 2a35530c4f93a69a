"""vacuum the queue tables early: jobs and deliveries are rewritten by every claim

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:10:00

Every claim, heartbeat and outcome writes a new version of a job or delivery
row; the old ones stay in the partial "pending" indexes until VACUUM removes
them, and each claim walks past them. PostgreSQL's default (vacuum once a fifth
of a table is dead) lets a busy queue's claims slow down by several times
between vacuums, so these two tables are vacuumed and analyzed much sooner.
SQLite updates rows in place and needs nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

QUEUE_TABLES = ("jobs", "deliveries")
SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 500"
)
RESET = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
    "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE {table} SET ({SETTINGS})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE {table} RESET ({RESET})")
