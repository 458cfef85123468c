"""Each bot process keeps a heartbeat; its claims are known to be its own.

Revision ID: 0012
Revises: 0011
Created: 2026-12-04

Adds ``bot_processes`` (one row per running process sharing a PostgreSQL database, its
``beat_at`` renewed every few seconds) and ``outbox.claimed_by`` (the process that claimed
a ``sending`` row). A process whose heartbeat stopped is removed by a peer, and the rows
it claimed become ``uncertain`` at once, instead of after a claim lease of minutes.
Claims made before this revision have no ``claimed_by`` and keep the lease.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the table and the column (nullable: a plain ALTER on SQLite too)."""
    op.create_table(
        "bot_processes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("beat_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_processes")),
        sqlite_autoincrement=True,  # ids never reused: a new process must not seem to
        # hold the claims of a removed one
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", ID, nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("bot_processes")
