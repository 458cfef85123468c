"""The schema's shape: rows mirror the domain records, times are UTC, ids fit Telegram."""

from __future__ import annotations

from dataclasses import fields

import pytest
from sqlalchemy import BigInteger

from bot.db import tables
from bot.db.encrypted import EncryptedJSON, EncryptedText
from bot.db.key_registry import ENCRYPTED_COLUMNS
from bot.db.types import UTCDateTime
from bot.domain import models as domain

PAIRS = [
    (tables.PractitionerRow, domain.Practitioner),
    (tables.ClientRow, domain.Client),
    (tables.InviteRow, domain.Invite),
    (tables.AppointmentRow, domain.Appointment),
    (tables.OutboxRow, domain.OutboxMessage),
    (tables.CheckInRow, domain.CheckIn),
    (tables.ReplyRow, domain.Reply),
    (tables.FlagRow, domain.Flag),
    (tables.AuditRow, domain.AuditEntry),
    (tables.CalendarSubscriptionRow, domain.CalendarSubscription),
    (tables.CalendarEntryRow, domain.CalendarEntry),
    (tables.CalendarChoiceRow, domain.CalendarChoice),
]


# Tables of the storage itself and of the processes sharing it, which no repository
# turns into a domain record.
STORAGE_TABLES = {tables.DataKeyRow.__tablename__, tables.BotProcessRow.__tablename__}


def test_every_table_is_covered() -> None:
    assert {row.__tablename__ for row, _ in PAIRS} == set(tables.Base.metadata.tables) - (
        STORAGE_TABLES
    )


@pytest.mark.parametrize(("row", "record"), PAIRS, ids=lambda value: value.__name__)
def test_columns_match_the_record_fields(row: type[tables.Base], record: type) -> None:
    """Repositories copy rows to records by name, so the names must match one for one."""
    assert {column.key for column in row.__table__.columns} == {f.name for f in fields(record)}


@pytest.mark.parametrize("table", sorted(tables.Base.metadata.tables))
def test_times_are_utc_and_telegram_ids_are_64_bit(table: str) -> None:
    for column in tables.Base.metadata.tables[table].columns:
        if column.name.endswith("_at"):
            assert isinstance(column.type, UTCDateTime), column
        if "telegram" in column.name or column.name == "chat_id":
            assert isinstance(column.type, BigInteger), column


def test_each_encrypted_column_is_bound_to_its_own_table_and_name() -> None:
    """Rotation re-encrypts a value for ``table.column``: a type given another purpose
    would make every value of its column unreadable after a rotation."""
    assert ENCRYPTED_COLUMNS == (
        ("calendar_subscriptions", "url"),
        ("clients", "full_name"),
        ("calendar_entries", "title"),
        ("outbox", "payload"),
        ("replies", "text"),
    )
    for table, column in ENCRYPTED_COLUMNS:
        kind = tables.Base.metadata.tables[table].columns[column].type
        assert isinstance(kind, EncryptedText | EncryptedJSON)
        assert kind.purpose == f"{table}.{column}"
