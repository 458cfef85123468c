"""Copying between ORM rows and domain dataclasses.

Column names match dataclass field names one for one (a test holds both
sides to it), so one pair of functions serves every aggregate. JSON lists
become tuples in the domain and lists again on the way back; dicts are copied
so a caller can never change a row behind the session's back.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from sqlalchemy import Row

    from bot.db.tables import Base

D = TypeVar("D", bound="DataclassInstance")


def to_domain(row: Base | Row[Any], cls: type[D]) -> D:
    """Build a ``cls`` dataclass from the same-named attributes of ``row`` (an ORM row,
    or a result row of the table's columns)."""
    values: dict[str, Any] = {}
    for name in field_names(cls):
        value = getattr(row, name)
        if value is None or type(value) in _AS_STORED:
            pass
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = dict(value)
        values[name] = value
    return cls(**values)


@cache
def field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    """The names of a dataclass's fields, in order (read once a class: a sync maps
    thousands of rows)."""
    return tuple(field.name for field in fields(cls))


def row_values(
    obj: DataclassInstance, *, skip: frozenset[str] = frozenset({"id"})
) -> dict[str, Any]:
    """The column values for ``obj``: every field but ``skip``.

    ``created_at`` is left out when it is ``None``, so the column's server
    default fills it on insert and an update keeps the stored value. Times
    are converted to UTC; a naive one raises ``ValueError`` here, before
    anything reaches the session.
    """
    values: dict[str, Any] = {}
    for name in _column_names(type(obj), skip):
        value = getattr(obj, name)
        if value is None:
            if name == "created_at":
                continue
        elif type(value) in _AS_STORED:
            pass
        elif isinstance(value, datetime):
            if value.tzinfo is not UTC:
                value = require_aware(value, name).astimezone(UTC)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        values[name] = value
    return values


_AS_STORED = frozenset({str, int, bool, float})
"""Types whose values are stored as they are, looked at first: a sync writes thousands
of rows."""


@cache
def _column_names(cls: type[DataclassInstance], skip: frozenset[str]) -> tuple[str, ...]:
    return tuple(name for name in field_names(cls) if name not in skip)


def require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` if it carries a time zone; raise ``ValueError`` naming ``name`` if not."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value
