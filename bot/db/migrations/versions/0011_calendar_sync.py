"""Sessions follow a practitioner's own calendar: subscriptions, events and choices.

Revision ID: 0011
Revises: 0010
Created: 2026-12-04

``calendar_subscriptions``: one per practitioner, the calendar's address (encrypted: it
is a secret), its ETag and Last-Modified for conditional requests, and when to poll next
(with backoff after failures). ``calendar_entries``: one per event and occurrence, what
became of it (a session booked, a question asked, not a session...). Its title may name
a client, so it is encrypted and goes with the client's erasure. ``calendar_choices``:
the practitioner's answer for an event and its repeats.

Self-contained, as every revision: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "calendar_subscriptions",
        _id(),
        sa.Column("practitioner_id", ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(500), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("next_poll_at", TIME, nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failing_told", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("synced_at", TIME, nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_subscriptions")),
        sa.UniqueConstraint(
            "practitioner_id", name=op.f("uq_calendar_subscriptions_practitioner_id")
        ),
        _fk("calendar_subscriptions", "practitioner_id", "practitioners", "CASCADE"),
    )
    op.create_index(
        op.f("ix_calendar_subscriptions_next_poll_at"), "calendar_subscriptions", ["next_poll_at"]
    )
    op.create_table(
        "calendar_entries",
        _id(),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("uid", sa.String(500), nullable=False),
        sa.Column("recurrence_id", sa.String(64), nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("appointment_id", ID, nullable=True),
        sa.Column("client_id", ID, nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
        sa.UniqueConstraint(
            "subscription_id",
            "uid",
            "recurrence_id",
            name=op.f("uq_calendar_entries_subscription_id_uid_recurrence_id"),
        ),
        _fk("calendar_entries", "subscription_id", "calendar_subscriptions", "CASCADE"),
        _fk("calendar_entries", "appointment_id", "appointments", "SET NULL"),
        _fk("calendar_entries", "client_id", "clients", "CASCADE"),
    )
    op.create_index(
        op.f("ix_calendar_entries_appointment_id"), "calendar_entries", ["appointment_id"]
    )
    op.create_index(op.f("ix_calendar_entries_client_id"), "calendar_entries", ["client_id"])
    op.create_table(
        "calendar_choices",
        _id(),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("uid", sa.String(500), nullable=False),
        sa.Column("client_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_choices")),
        sa.UniqueConstraint(
            "subscription_id", "uid", name=op.f("uq_calendar_choices_subscription_id_uid")
        ),
        _fk("calendar_choices", "subscription_id", "calendar_subscriptions", "CASCADE"),
        _fk("calendar_choices", "client_id", "clients", "CASCADE"),
    )
    op.create_index(op.f("ix_calendar_choices_client_id"), "calendar_choices", ["client_id"])


def downgrade() -> None:
    """Drop the three tables: the subscriptions, and what syncing them remembered (the
    sessions it booked stay)."""
    op.drop_table("calendar_choices")
    op.drop_table("calendar_entries")
    op.drop_table("calendar_subscriptions")
