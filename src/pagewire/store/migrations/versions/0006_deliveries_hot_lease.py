"""leave room in each deliveries page, so a lease is a HOT update

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 04:20:00

A claim writes a delivery's lease (token, expiry, attempt count) and no indexed
column, so PostgreSQL can keep the new row version in the same page without
touching any of the table's six indexes (a heap-only tuple), but only when the
page has room for it. Rows are inserted until pages are full, and a claim
leases the oldest due rows, which sit side by side: so a page must have room
for a second version of every row on it, or most leases are still full updates.
A lease that is a HOT update costs PostgreSQL a fraction of one that moves an
indexed column (as moving the due time used to). The cost is space: the table's
pages hold half as many rows (a delivery row is about 250 bytes). It applies to
pages written from now on. SQLite updates rows in place and needs nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deliveries SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deliveries RESET (fillfactor)")
