"""Data keys as an operator meets them: where they come from, what start-up refuses, and
``stillpoint keys rotate``, through the command line against a real database."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.data_keys import register_data_key
from bot.db.encrypted import seal, unseal, use_data_keys
from bot.db.engine import create_engine
from bot.db.key_registry import (
    ENCRYPTED_COLUMNS,
    keys_in_use,
    retire_unused_keys,
    rewrite_batch,
    value_prefix,
)
from bot.db.uow import make_uow_factory
from bot.encryption import KeyRing
from bot.launch import running_sandbox
from bot.ports import UnitOfWorkFactory
from bot.settings import load_settings
from tests.conftest import TEST_DATA_KEY
from tests.integration import records

# Two more keys; "suite" (the suite's own key) with other bytes is a wrong key.
NEW_KEY = "fresh:" + "RnJlc2gga2V5IGZvciB0aGUgcm90YXRpb24gdGVzdHM"
WRONG_SUITE_KEY = "suite:" + "V3Jvbmcga2V5IHdpdGggdGhlIHN1aXRlJ3MgbmFtZSE"
NAME = "Wrenna Quillfeather"
WORDS = "my shoulder aches after the session"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's .env is read."""
    monkeypatch.chdir(tmp_path)


def run(*argv: str) -> int:
    return main(list(argv))


def raw_values(database_url: str) -> list[str]:
    """Every stored value of every encrypted column, as stored."""

    async def read() -> list[str]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                found: list[str] = []
                for table, column in ENCRYPTED_COLUMNS:
                    rows = await connection.execute(text(f"SELECT {column} FROM {table}"))  # noqa: S608
                    found.extend(str(value) for (value,) in rows if value is not None)
                return found
        finally:
            await engine.dispose()

    return asyncio.run(read())


def plant_a_client(database_url: str) -> None:
    """A practitioner, a client with a name, an answer in words and a message to send."""

    async def plant() -> None:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                practitioner = await uow.practitioners.add(records.practitioner())
                client = await uow.clients.add(records.client(practitioner.id, full_name=NAME))
                await uow.replies.add(records.reply(client.id, text=WORDS))
                await uow.outbox.add(records.outbox_message(payload={"name": NAME}))
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(plant())


def read_back(database_url: str) -> tuple[str, str | None, dict[str, object]]:
    async def read() -> tuple[str, str | None, dict[str, object]]:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                [practitioner] = await uow.practitioners.list_all()
                [client] = await uow.clients.for_practitioner(practitioner.id)
                [reply] = await uow.replies.for_client(client.id)
                message = await uow.outbox.by_dedup_key(records.outbox_message().dedup_key)
                assert message is not None
                return client.full_name, reply.text, message.payload
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_new_sqlite_database_gets_a_key_file_only_its_owner_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "practice" / "stillpoint.sqlite3"
    monkeypatch.delenv("DATA_KEY")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")

    assert run("migrate") == 0

    key_file = database.with_name("stillpoint.sqlite3.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    said = capsys.readouterr().err
    assert f"Created the data key file {key_file}" in said
    assert "Back it up, apart from the database" in said
    first_key = key_file.read_text()
    plant_a_client(f"sqlite:///{database}")

    assert run("migrate") == 0  # the second start reads the same file and says nothing of it
    assert "Created" not in capsys.readouterr().err
    assert key_file.read_text() == first_key
    assert read_back(f"sqlite:///{database}")[0] == NAME


def test_a_lost_key_file_stops_the_start_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "stillpoint.sqlite3"
    monkeypatch.delenv("DATA_KEY")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert run("migrate") == 0
    plant_a_client(f"sqlite:///{database}")
    key_file = database.with_name("stillpoint.sqlite3.key")
    key_id = key_file.read_text().partition(":")[0]
    key_file.unlink()
    capsys.readouterr()

    assert run("migrate") == 1

    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert f"the data key file {key_file} is missing" in said
    assert key_id in said
    assert "restore the file from your backup" in said
    assert not key_file.exists()  # no new key was made over data it could not read


def test_start_up_refuses_a_missing_or_wrong_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run("migrate") == 0  # the suite's key is recorded as in use
    plant_a_client(database_url)
    capsys.readouterr()

    monkeypatch.setenv("DATA_KEY", NEW_KEY)
    assert run("migrate") == 1
    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert "encrypted with data key 'suite', which DATA_KEY / DATA_KEY_FILE does not give" in said

    monkeypatch.setenv("DATA_KEY", WRONG_SUITE_KEY)
    assert run("practitioner", "list") == 1
    assert "the data key named 'suite' is not the key" in capsys.readouterr().err

    monkeypatch.setenv("DATA_KEY", f"{NEW_KEY},{TEST_DATA_KEY}")  # a ring with it serves
    assert run("migrate") == 0


def test_postgresql_needs_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATA_KEY")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")

    assert run("migrate") == 1

    said = capsys.readouterr().err
    assert said.startswith("stillpoint: DATA_KEY is not set: client data is stored encrypted")
    assert "`stillpoint keys new` prints one" in said


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("nocolon", "data key 1 is not written as id:key"),
        ("short:AAAA", "data key 'short' is not 32 bytes long"),
        (f"{TEST_DATA_KEY},{TEST_DATA_KEY}", "data key 'suite' appears twice"),
    ],
)
def test_a_malformed_key_is_named_and_never_shown(
    value: str,
    complaint: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_KEY", value)

    assert run("migrate") == 1

    said = capsys.readouterr().err
    assert said == f"stillpoint: DATA_KEY: {complaint}\n"


def test_a_key_and_a_key_file_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'stillpoint.sqlite3'}")
    monkeypatch.setenv("DATA_KEY_FILE", str(tmp_path / "key"))

    assert run("migrate") == 1

    assert capsys.readouterr().err == "stillpoint: set DATA_KEY or DATA_KEY_FILE, not both\n"


def test_a_key_file_named_by_the_setting_is_read(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "secrets" / "stillpoint.key"
    key_file.parent.mkdir()
    key_file.write_text(f"{TEST_DATA_KEY}\n")
    key_file.chmod(0o600)
    monkeypatch.delenv("DATA_KEY")
    monkeypatch.setenv("DATA_KEY_FILE", str(key_file))
    monkeypatch.setenv("DATABASE_URL", database_url)
    plant_a_client(database_url)

    assert run("migrate") == 0
    assert read_back(database_url)[0] == NAME


def test_rotation_re_encrypts_everything_and_frees_the_old_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run("migrate") == 0
    plant_a_client(database_url)
    before = raw_values(database_url)
    assert len(before) == 3
    assert all(value.startswith("sp1:suite:") for value in before)
    capsys.readouterr()

    monkeypatch.setenv("DATA_KEY", f"{NEW_KEY},{TEST_DATA_KEY}")
    assert run("keys", "rotate", "--batch", "1") == 0

    out = capsys.readouterr().out
    assert "Re-encrypted 3 values with data key fresh." in out
    assert "No value needs suite any more: remove it from DATA_KEY" in out
    assert all(value.startswith("sp1:fresh:") for value in raw_values(database_url))
    monkeypatch.setenv("DATA_KEY", NEW_KEY)  # the old key may go now
    assert read_back(database_url) == (NAME, WORDS, {"name": NAME})
    assert run("migrate") == 0
    assert run("keys", "rotate") == 0
    assert "Re-encrypted 0 values" in capsys.readouterr().out


async def test_the_sandbox_keeps_a_database_file_readable_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATA_KEY")
    database = tmp_path / "sandbox.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    async with (
        running_sandbox(load_settings(None), database_url=url) as sandbox,
        sandbox.runtime.uow() as uow,
    ):
        [practitioner] = await uow.practitioners.list_all()
        await uow.clients.add(records.client(practitioner.id, full_name=NAME))
        await uow.commit()
    key_file = database.with_name("sandbox.sqlite3.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    async with (
        running_sandbox(load_settings(None), database_url=url) as sandbox,
        sandbox.runtime.uow() as uow,
    ):
        [client] = await uow.clients.for_practitioner(practitioner.id)
    assert client.full_name == NAME


async def test_the_sandbox_on_its_own_temporary_database_uses_a_throwaway_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATA_KEY")
    key_file = tmp_path / "named.key"
    monkeypatch.setenv("DATA_KEY_FILE", str(key_file))  # not made, nor read, for it
    async with running_sandbox(load_settings(None)) as sandbox:
        async with sandbox.runtime.uow() as uow:
            [practitioner] = await uow.practitioners.list_all()
            client = await uow.clients.add(records.client(practitioner.id, full_name=NAME))
            await uow.commit()
        async with sandbox.runtime.uow() as uow:
            assert (await uow.clients.get(client.id)) == client
    assert not key_file.exists()


async def test_a_value_changed_during_a_rotation_keeps_the_change_and_its_key(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> None:
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(records.practitioner())
        client = await uow.clients.add(records.client(practitioner.id, full_name=NAME))
        await uow.commit()
    await register_data_key(engine)  # 'suite' has values here
    old_only = KeyRing.parse(TEST_DATA_KEY)
    use_data_keys(KeyRing.parse(f"{NEW_KEY},{TEST_DATA_KEY}"))
    await register_data_key(engine)  # and now 'fresh'

    def rotate_while_a_bot_with_the_old_key_renames(connection: Connection) -> int:
        def reseal(value: str, purpose: str) -> str:
            # Between the rotation's read and its write, a bot that has only the old key
            # writes the name anew.
            renamed = old_only.encrypt("Wren Q.", purpose)
            connection.execute(text("UPDATE clients SET full_name = :name"), {"name": renamed})
            return seal(unseal(value, purpose), purpose)

        _, changed = rewrite_batch(
            connection,
            "clients",
            "full_name",
            reseal,
            after=0,
            limit=10,
            skip_prefix=value_prefix("fresh"),
        )
        return changed

    async with engine.begin() as connection:
        changed = await connection.run_sync(rotate_while_a_bot_with_the_old_key_renames)
        retired = await connection.run_sync(retire_unused_keys, "fresh", records.T0)
        in_use = await connection.run_sync(keys_in_use)

    assert changed == 0  # the rotation did not write over the bot's change
    async with uow_factory() as uow:
        stored = await uow.clients.get(client.id)
    assert stored is not None
    assert stored.full_name == "Wren Q."
    assert retired == []  # a value still needs the old key, so it stays in use
    assert set(in_use) == {"suite", "fresh"}


def test_a_value_under_a_key_the_ring_lacks_stops_the_start(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_KEY", NEW_KEY)
    assert run("migrate") == 0  # only 'fresh' is recorded as in use
    use_data_keys(KeyRing.parse(TEST_DATA_KEY))  # a bot forgotten with the old key writes
    plant_a_client(database_url)
    capsys.readouterr()

    assert run("migrate") == 1

    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert "client data encrypted with data key 'suite', which DATA_KEY" in said
    assert "add it back to the key ring" in said
