"""Erasure that erases: a client's name and words are planted through the real flows in
every place they can go, the client sends /erase, and every column of every table (and,
on SQLite, the database file's bytes) is searched for them and for the client's Telegram
id. Nothing may be found. Before the erasure, the name and words are in the database
only encrypted: not in any stored value as it is, nor in the file's bytes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.tables import Base
from bot.domain import callbacks
from bot.domain.callbacks import FlagAction, SessionAction
from bot.domain.models import AppointmentStatus, CheckInState, CheckInStep
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.runtime import Runtime
from bot.services.context import UseCaseContext
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.practice import morning_list
from bot.services.privacy import rights
from bot.settings import load_settings
from tests.fakes import FixedClock
from tests.handlers.offline import offline_application
from tests.integration import records
from tests.integration.support import Bot, ScriptedNotifier

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PRACTITIONER = 7_300_000_001
CLIENT = 8_300_000_457
NAME = "Quxzwell"  # the client's name, as the practitioner types it
WORDS = "zephyrquill"  # in everything the client writes
QUIET = QuietHours(time(21, 0), time(8, 0))
POLICY = records.policy(quiet=QUIET, reminder_offsets=(timedelta(hours=24),))


async def _plant(uow_factory: UnitOfWorkFactory, clock: FixedClock, bot: Bot) -> None:
    """The client joins, is booked, answers a check-in (and edits it), writes words of
    crisis; the practitioner replies, opens History, acknowledges; the client cancels a
    session and asks for a copy of their data; a morning list goes out."""
    [link] = await bot.send(PRACTITIONER, f"/newclient {NAME} Marlowe")
    token = re.search(r"start=([A-Za-z0-9_-]+)", link)
    assert token is not None, link
    await bot.send(CLIENT, f"/start {token.group(1)}")
    await bot.press(CLIENT, callbacks.consent(True, token.group(1)))
    await bot.send(PRACTITIONER, f"/book {NAME} 2026-12-04 10:00")
    await bot.send(CLIENT, "/clients")  # a practitioner's command: refused, and audited
    async with uow_factory() as uow:
        [client] = await uow.clients.by_telegram_id(CLIENT)
        past = await uow.appointments.add(
            records.appointment(
                client.practitioner_id,
                client.id,
                starts_at=NOW - timedelta(days=1),
                status=AppointmentStatus.COMPLETED,
            )
        )
        await uow.checkins.add(
            records.checkin(
                client.id,
                past.id,
                due_at=NOW - timedelta(hours=1),
                state=CheckInState.SENT,
                step=CheckInStep.TEXT,
            )
        )
        await uow.commit()
    await bot.feed(_message(CLIENT, 501, f"my neck is worse {WORDS}"))
    await bot.feed(_message(CLIENT, 501, f"my neck is much worse {WORDS}", edited=True))
    await bot.send(CLIENT, f"{WORDS} I want to kill myself tonight")
    async with uow_factory() as uow:
        [client] = await uow.clients.by_telegram_id(CLIENT)
        flags = await uow.flags.open_for_practitioner(client.practitioner_id)
        upcoming = await uow.appointments.for_client_between(
            client.id, NOW, NOW + timedelta(days=7)
        )
    assert flags, "the crisis words raised no flag"
    flag = flags[-1]
    await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.REPLY))
    await bot.send(PRACTITIONER, f"I am calling you now about {WORDS}")
    await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.HISTORY))
    await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE))
    [session] = upcoming
    await bot.press(CLIENT, callbacks.session(session.id, session.starts_at, SessionAction.CANCEL))
    await bot.send(CLIENT, "/mydata")  # the copy is on the record, with whose it was
    clock.current = NOW + timedelta(hours=1)
    await morning_list.morning_lists(UseCaseContext(uow_factory, clock, POLICY))


def _message(user_id: int, message_id: int, text: str, *, edited: bool = False) -> dict[str, Any]:
    message = {
        "message_id": message_id,
        "date": 1_767_000_000,
        "chat": {"id": user_id, "type": "private", "first_name": "U"},
        "from": {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "en"},
        "text": text,
    }
    if edited:
        message["edit_date"] = 1_767_000_100
    return {"edited_message" if edited else "message": message}


async def _send_everything_due(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> int:
    dispatcher = Dispatcher(uow_factory, ScriptedNotifier(), clock, quiet=QUIET)
    sent = 0
    while count := await dispatcher.dispatch_due():
        sent += count
    return sent


async def _found(engine: AsyncEngine, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a stored value holds a needle."""
    hits: list[tuple[str, str, str]] = []
    async with AsyncSession(engine) as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    shown = str(value)
                    hits.extend((table.name, column, n) for n in needles if n in shown)
    return hits


async def _found_as_stored(engine: AsyncEngine, needles: tuple[str, ...]) -> list[str]:
    """Every ``table.column`` whose raw stored value (not decrypted) holds a needle."""
    hits: list[str] = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = await connection.execute(text(f"SELECT * FROM {table.name}"))  # noqa: S608
            for row in rows.mappings():
                hits.extend(
                    f"{table.name}.{column}"
                    for column, value in row.items()
                    for needle in needles
                    if needle in str(value)
                )
    return hits


def _file_bytes(database_url: str) -> bytes:
    path = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(f"{path.name}-wal")) if p.exists()
    )


async def test_nothing_of_an_erased_client_is_left_in_any_table_or_file(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, database_url: str
) -> None:
    clock = FixedClock(NOW)
    async with uow_factory() as uow:
        await uow.practitioners.add(
            records.practitioner(PRACTITIONER, display_name="Pat Doe", created_at=NOW)
        )
        await uow.commit()
    settings = load_settings(None, practitioner_ids=(PRACTITIONER,))
    app, request = offline_application(Runtime(settings=settings, clock=clock, uow=uow_factory))
    needles = (NAME, WORDS, str(CLIENT))
    async with app:
        bot = Bot(app, request)
        await _plant(uow_factory, clock, bot)
        assert await _send_everything_due(uow_factory, clock) > 0
        planted = {(table, needle) for table, _, needle in await _found(engine, needles)}
        # The search can find what it looks for: the name, the words and the Telegram id
        # went everywhere they go.
        assert {
            ("clients", NAME),
            ("clients", str(CLIENT)),
            ("replies", WORDS),
            ("outbox", NAME),
            ("outbox", WORDS),
            ("audit_log", str(CLIENT)),
        } <= planted
        # While the client is here, their name and words are stored only encrypted.
        assert await _found_as_stored(engine, (NAME, WORDS)) == []
        if database_url.startswith("sqlite"):
            stored = _file_bytes(database_url)
            assert [n for n in (NAME, WORDS) if n.encode() in stored] == []
        await bot.send(CLIENT, "/erase")
        before = len(request.calls)
        await bot.press(CLIENT, "erase:yes")
        answered = [str(c.params.get("text")) for c in request.calls[before:]]
        assert any("has been erased" in text for text in answered), answered
    assert await _send_everything_due(uow_factory, clock) >= 1  # the practitioner is told
    assert await _found(engine, needles) == []
    if database_url.startswith("sqlite"):
        stored = _file_bytes(database_url)
        assert [n for n in needles if n.encode() in stored] == []


async def test_a_morning_list_waiting_to_go_loses_an_erased_client(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    morning = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(
            records.practitioner(PRACTITIONER, display_name="Pat", timezone="UTC")
        )
        for name, telegram_id in ((NAME, CLIENT), ("Other Person", CLIENT + 1)):
            client = await uow.clients.add(
                records.client(practitioner.id, full_name=name, telegram_user_id=telegram_id)
            )
            await uow.appointments.add(
                records.appointment(
                    practitioner.id, client.id, starts_at=morning + timedelta(hours=3)
                )
            )
        await uow.commit()
    clock = FixedClock(morning)
    await morning_list.morning_lists(UseCaseContext(uow_factory, clock, POLICY))
    assert {t for t, _, n in await _found(engine, (NAME,)) if n == NAME} == {"clients", "outbox"}
    await rights.erase(UseCaseContext(uow_factory, clock, records.policy(quiet=QUIET)), CLIENT)
    # Only the notice that tells the practitioner still names them, until it is sent.
    assert [t for t, _, _ in await _found(engine, (NAME,))] == ["outbox"]
    await _send_everything_due(uow_factory, clock)
    assert await _found(engine, (NAME,)) == []
    await morning_list.morning_lists(
        UseCaseContext(uow_factory, clock, POLICY)
    )  # written again, without them
    assert await _found(engine, (NAME,)) == []
    assert ("outbox", "payload", "Other Person") in await _found(engine, ("Other Person",))
