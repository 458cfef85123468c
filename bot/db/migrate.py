"""Schema migrations, run from Python: no ``alembic.ini`` needed.

``stillpoint migrate`` calls ``upgrade(url)``. Every function here is a
coroutine that drives Alembic over an async connection (``run_sync``), so it
works from inside a running event loop.

To write a new migration, bring a scratch database to head and let Alembic
compare it with the models, then edit the result by hand::

    from alembic import command
    from bot.db.migrate import alembic_config
    command.revision(alembic_config("sqlite:///scratch.sqlite3"),
                     message="what changed", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_migration_engine
from bot.db.errors import SchemaOutdatedError
from bot.db.url import normalize_database_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_Command: TypeAlias = Callable[[Config, str], None]


def alembic_config(database_url: str) -> Config:
    """Build the Alembic configuration for ``database_url`` in code.

    The URL travels in ``config.attributes`` (Alembic's ini-style options would
    read a ``%`` in a password as interpolation) and also as ``sqlalchemy.url``,
    escaped, for tools that look there.
    """
    url = normalize_database_url(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["database_url"] = url
    return config


async def upgrade(database_url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database up to ``revision`` (the latest by default), in one transaction.

    Returns the revisions it was at before and is at after.
    """
    return await _run_command(database_url, command.upgrade, revision)


async def downgrade(database_url: str, revision: str) -> None:
    """Take the database down to ``revision``: ``"base"`` empties it, ``"-1"`` undoes one step."""
    await _run_command(database_url, command.downgrade, revision)


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Refuse to run on a schema older (or newer) than this code's, with what to do about it."""
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revision)
    head = head_revision()
    if current != head:
        found = "empty" if current is None else f"at revision {current}"
        raise SchemaOutdatedError(
            f"the database schema is {found}, but this version of Stillpoint needs {head}; "
            "run `stillpoint migrate` first"
        )


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    engine = create_migration_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _run_command(
    database_url: str, run: _Command, revision: str
) -> tuple[str | None, str | None]:
    config = alembic_config(database_url)
    engine = create_migration_engine(database_url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_with_connection, config, run, revision)
    finally:
        await engine.dispose()


def _with_connection(
    connection: Connection, config: Config, run: _Command, revision: str
) -> tuple[str | None, str | None]:
    config.attributes["connection"] = connection
    before = _current_revision(connection)
    run(config, revision)
    return before, _current_revision(connection)
