"""Engines: SQLite settings, and start-up checks that fail with one clear sentence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import check_database, create_engine
from bot.db.errors import DatabaseUnavailableError


async def unavailable_because(url: str, within_seconds: float = 5.0) -> str:
    engine = create_engine(url)
    try:
        with pytest.raises(DatabaseUnavailableError) as raised:
            await check_database(engine, within_seconds=within_seconds)
    finally:
        await engine.dispose()
    message = str(raised.value)
    assert "\n" not in message
    assert "Traceback" not in message
    assert message.endswith(".")
    return message


async def test_a_reachable_database_passes_the_check(engine: AsyncEngine) -> None:
    await check_database(engine)


async def test_a_closed_port_names_host_and_port_but_not_the_password() -> None:
    message = await unavailable_because("postgresql://stillpoint:s3cr3t-pw@127.0.0.1:1/stillpoint")
    assert "127.0.0.1:1" in message
    assert "refused" in message
    assert "s3cr3t-pw" not in message


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_server_that_never_answers_times_out(silent_server: int) -> None:
    message = await unavailable_because(
        f"postgresql://root@127.0.0.1:{silent_server}/stillpoint", within_seconds=0.3
    )
    assert f"127.0.0.1:{silent_server}" in message
    assert "did not answer within 0.3 seconds" in message


async def test_an_unwritable_sqlite_path_names_the_file(tmp_path: Path) -> None:
    # A regular file where a folder should be: no user, not even root, can create below it.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    database = blocker / "stillpoint.sqlite3"
    message = await unavailable_because(f"sqlite:///{database}")
    assert str(database) in message
    assert "does not exist and could not be created" in message


async def test_a_folder_instead_of_a_file_is_named(tmp_path: Path) -> None:
    message = await unavailable_because(f"sqlite:///{tmp_path}")
    assert str(tmp_path) in message
    assert "is a folder" in message


async def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    database = tmp_path / "notes.sqlite3"
    database.write_text("these are not the tables you are looking for\n" * 100)
    message = await unavailable_because(f"sqlite:///{database}")
    assert str(database) in message
    assert "not an SQLite database" in message


async def test_sqlite_folder_is_created_and_settings_applied(tmp_path: Path) -> None:
    database = tmp_path / "new" / "folder" / "stillpoint.sqlite3"
    engine = create_engine(f"sqlite:///{database}")
    try:
        await check_database(engine)
        async with engine.connect() as connection:
            pragmas = {
                name: await connection.scalar(text(f"PRAGMA {name}"))
                for name in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    assert database.exists()
    # synchronous: 1 is NORMAL.
    assert pragmas == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "synchronous": 1,
    }
