"""a settings table: the encryption keys' checks (secrets at rest)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 14:30:00

Endpoint secrets, custom header values and replayable responses are sealed with
the keys of ``PAGEWIRE_ENCRYPTION_KEYS`` (pagewire.security.encryption). This table keeps,
per key id, a constant sealed with that key, checked at every start so a wrong key
is a start-up error. The values stored in plaintext before this revision are sealed
by ``open_services`` right after the migrations (``AtRestStore.seal_legacy``), not
here: that needs the keys, which the migration environment does not have (and, on
SQLite, may have to create), and it runs in batches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("settings")
