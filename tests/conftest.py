"""Databases for the whole suite: every database test runs on SQLite and on PostgreSQL.

Fixtures
--------
``backend``
    ``"sqlite"`` or ``"postgresql"``; parametrizes every test that uses a
    database, so test ids end in ``[sqlite]`` or ``[postgresql]``.
``database_url``
    The URL of this test's database, at the latest migration and empty.
    SQLite: a fresh file in ``tmp_path`` (a copy of one migrated once per
    session). PostgreSQL: a database created for this test session, migrated
    once, with every table emptied before each test.
``empty_database_url``
    The URL of a database with no tables at all, for migration tests.
``engine`` / ``uow_factory``
    The application's engine on ``database_url`` and the unit-of-work factory
    over it.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default: the local server as
``root``). If it cannot be reached its tests are skipped, except when ``CI`` is
``true``: there they fail, because CI must prove both databases.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db.encrypted import use_data_keys
from bot.db.engine import check_database, create_engine
from bot.db.errors import DatabaseUnavailableError
from bot.db.migrate import upgrade
from bot.db.tables import Base
from bot.db.uow import make_uow_factory
from bot.db.url import normalize_database_url
from bot.encryption import KeyRing
from bot.ports import UnitOfWorkFactory

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://root@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
POSTGRES_CONNECT_SECONDS = 3.0

T = TypeVar("T")


# The suite's data key: this process encrypts with it, and the bots the suite starts in
# other processes read it from the environment, as an operator's would.
TEST_DATA_KEY = "suite:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk"


def pytest_configure(config: pytest.Config) -> None:
    """Load the suite's data key before any database is made."""
    os.environ["DATA_KEY"] = TEST_DATA_KEY
    use_data_keys(KeyRing.parse(TEST_DATA_KEY))


@pytest.fixture(autouse=True)
def suite_data_key() -> None:
    """Every test starts with the suite's key loaded (a sandbox on its own database loads
    a throwaway one, and a bot in another process reads the suite's from DATA_KEY)."""
    use_data_keys(KeyRing.parse(TEST_DATA_KEY))


def _postgres_admin_url() -> str:
    return normalize_database_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from session-scoped set-up, on a loop of its own."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


@dataclass(frozen=True)
class PostgresServer:
    """The PostgreSQL server under test and the database created for this session."""

    admin_url: str  # the database named by TEST_DATABASE_URL, used to create and drop others
    session_url: str  # this session's migrated database

    def url_for(self, database: str) -> str:
        """The URL of another database on the same server."""
        return _with_database(self.admin_url, database)

    async def create_database(self, name: str) -> None:
        """Create an empty database called ``name``."""
        await self._admin(f'CREATE DATABASE "{name}"')

    async def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting anyone still using it."""
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def empty_all_tables(self, tables: Sequence[str]) -> None:
        """Delete every row of the session database and restart its ids.

        Plain DELETEs on tables this small beat TRUNCATE several times over, and
        a bare asyncpg connection skips the type set-up an engine would do.
        """
        # Table names come from the models, never from input.
        statements = [f"DELETE FROM {table}" for table in reversed(tables)]  # noqa: S608
        statements += [
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"
            for table in tables
            if "id" in Base.metadata.tables[table].columns
        ]
        dsn = make_url(self.session_url).set(drivername="postgresql")
        connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
        try:
            await connection.execute("; ".join(statements))
        finally:
            await connection.close()

    async def _admin(self, statement: str) -> None:
        engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def _reachable(url: str) -> None:
    engine = create_engine(url)
    try:
        await check_database(engine, within_seconds=POSTGRES_CONNECT_SECONDS)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh, migrated PostgreSQL database for this session; dropped at the end."""
    admin_url = _postgres_admin_url()
    try:
        _run(_reachable(admin_url))
    except DatabaseUnavailableError as exc:
        if _in_ci():
            pytest.fail(f"PostgreSQL is required in CI (CI=true). {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped. {exc} Set TEST_DATABASE_URL to run them.")

    name = f"stillpoint_test_{secrets.token_hex(4)}"
    server = PostgresServer(admin_url=admin_url, session_url=_with_database(admin_url, name))
    _run(server.create_database(name))
    try:
        _run(upgrade(server.session_url))
        yield server
    finally:
        _run(server.drop_database(name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _run(upgrade(f"sqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend this test runs on (also recorded for the closing summary)."""
    request.node.user_properties.append((_BACKEND_PROPERTY, request.param))
    return str(request.param)


_TABLES = [table.name for table in Base.metadata.sorted_tables]


# Set-up below is synchronous on purpose: it may create the session's databases,
# which runs coroutines on a loop of its own, and that must not happen inside
# the test's running loop.
@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database at the latest migration, on ``backend``."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "stillpoint.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    _run(server.empty_all_tables(_TABLES))
    return server.session_url


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """The URL of a database with no tables, on ``backend``; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"stillpoint_test_{secrets.token_hex(4)}"
    _run(server.create_database(name))
    try:
        yield server.url_for(name)
    finally:
        _run(server.drop_database(name))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The application's engine on this test's database."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    """Opens units of work on this test's database."""
    return make_uow_factory(engine)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Name the databases the suite runs against."""
    shown = make_url(_postgres_admin_url()).render_as_string(hide_password=True)
    required = "required (CI=true)" if _in_ci() else "skipped if unreachable"
    return [
        "databases: sqlite (a temporary file per test); "
        f"postgresql via {shown}, a fresh database per session ({required})"
    ]


_BACKEND_PROPERTY = "database_backend"


_OUTCOME_ORDER = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print one line with each backend's test outcomes."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in BACKENDS}
    for outcome, reports in terminalreporter.stats.items():
        if not outcome or outcome in {"warnings", "deselected"}:
            continue
        for report in reports:
            backend = dict(getattr(report, "user_properties", ())).get(_BACKEND_PROPERTY)
            if backend is None or not hasattr(report, "when"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            counts[backend][outcome] += 1
    if not any(counts.values()):
        return
    parts = []
    for name in BACKENDS:
        known = [o for o in _OUTCOME_ORDER if o in counts[name]]
        others = sorted(set(counts[name]) - set(known))
        summary = ", ".join(f"{counts[name][o]} {o}" for o in known + others)
        parts.append(f"{name} {summary or 'no tests'}")
    terminalreporter.write_line("database backends: " + "; ".join(parts))
