"""Per-practitioner reminder offsets.

Revision ID: 0003
Revises: 0002
Created: 2026-11-21

Adds ``practitioners.reminder_offsets_minutes`` (JSON list of minutes before a
session, NOT NULL, default ``[]``). An empty list means the operator's default
(``REMINDER_OFFSETS``), so existing practitioners keep the reminders they had.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column; a constant default keeps it a plain ALTER on SQLite too."""
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(
            sa.Column("reminder_offsets_minutes", sa.JSON(), server_default="[]", nullable=False)
        )


def downgrade() -> None:
    """Drop the column and the offsets it held."""
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("reminder_offsets_minutes")
