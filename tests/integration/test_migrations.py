"""Migrations: every step goes up, down and up again, and head matches the models exactly."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.db.encrypted import seal, unseal
from bot.db.engine import create_engine, create_migration_engine
from bot.db.migrate import alembic_config, current_revision, downgrade, upgrade
from bot.db.tables import Base
from bot.db.types import UTCDateTime
from bot.db.uow import make_uow_factory
from tests.integration import records


def revisions_base_to_head() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


def test_history_is_one_line_starting_at_0001() -> None:
    revisions = revisions_base_to_head()
    assert revisions[0] == "0001"
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_heads() == [revisions[-1]]


async def test_stairway(empty_database_url: str) -> None:
    """For every revision: up to it, one step down, up again; then all the way down and up."""
    url = empty_database_url
    assert await current_revision(url) is None
    for revision in revisions_base_to_head():
        await upgrade(url, revision)
        assert await current_revision(url) == revision
        await downgrade(url, "-1")
        await upgrade(url, revision)
        assert await current_revision(url) == revision

    await downgrade(url, "base")
    assert await current_revision(url) is None
    assert await table_names(url) == set()

    await upgrade(url)
    assert await current_revision(url) == revisions_base_to_head()[-1]
    assert await table_names(url) == set(Base.metadata.tables)


def _schema(connection: Connection) -> dict[str, Any]:
    """What a migration can change: every table's columns, keys, constraints and indexes."""
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for table in inspector.get_table_names():
        schema[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(table)
            ),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (
                    str(fk["name"]),
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    str(fk["options"].get("ondelete")),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                (str(u["name"]), tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (str(i["name"]), tuple(map(str, i["column_names"])), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
        }
    return schema


async def schema_of(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema)
    finally:
        await engine.dispose()


async def test_every_downgrade_restores_the_schema_before_it(empty_database_url: str) -> None:
    url = empty_database_url
    revisions = revisions_base_to_head()
    for previous, revision in pairwise(revisions):
        await upgrade(url, previous)
        before = await schema_of(url)
        await upgrade(url, revision)
        assert await schema_of(url) != before
        await downgrade(url, previous)
        assert await schema_of(url) == before


async def test_0002_gives_existing_outbox_rows_their_due_time_as_next_attempt(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade(url, "0001")
    insert_0001_row = sa.text(
        "INSERT INTO outbox (chat_id, kind, template, payload, due_at, dedup_key, state, "
        "attempts, silent) VALUES (1, 'reminder', 'reminder.day_before', '{}', :due_at, "
        "'reminder:1:day_before', 'pending', 0, :silent)"
    ).bindparams(sa.bindparam("due_at", type_=UTCDateTime()))
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert_0001_row, {"due_at": records.T0, "silent": False})

        await upgrade(url, "0002")
        # Read as the 0002 schema has it (the models have since gained columns).
        columns = [sa.column("next_attempt_at", UTCDateTime()), sa.column("expires_at")]
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(*columns, sa.column("priority")).select_from(sa.table("outbox"))
                )
            ).one()
        assert tuple(row) == (records.T0, None, 0)

        await downgrade(url, "0001")
        async with engine.connect() as connection:
            due_at = await connection.scalar(
                sa.select(sa.column("due_at", UTCDateTime())).select_from(sa.table("outbox"))
            )
        assert due_at == records.T0
    finally:
        await engine.dispose()


async def test_0007_encrypts_what_is_stored_and_its_downgrade_decrypts_it(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade(url, "0006")
    name, words, payload = "Ilsabet Varga", "still sore, but sleeping better", '{"name": "Ilsabet"}'
    at = sa.bindparam("at", type_=UTCDateTime())
    statements = [
        sa.text(
            "INSERT INTO practitioners (telegram_user_id, display_name, timezone, locale, "
            "reminder_offsets_minutes) VALUES (1, 'P', 'UTC', 'en', '[]')"
        ),
        sa.text(
            "INSERT INTO clients (practitioner_id, full_name, status, timezone, locale, "
            "checkins_paused) VALUES (1, :name, 'active', 'UTC', 'en', false)"
        ),
        sa.text(
            "INSERT INTO replies (client_id, received_at, body_areas, text, version, "
            "triage_level, triage_reasons) VALUES (1, :at, '[]', :words, 1, 'none', '[]')"
        ).bindparams(at),
        sa.text(
            "INSERT INTO outbox (chat_id, kind, template, payload, due_at, dedup_key, state, "
            "next_attempt_at, attempts, silent) VALUES (1, 'reminder', 'stop.done', :payload, "
            ":at, 'k', 'pending', :at, 0, false)"
        ).bindparams(at),
    ]
    stored = sa.text(
        "SELECT clients.full_name, replies.text, CAST(outbox.payload AS TEXT) AS payload "
        "FROM clients, replies, outbox"
    )
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(
                    statement, {"name": name, "words": words, "payload": payload, "at": records.T0}
                )

        await upgrade(url)

        async with engine.connect() as connection:
            encrypted = (await connection.execute(stored)).one()
            registered = (await connection.execute(sa.text("SELECT key_id FROM data_keys"))).all()
        assert all(value.startswith("sp1:suite:") for value in encrypted), encrypted
        assert registered == [("suite",)]
        async with make_uow_factory(engine)() as uow:
            client = await uow.clients.get(1)
            message = await uow.outbox.by_dedup_key("k")
            [reply] = await uow.replies.for_client(1)
        assert client is not None
        assert client.full_name == name
        assert reply.text == words
        assert message is not None
        assert message.payload == {"name": "Ilsabet"}

        await downgrade(url, "0006")
        await engine.dispose()  # PostgreSQL's cached plans knew the old column types

        async with engine.connect() as connection:
            plain = (await connection.execute(stored)).one()
        assert (plain.full_name, plain.text) == (name, words)
        # 0008's downgrade, on the way, put the reader's language back into the payload.
        assert json.loads(plain.payload) == {"name": "Ilsabet", "locale": "en"}
    finally:
        await engine.dispose()


async def test_0008_moves_the_readers_language_out_of_the_payload_and_back(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade(url, "0007")
    at = sa.bindparam("at", type_=UTCDateTime())
    insert = sa.text(
        "INSERT INTO outbox (chat_id, kind, template, payload, due_at, dedup_key, state, "
        "next_attempt_at, attempts, silent) VALUES (1, 'reminder', 'stop.done', :payload, "
        ":at, :key, 'pending', :at, 0, false)"
    ).bindparams(at)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for key, payload in (("de", {"params": {}, "locale": "de"}), ("old", {"params": {}})):
                sealed = seal(json.dumps(payload), "outbox.payload")
                await connection.execute(insert, {"payload": sealed, "at": records.T0, "key": key})

        await upgrade(url, "0008")

        locales = sa.text("SELECT dedup_key, locale FROM outbox ORDER BY dedup_key")
        async with engine.connect() as connection:
            assert (await connection.execute(locales)).all() == [("de", "de"), ("old", "en")]

        await downgrade(url, "0007")
        await engine.dispose()

        payloads = sa.text("SELECT dedup_key, payload FROM outbox ORDER BY dedup_key")
        async with engine.connect() as connection:
            stored = (await connection.execute(payloads)).all()
        assert [
            (key, json.loads(unseal(value, "outbox.payload"))["locale"]) for key, value in stored
        ] == [
            ("de", "de"),
            ("old", "en"),
        ]
    finally:
        await engine.dispose()


async def test_0010_gives_existing_practitioners_the_daily_digest(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade(url, "0009")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO practitioners (telegram_user_id, display_name, timezone, "
                    "locale) VALUES (1, 'P', 'UTC', 'en')"
                )
            )

        await upgrade(url, "0010")

        # Read as the 0010 schema has it (the models may since have gained columns).
        digest = sa.select(sa.column("digest", sa.Boolean())).select_from(sa.table("practitioners"))
        async with engine.connect() as connection:
            assert (await connection.execute(digest)).scalars().all() == [True]

        await downgrade(url, "0009")
        await engine.dispose()
        async with engine.connect() as connection:
            names = await connection.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("practitioners")]
            )
        assert "digest" not in names
    finally:
        await engine.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_upgrading_again_keeps_the_data(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with make_uow_factory(engine)() as uow:
            _, client = await records.practitioner_and_client(uow)
            await uow.commit()
        await upgrade(database_url)
        async with make_uow_factory(engine)() as uow:
            assert await uow.clients.get(client.id) == client
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///stillpoint.sqlite3", "CREATE TABLE outbox"),
        ("postgresql://u@db/stillpoint", "CREATE TABLE outbox"),
    ],
)
def test_offline_mode_prints_the_sql(url: str, expected: str) -> None:
    """Operators who must review SQL first can have it written out instead of run."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        command.upgrade(alembic_config(url), "head", sql=True)
    assert expected in printed.getvalue()
    assert "alembic_version" in printed.getvalue()


class Boom(Exception):
    """Raised halfway through a migration."""


async def test_sqlite_migrations_are_one_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stillpoint.sqlite3'}"
    await upgrade(url)
    engine = create_migration_engine(url)

    async def fail_halfway() -> None:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE half_done (id INTEGER)")
            await connection.exec_driver_sql("DROP TABLE audit_log")
            raise Boom

    try:
        with pytest.raises(Boom):
            await fail_halfway()
    finally:
        await engine.dispose()
    assert await table_names(url) == set(Base.metadata.tables)


def _rebuild_practitioners(connection: Connection) -> None:
    operations = Operations(MigrationContext.configure(connection))
    with operations.batch_alter_table("practitioners", recreate="always") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


async def test_sqlite_table_rebuilds_keep_the_rows_that_point_at_them(tmp_path: Path) -> None:
    """Rebuilding a parent table must not cascade-delete its children (foreign keys are off)."""
    url = f"sqlite:///{tmp_path / 'stillpoint.sqlite3'}"
    await upgrade(url)
    app_engine = create_engine(url)
    migration_engine = create_migration_engine(url)
    try:
        async with make_uow_factory(app_engine)() as uow:
            practitioner, client = await records.practitioner_and_client(uow)
            session = await uow.appointments.add(records.appointment(practitioner.id, client.id))
            await uow.commit()

        async with migration_engine.begin() as connection:
            await connection.run_sync(_rebuild_practitioners)

        async with make_uow_factory(app_engine)() as uow:
            assert await uow.practitioners.get(practitioner.id) == practitioner
            assert await uow.clients.get(client.id) == client
            assert await uow.appointments.get(session.id) == session
    finally:
        await app_engine.dispose()
        await migration_engine.dispose()
