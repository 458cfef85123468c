"""Outbox columns and indexes for the delivery engine.

Revision ID: 0002
Revises: 0001
Created: 2026-11-21

Adds to ``outbox``:

- ``next_attempt_at`` (NOT NULL): when the message may next be tried. It starts
  as ``due_at`` and moves on after a retry wait; ``due_at`` itself never
  changes, so lateness is still measured from it. Existing rows get their
  ``due_at``.
- ``expires_at`` (nullable): after it the message is never sent.
- ``priority`` (NOT NULL, default 0): higher goes first among what is due.

and replaces the ``(state, due_at)`` index by ``(state, next_attempt_at)``, which
serves the claim query and the next wake-up time, plus ``(state, expires_at)``
for skipping expired rows and ``(chat_id)`` for cancelling a blocked chat's
messages (``client_id`` and ``appointment_id`` are indexed since 0001).

SQLite cannot make a column NOT NULL in place, so batch mode rebuilds the table
there. The rebuild copies from a ``Table`` written out below rather than one
reflected from the database: that keeps the revision self-contained, like 0001,
and lets ``--sql`` (offline) mode print it. PostgreSQL gets plain ``ALTER``s.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

OLD_DUE_INDEX = ("state", "due_at")
KEPT_INDEXES = (("practitioner_id",), ("client_id",), ("appointment_id",))
NEW_INDEXES = (("state", "next_attempt_at"), ("state", "expires_at"), ("chat_id",))


def _index_name(columns: Sequence[str]) -> str:
    return f"ix_outbox_{'_'.join(columns)}"


def _outbox(*, next_attempt_at_nullable: bool, indexes: Sequence[Sequence[str]]) -> sa.Table:
    """The ``outbox`` table with the new columns, as it stands when SQLite rebuilds it."""

    def ref(column: str, target: str) -> list[sa.schema.SchemaItem]:
        return [
            sa.Column(column, ID, nullable=True),
            sa.ForeignKeyConstraint(
                [column],
                [f"{target}.id"],
                name=f"fk_outbox_{column}_{target}",
                ondelete="CASCADE",
            ),
        ]

    return sa.Table(
        "outbox",
        sa.MetaData(),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        *ref("practitioner_id", "practitioners"),
        *ref("client_id", "clients"),
        *ref("appointment_id", "appointments"),
        sa.Column("silent", sa.Boolean(), nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("lateness_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=next_attempt_at_nullable),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedup_key", name="uq_outbox_dedup_key"),
        *(sa.Index(_index_name(columns), *columns) for columns in indexes),
    )


def upgrade() -> None:
    """Add the three columns, fill ``next_attempt_at`` from ``due_at``, then swap the indexes."""
    # Adding nullable columns (or one with a constant default) is a plain
    # ALTER TABLE on SQLite too: no rebuild yet.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("next_attempt_at", TIME, nullable=True))
        batch.add_column(sa.Column("expires_at", TIME, nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))

    op.execute("UPDATE outbox SET next_attempt_at = due_at")

    copy_from = _outbox(next_attempt_at_nullable=True, indexes=(OLD_DUE_INDEX, *KEPT_INDEXES))
    with op.batch_alter_table("outbox", copy_from=copy_from) as batch:
        batch.alter_column("next_attempt_at", existing_type=TIME, nullable=False)
        batch.drop_index(_index_name(OLD_DUE_INDEX))
        for columns in NEW_INDEXES:
            batch.create_index(_index_name(columns), list(columns))


def downgrade() -> None:
    """Restore the ``(state, due_at)`` index and drop the three columns (and their values)."""
    copy_from = _outbox(next_attempt_at_nullable=False, indexes=(*KEPT_INDEXES, *NEW_INDEXES))
    with op.batch_alter_table("outbox", copy_from=copy_from) as batch:
        for columns in NEW_INDEXES:
            batch.drop_index(_index_name(columns))
        batch.create_index(_index_name(OLD_DUE_INDEX), list(OLD_DUE_INDEX))
        batch.drop_column("priority")
        batch.drop_column("expires_at")
        batch.drop_column("next_attempt_at")
