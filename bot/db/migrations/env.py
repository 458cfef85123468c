"""Alembic environment for Stillpoint.

Normally run through ``bot.db.migrate``, which opens an async connection and
hands its synchronous face to this file in ``config.attributes["connection"]``,
so migrations work from inside a running event loop. Called without one (for
example by ``alembic.command.revision`` from a plain script), it opens its own
async engine. There is no ``alembic.ini``: ``bot.db.migrate.alembic_config``
builds the configuration.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from bot.db.engine import create_migration_engine
from bot.db.tables import Base
from bot.db.types import StrEnumType, UTCDateTime
from bot.db.url import is_sqlite

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: build the configuration with alembic_config(url)")
    return str(url)


def _check_foreign_keys(connection: Connection) -> None:
    """On SQLite, foreign keys are off while migrating; prove the result is still consistent."""
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        tables = sorted({str(row[0]) for row in problems})
        raise RuntimeError(
            "the migration left rows whose foreign keys point nowhere, in: " + ", ".join(tables)
        )


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write the application's column types as plain SQLAlchemy types in new migrations.

    A migration that imported ``bot.db.types`` would change meaning whenever
    those types change; plain types keep every revision self-contained.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.length})"
    return False


def _run_with(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


async def _run_with_own_engine() -> None:
    engine = create_migration_engine(_database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_with)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    """Write the SQL to standard output instead of running it (``upgrade(..., sql=True)``)."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the shared connection, or on a connection of our own."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
    else:
        asyncio.run(_run_with_own_engine())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
