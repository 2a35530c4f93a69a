"""one token bucket per rate-limited endpoint, shared by every dispatcher

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:00:00

An endpoint's ``rate_limit`` was kept by each dispatcher process on its own, so
N dispatchers could send N times the limit. The bucket now lives in the
endpoint's row: a claim refills it for the time passed (up to one second's
worth), takes at most the whole tokens left, and writes back what remains.
Both columns start empty, which reads as a full bucket.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("endpoints", sa.Column("rate_tokens", sa.Double(), nullable=True))
    op.add_column("endpoints", sa.Column("rate_refilled_at", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:  # SQLite rebuilds the table
        batch.drop_column("rate_refilled_at")
        batch.drop_column("rate_tokens")
