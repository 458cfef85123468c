"""Client names, their words and message payloads are stored encrypted.

Revision ID: 0007
Revises: 0006
Created: 2026-12-04

- ``clients.full_name``, ``replies.text`` and ``outbox.payload`` become text holding
  encrypted values (``bot/db/encrypted.py``); every existing value is encrypted here with
  the process's current data key, which this step therefore needs when there is anything
  to encrypt.
- ``data_keys``: which keys have encrypted values here (never the keys).

The downgrade decrypts every value again, so it needs the keys too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.encrypted import seal, unseal
from bot.db.key_registry import register_current_key, rewrite_batch

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
# The columns this revision encrypts (fixed here: a later revision adds its own).
ENCRYPTED_COLUMNS = (("clients", "full_name"), ("replies", "text"), ("outbox", "payload"))
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Widen the columns to text, create the key registry, encrypt what is stored."""
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("check_value", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("retired_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_data_keys")),
    )
    offline = op.get_context().as_sql
    if not (offline and op.get_context().dialect.name == "sqlite"):
        # (SQLite's declared types hold any text; its batch mode needs a live database.)
        with op.batch_alter_table("clients") as batch:
            batch.alter_column("full_name", type_=sa.Text(), existing_nullable=False)
        with op.batch_alter_table("outbox") as batch:
            batch.alter_column(
                "payload",
                type_=sa.Text(),
                existing_type=sa.JSON(),
                existing_nullable=False,
                postgresql_using="payload::text",
            )
    if offline:
        op.get_context().impl.static_output(
            "-- 0007: stored values are encrypted only by an online upgrade (stillpoint migrate)"
        )
        return
    # Nothing is encrypted before this step (and it is one transaction), so every value
    # is plain text, even one that happens to look like an encrypted value.
    encrypted = _rewrite_all(seal)
    if encrypted:
        register_current_key(op.get_bind())


def downgrade() -> None:
    """Decrypt every value and give the columns their old types back."""
    _rewrite_all(unseal)
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column(
            "payload",
            type_=sa.JSON(),
            existing_type=sa.Text(),
            existing_nullable=False,
            postgresql_using="payload::json",
        )
    with op.batch_alter_table("clients") as batch:
        batch.alter_column(
            "full_name", type_=sa.String(200), existing_type=sa.Text(), existing_nullable=False
        )
    op.drop_table("data_keys")


def _rewrite_all(change: Callable[[str, str], str]) -> int:
    """Apply ``change(value, purpose)`` to every stored value; how many changed."""
    changed = 0
    for table, column in ENCRYPTED_COLUMNS:
        after: int | None = 0
        while after is not None:
            after, count = rewrite_batch(
                op.get_bind(), table, column, change, after=after, limit=BATCH
            )
            changed += count
    return changed
