"""Aftercare: per-practitioner check-in schedule, the check-in conversation, flag links.

Revision ID: 0004
Revises: 0003
Created: 2026-11-21

- ``practitioners.checkin_days`` (JSON list, default ``[]``: the operator's
  ``CHECKIN_DAYS``) and ``practitioners.checkin_time`` (``HH:MM``, NULL: the
  operator's ``CHECKIN_TIME``).
- ``checkins.step`` (where the conversation stands; existing rows ``done``),
  ``checkins.answered_at`` and ``checkins.snoozes``.
- ``clients.checkin_prompt_at``: when the client was asked whether to keep getting
  check-ins after several went unanswered.
- ``flags.checkin_id``: the check-in a flag came from. No foreign key: adding one would
  rebuild the table on SQLite, and a flag goes with its client anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the columns; constant defaults keep these plain ALTERs on SQLite."""
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("checkin_days", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("checkin_time", sa.String(5), nullable=True))
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("step", sa.String(16), server_default="done", nullable=False))
        batch.add_column(sa.Column("answered_at", TIME, nullable=True))
        batch.add_column(sa.Column("snoozes", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("checkin_prompt_at", TIME, nullable=True))
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("checkin_id", ID, nullable=True))


def downgrade() -> None:
    """Drop the columns and what they held."""
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("checkin_id")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("checkin_prompt_at")
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("snoozes")
        batch.drop_column("answered_at")
        batch.drop_column("step")
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("checkin_time")
        batch.drop_column("checkin_days")
