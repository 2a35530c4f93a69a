"""a delivery attempt's error detail: the HTTP library's own text, apart from the words

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 16:20:00

An attempt that got no answer recorded the library's text as its error
(``ClientConnectorError: Cannot connect to host ...``), which the portal showed.
``error`` now says what happened in words (``connection refused: ...``,
pagewire.kernel.net_errors) and ``error_detail`` keeps the library's text. Older
attempts keep their error as it was, with no detail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("attempts", sa.Column("error_detail", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:  # SQLite rebuilds the table
        batch.drop_column("error_detail")
