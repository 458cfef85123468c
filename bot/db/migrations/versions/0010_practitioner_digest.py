"""Each practitioner chooses whether the morning list carries the daily digest.

Revision ID: 0010
Revises: 0009
Created: 2026-12-04

Adds ``practitioners.digest`` (boolean, NOT NULL, default true): yesterday's answers in
the morning list. Every existing practitioner gets it on; they turn it off with
``/settings`` (or the operator with ``stillpoint practitioner add --digest off``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column; a constant default keeps it a plain ALTER on SQLite too.

    The default is the string ``'1'``, not ``sa.true()``: an expression would make SQLite's
    batch mode rebuild the table (and ``--sql`` mode refuse). Both databases read ``'1'``
    as true.
    """
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("digest", sa.Boolean(), server_default="1", nullable=False))


def downgrade() -> None:
    """Drop the column and the choices it held."""
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("digest")
