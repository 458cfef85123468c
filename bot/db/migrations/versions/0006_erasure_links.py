"""Rows record whose data they carry, so that erasing a client reaches them.

Revision ID: 0006
Revises: 0005
Created: 2026-12-04

- ``outbox.about_client_id``: the client whose name or words a message to someone else
  carries (alerts and notices to the practitioner); ``outbox.forget_after_send``: the
  payload is cleared once the message is done.
- ``audit_log.client_id``: the client an entry concerns.

Existing alerts are linked to their client through their flag (``flag:<id>:...``), and
existing audit entries through their subject or, for what a client did themselves, their
actor; notices written before this revision carry no link and are cleared by the outbox
retention.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX_INDEX = "ix_outbox_about_client_id"
AUDIT_INDEX = "ix_audit_log_client_id"


def upgrade() -> None:
    """Add the columns and their indexes, and link what can be linked."""
    # Plain ADD COLUMNs (constant defaults): no table is rebuilt, on SQLite either.
    op.add_column("outbox", sa.Column("about_client_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "outbox",
        sa.Column("forget_after_send", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("audit_log", sa.Column("client_id", sa.BigInteger(), nullable=True))
    op.create_index(OUTBOX_INDEX, "outbox", ["about_client_id"])
    op.create_index(AUDIT_INDEX, "audit_log", ["client_id"])
    op.execute(
        "UPDATE outbox SET about_client_id = (SELECT flags.client_id FROM flags"
        " WHERE outbox.dedup_key LIKE 'flag:' || CAST(flags.id AS VARCHAR(20)) || ':%')"
        " WHERE outbox.dedup_key LIKE 'flag:%'"
    )
    op.execute(
        "UPDATE audit_log SET client_id = subject_id"
        " WHERE subject_type = 'client' AND subject_id IS NOT NULL"
    )
    # What a client did themselves (snoozed, cancelled, changed zone, was refused...):
    # their Telegram id is the actor. Not a practitioner's own entries.
    op.execute(
        "UPDATE audit_log SET client_id = (SELECT MIN(clients.id) FROM clients"
        " WHERE clients.telegram_user_id = audit_log.actor_telegram_id)"
        " WHERE client_id IS NULL AND actor_telegram_id IS NOT NULL"
        " AND actor_telegram_id NOT IN (SELECT telegram_user_id FROM practitioners)"
    )


def downgrade() -> None:
    """Drop the indexes and the columns."""
    op.drop_index(AUDIT_INDEX, table_name="audit_log")
    op.drop_index(OUTBOX_INDEX, table_name="outbox")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("client_id")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("forget_after_send")
        batch.drop_column("about_client_id")
