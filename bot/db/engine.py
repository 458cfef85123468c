"""Async engines for SQLite and PostgreSQL, and a start-up check that the database answers."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.db.errors import DatabaseUnavailableError
from bot.db.url import describe_database, is_sqlite, normalize_database_url, sqlite_path

SQLITE_BUSY_TIMEOUT_MS = 5000
DEFAULT_CHECK_TIMEOUT_SECONDS = 5.0


def create_engine(url: str) -> AsyncEngine:
    """Create the application's engine for ``url`` (any spelling ``normalize_database_url`` takes).

    SQLite connections get foreign keys enforced, write-ahead logging, a
    five-second busy timeout and ``synchronous=NORMAL``; the folder of the
    database file is created if it is missing. Nothing connects until first use.

    SQLite transactions keep the driver's own handling (BEGIN before the first
    write, not the first read): a transaction that reads and then writes then
    waits for the write lock instead of failing with "database is locked".
    """
    return _build_engine(url, foreign_keys=True, transactional_ddl=False)


def create_migration_engine(url: str) -> AsyncEngine:
    """Create an engine for running migrations.

    On SQLite, foreign keys are off while tables are rebuilt (otherwise
    dropping a parent table in batch mode would cascade-delete its children) and
    every statement, DDL included, runs inside one real transaction, so a failed
    migration leaves the file as it was. PostgreSQL needs neither.
    """
    return _build_engine(url, foreign_keys=False, transactional_ddl=True)


def _build_engine(url: str, *, foreign_keys: bool, transactional_ddl: bool) -> AsyncEngine:
    normalized = normalize_database_url(url)
    if not is_sqlite(normalized):
        # hide_parameters: an error's text never carries a client's words to a log.
        return create_async_engine(normalized, pool_pre_ping=True, hide_parameters=True)

    path = sqlite_path(normalized)
    if path is not None:
        # A failure here is left to check_database, which explains it in one sentence.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
    # The session ends its own transaction before it gives a connection back, so the
    # pool's extra ROLLBACK on return is only a wasted round trip to the driver thread.
    engine = create_async_engine(normalized, pool_reset_on_return=None, hide_parameters=True)
    _configure_sqlite(engine, foreign_keys=foreign_keys, transactional_ddl=transactional_ddl)
    return engine


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool, transactional_ddl: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        if transactional_ddl:
            # The driver would otherwise skip BEGIN before DDL; see the begin hook below.
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted content is overwritten with zeros, so an erased client's words do
            # not linger in free pages of the file.
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    if transactional_ddl:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")


async def check_database(
    engine: AsyncEngine, *, within_seconds: float = DEFAULT_CHECK_TIMEOUT_SECONDS
) -> None:
    """Make sure the database answers within ``within_seconds`` seconds.

    Raises ``DatabaseUnavailableError`` with one sentence naming the host and
    port (or the file) and the likely cause; never the password, never a
    traceback. On SQLite it also checks that the file can be written.
    """
    url = engine.url.render_as_string(hide_password=True)
    where = describe_database(url)
    sqlite = is_sqlite(url)
    path = sqlite_path(url)
    if path is not None:
        problem = _sqlite_path_problem(path)
        if problem is not None:
            raise DatabaseUnavailableError(f"Cannot use the {where}: {problem}.")
    try:
        async with asyncio.timeout(within_seconds):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                if sqlite:
                    # Take the write lock for a moment: a read-only file fails here, not later.
                    await connection.exec_driver_sql("BEGIN IMMEDIATE")
                    await connection.exec_driver_sql("ROLLBACK")
    except TimeoutError:
        raise DatabaseUnavailableError(
            f"The {where} did not answer within {within_seconds:g} seconds; "
            "check that it is running and reachable from here."
        ) from None
    except Exception as exc:
        raise DatabaseUnavailableError(
            f"Cannot use the {where}: {_explain(exc, sqlite=sqlite)}."
        ) from exc


def _sqlite_path_problem(path: Path) -> str | None:
    """What stops SQLite from using ``path``, found without opening it."""
    folder = path.parent
    if not folder.is_dir():
        return f"its folder {folder} does not exist and could not be created"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is not writable"
    if path.is_dir():
        return "that path is a folder, not a file"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "the file is not readable and writable by this user"
    return None


def _explain(exc: BaseException, *, sqlite: bool) -> str:
    """Turn a connection failure into a short reason a person can act on."""
    for cause in _causes(exc):
        name = type(cause).__name__
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "the connection was refused (is the server running on that port?)"
        if isinstance(cause, socket.gaierror):
            return "the host name could not be resolved"
        if name in {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
            return "the server rejected the user name or password"
        if name == "InvalidCatalogNameError":
            return "that database does not exist on the server"
        if isinstance(cause, sqlite3.Error):
            message = str(cause).lower()
            if "readonly" in message or "read-only" in message:
                return "the file is read-only"
            if "unable to open" in message:
                return (
                    "the file cannot be opened or created "
                    "(check that its folder exists and is writable)"
                )
            if "not a database" in message:
                return "the file is not an SQLite database"
            if "locked" in message:
                return "the file is locked by another process"
        if isinstance(cause, PermissionError):
            return "permission denied"
    if sqlite:
        return "the file cannot be opened"
    return f"the connection failed ({type(exc).__name__})"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, the driver error it wraps, and their causes, outermost first."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen
