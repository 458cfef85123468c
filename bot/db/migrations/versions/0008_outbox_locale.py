"""The reader's language gets its own outbox column instead of a key inside the payload.

Revision ID: 0008
Revises: 0007
Created: 2026-12-04

Existing rows take the ``locale`` their (encrypted) payload holds, so a message waiting to
go is still rendered in its reader's language; the downgrade puts it back into the payload.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.db.encrypted import seal, unseal

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
PURPOSE = "outbox.payload"


def upgrade() -> None:
    """Add the column ('en' by default) and fill it from each payload."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("locale", sa.String(16), server_default="en", nullable=False))
    if op.get_context().as_sql:
        return  # nothing to read: every row keeps 'en'

    def from_payload(payload: dict[str, Any], locale: str) -> tuple[dict[str, Any], str]:
        return payload, str(payload.get("locale") or locale)

    _each_row(from_payload)


def downgrade() -> None:
    """Put each row's language back into its payload, then drop the column."""
    if not op.get_context().as_sql:

        def into_payload(payload: dict[str, Any], locale: str) -> tuple[dict[str, Any], str]:
            return ({**payload, "locale": locale} if payload else payload), locale

        _each_row(into_payload)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("locale")


def _each_row(
    change: Callable[[dict[str, Any], str], tuple[dict[str, Any], str]],
) -> None:
    """Apply ``change(payload, locale)`` to every row, writing back what it changed."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, payload, locale FROM outbox WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        for row in rows:
            payload = json.loads(unseal(row.payload, PURPOSE))
            new_payload, new_locale = change(payload, row.locale)
            if new_payload != payload or new_locale != row.locale:
                stored = json.dumps(new_payload, ensure_ascii=False, separators=(",", ":"))
                connection.execute(
                    sa.text(
                        "UPDATE outbox SET payload = :payload, locale = :locale WHERE id = :id"
                    ),
                    {"id": row.id, "payload": seal(stored, PURPOSE), "locale": new_locale},
                )
        last = rows[-1].id
