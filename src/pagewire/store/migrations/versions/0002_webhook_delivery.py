"""webhook delivery: endpoint health, per-endpoint due and per-job order indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("endpoints", sa.Column("failing_since", sa.Double(), nullable=True))
    op.add_column("endpoints", sa.Column("disabled_at", sa.Double(), nullable=True))
    op.create_index(
        "ix_deliveries_endpoint_due",
        "deliveries",
        ["endpoint_id", "next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_deliveries_pending_order",
        "deliveries",
        ["job_id", "endpoint_id", "sequence"],
        postgresql_where=sa.text("status = 'pending' AND job_id IS NOT NULL"),
        sqlite_where=sa.text("status = 'pending' AND job_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_pending_order", table_name="deliveries")
    op.drop_index("ix_deliveries_endpoint_due", table_name="deliveries")
    op.drop_column("endpoints", "disabled_at")
    op.drop_column("endpoints", "failing_since")
