"""What a failed send still leads to gets its own outbox column.

Revision ID: 0009
Revises: 0008
Created: 2026-12-04

A send that fails because the chat cannot be reached (or an alert that fails for good) is
recorded with ``follow_up`` set; stopping a client's messages, telling their practitioner
and passing an alert on happen afterwards, in a pass of their own, which clears it. A
partial index finds the few such rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_follow_up"
PENDING_ONLY = sa.text("follow_up IS NOT NULL")


def upgrade() -> None:
    """Add the column (empty for every existing row) and its partial index."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("follow_up", sa.String(16), nullable=True))
    op.create_index(
        INDEX, "outbox", ["follow_up"], sqlite_where=PENDING_ONLY, postgresql_where=PENDING_ONLY
    )


def downgrade() -> None:
    """Drop the index and the column; follow-ups not yet done are dropped with it."""
    op.drop_index(INDEX, table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("follow_up")
