"""Errors the database adapter raises, each with a message fit to show an operator."""

from __future__ import annotations


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be reached or opened. The message is one plain sentence."""


class DatabaseInUseError(RuntimeError):
    """Another process already holds the single-instance lock of an SQLite database."""


class SchemaOutdatedError(RuntimeError):
    """The database schema is not the one this code was written for."""


class RecordNotFoundError(LookupError):
    """An update named a record that does not exist."""
