"""Column types shared by the models: UTC times and enum values stored as short strings."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=enum.StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and always returned timezone-aware in UTC.

    PostgreSQL keeps it as ``timestamptz``. SQLite has no time zones, so it is
    stored there as naive UTC text, which still sorts in time order. Binding a
    naive datetime raises ``ValueError``: its meaning would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Check the value is aware and convert it to UTC (SQLite's ``DATETIME`` then
        writes its fields as text, leaving the zone out)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is UTC:  # most are: a sync binds tens of thousands
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"refusing to store a naive datetime ({value.isoformat()}); give it a time zone"
            )
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored time as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[E]):
    """A ``StrEnum`` stored as its value in a short VARCHAR (never a native PostgreSQL enum).

    Plain strings keep migrations simple on both databases: adding a state is a
    code change, not an ``ALTER TYPE``. Unknown values are refused on the way in.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int = 32) -> None:
        """Store members of ``enum_class`` in a ``VARCHAR(length)``."""
        super().__init__(length)
        self.enum_class = enum_class
        self.length = length

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        """Store the member's value; a plain string must be one of the values."""
        if value is None:
            return None
        if type(value) is self.enum_class:
            return value.value
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        """Return the enum member for the stored value."""
        if value is None:
            return None
        return self.enum_class(value)
