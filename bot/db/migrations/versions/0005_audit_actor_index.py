"""An index to find a user's own audit entries.

Revision ID: 0005
Revises: 0004
Created: 2026-12-04

A practitioner's pending Reply is their latest Reply entry in the audit log. It is
looked up by actor and time, so however many entries others add, it is found at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_audit_log_actor_telegram_id_at"


def upgrade() -> None:
    """Add the index."""
    op.create_index(INDEX, "audit_log", ["actor_telegram_id", "at"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(INDEX, table_name="audit_log")
