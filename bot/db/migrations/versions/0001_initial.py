"""Initial schema: every table of the first release.

Practitioners, clients, invites, sessions (appointments), the outbox,
check-ins, replies, flags and the audit log.

Revision ID: 0001
Revises:
Created: 2026-11-21

Self-contained on purpose: it imports nothing from the application, so later
changes to the models cannot change what this revision does. Times are
``DateTime(timezone=True)`` (``timestamptz`` on PostgreSQL, UTC text on SQLite)
and enum values are short strings, as in ``bot.db.types``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 64-bit ids on PostgreSQL; SQLite only autoincrements a plain INTEGER PRIMARY KEY.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def _ref(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, ID, nullable=nullable)


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "practitioners",
        _id(),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("location", sa.String(500), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_practitioners_telegram_user_id")),
    )

    op.create_table(
        "clients",
        _id(),
        _ref("practitioner_id"),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("consented_at", TIME, nullable=True),
        sa.Column("checkins_paused", sa.Boolean(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        # A practitioner with clients cannot be deleted by accident.
        _fk("clients", "practitioner_id", "practitioners", "RESTRICT"),
        sa.UniqueConstraint(
            "practitioner_id",
            "telegram_user_id",
            name=op.f("uq_clients_practitioner_id_telegram_user_id"),
        ),
    )
    _index("clients", "telegram_user_id")

    op.create_table(
        "invites",
        _id(),
        _ref("practitioner_id"),
        _ref("client_id"),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("revoked_at", TIME, nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        _fk("invites", "practitioner_id", "practitioners", "CASCADE"),
        _fk("invites", "client_id", "clients", "CASCADE"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invites_token_hash")),
    )
    _index("invites", "client_id")

    op.create_table(
        "appointments",
        _id(),
        _ref("practitioner_id"),
        _ref("client_id"),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _created_at(),
        sa.Column("updated_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        _fk("appointments", "practitioner_id", "practitioners", "CASCADE"),
        _fk("appointments", "client_id", "clients", "CASCADE"),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_appointments_duration_positive")),
    )
    _index("appointments", "client_id")
    _index("appointments", "practitioner_id", "starts_at")

    op.create_table(
        "outbox",
        _id(),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ref("practitioner_id", nullable=True),
        _ref("client_id", nullable=True),
        _ref("appointment_id", nullable=True),
        sa.Column("silent", sa.Boolean(), nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("lateness_ms", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        _fk("outbox", "practitioner_id", "practitioners", "CASCADE"),
        _fk("outbox", "client_id", "clients", "CASCADE"),
        _fk("outbox", "appointment_id", "appointments", "CASCADE"),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    _index("outbox", "state", "due_at")
    _index("outbox", "practitioner_id")
    _index("outbox", "client_id")
    _index("outbox", "appointment_id")

    op.create_table(
        "checkins",
        _id(),
        _ref("client_id"),
        _ref("appointment_id"),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        _fk("checkins", "client_id", "clients", "CASCADE"),
        _fk("checkins", "appointment_id", "appointments", "CASCADE"),
        sa.UniqueConstraint("appointment_id", "day", name=op.f("uq_checkins_appointment_id_day")),
    )
    _index("checkins", "client_id")

    op.create_table(
        "replies",
        _id(),
        _ref("client_id"),
        _ref("checkin_id", nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comparison", sa.String(32), nullable=True),
        sa.Column("body_areas", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("triage_level", sa.String(16), nullable=False),
        sa.Column("triage_reasons", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        _fk("replies", "client_id", "clients", "CASCADE"),
        # A reply outlives the check-in it answered.
        _fk("replies", "checkin_id", "checkins", "SET NULL"),
        # An edit is a new row with the next version, never an overwrite.
        sa.UniqueConstraint(
            "client_id",
            "telegram_message_id",
            "version",
            name=op.f("uq_replies_client_id_telegram_message_id_version"),
        ),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 10)", name=op.f("ck_replies_score_range")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_replies_version_positive")),
    )
    _index("replies", "client_id", "received_at")
    _index("replies", "checkin_id")

    op.create_table(
        "flags",
        _id(),
        _ref("reply_id"),
        _ref("client_id"),
        _ref("practitioner_id"),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("alerts_sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        _fk("flags", "reply_id", "replies", "CASCADE"),
        _fk("flags", "client_id", "clients", "CASCADE"),
        _fk("flags", "practitioner_id", "practitioners", "CASCADE"),
    )
    _index("flags", "practitioner_id", "state")
    _index("flags", "client_id")
    _index("flags", "reply_id")

    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", TIME, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_type", sa.String(32), nullable=True),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    _index("audit_log", "at")
    _index("audit_log", "subject_type", "subject_id")


def downgrade() -> None:
    """Drop every table, children before parents (their indexes go with them)."""
    for table in (
        "audit_log",
        "flags",
        "replies",
        "checkins",
        "outbox",
        "invites",
        "appointments",
        "clients",
        "practitioners",
    ):
        op.drop_table(table)
