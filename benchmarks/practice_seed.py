"""A practice for benchmarks that play clients: practitioners, clients with a sent
check-in, routine messages for other chats, and finding what the bot sent back.

Everything is written through the application's own unit of work (or, for the outbox,
its table), and the emulator's chats are opened as if each user had sent /start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import now, outbox_row
from bot.db.tables import OutboxRow
from bot.db.uow import make_uow_factory
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    ClientStatus,
    OutboxKind,
    Practitioner,
)
from bot.sandbox.records import StoredMessage
from bot.sandbox.server import SandboxServer

TIMEZONE = "Europe/Berlin"
BACKGROUND_KINDS = (OutboxKind.REMINDER, OutboxKind.CHECKIN)


@dataclass(frozen=True, slots=True)
class SeededClient:
    """One client as the emulator and the bot's database know them."""

    user_id: int  # the client's sandbox user (their private chat has the same id)
    practitioner_chat: int  # their practitioner's sandbox user
    name: str  # full_name in the database: what the alert names
    client_id: int
    checkin_id: int  # the check-in whose question was sent


def start_chat(server: SandboxServer, name: str) -> int:
    """A sandbox user whose chat accepts messages, as if they had sent /start."""
    user = server.state.create_user(name)
    server.state.open_chat_quietly(user.id)
    return user.id


async def seed_clients(
    engine: AsyncEngine,
    open_chat: Callable[[str], int],
    messages: int,
    practitioners: int,
    *,
    name_of: Callable[[int], str] = lambda n: f"Client {n + 1}",
) -> list[SeededClient]:
    """Practitioners and their clients, each client with a completed session and a sent
    check-in, written through the application's unit of work. ``open_chat(name)`` gives
    each person's Telegram id (``partial(start_chat, server)`` for an emulator's user);
    ``name_of(n)`` the n-th client's name."""
    at = now()
    practitioner_chats = [open_chat(f"Practitioner {p + 1}") for p in range(practitioners)]
    seeded: list[SeededClient] = []
    async with make_uow_factory(engine)() as uow:
        stored = [
            await uow.practitioners.add(
                Practitioner(
                    id=0,
                    telegram_user_id=chat,
                    display_name=f"Practitioner {p + 1}",
                    timezone=TIMEZONE,
                    locale="en",
                    created_at=at - timedelta(days=60),
                )
            )
            for p, chat in enumerate(practitioner_chats)
        ]
        for n in range(messages):
            practitioner = stored[n % practitioners]
            name = name_of(n)
            user_id = open_chat(name)
            client = await uow.clients.add(
                Client(
                    id=0,
                    practitioner_id=practitioner.id,
                    full_name=name,
                    status=ClientStatus.ACTIVE,
                    timezone=TIMEZONE,
                    locale="en",
                    telegram_user_id=user_id,
                    consented_at=at - timedelta(days=30),
                    created_at=at - timedelta(days=30),
                )
            )
            appointment = await uow.appointments.add(
                Appointment(
                    id=0,
                    practitioner_id=practitioner.id,
                    client_id=client.id,
                    starts_at=at - timedelta(days=1, hours=2),
                    duration_minutes=60,
                    status=AppointmentStatus.COMPLETED,
                    created_at=at - timedelta(days=8),
                )
            )
            checkin = await uow.checkins.add(
                CheckIn(
                    id=0,
                    client_id=client.id,
                    appointment_id=appointment.id,
                    day=1,
                    due_at=at - timedelta(hours=2),
                    state=CheckInState.SENT,
                    step=CheckInStep.SCORE,
                    created_at=at - timedelta(days=1),
                )
            )
            seeded.append(
                SeededClient(user_id, practitioner.telegram_user_id, name, client.id, checkin.id)
            )
        await uow.commit()
    return seeded


async def insert_background(engine: AsyncEngine, chats: Sequence[int]) -> None:
    """One routine message (a reminder or a check-in, by turns) due now in each chat."""
    at = now()
    rows = [
        outbox_row(chat, at, f"background:{n}", at) | {"kind": BACKGROUND_KINDS[n % 2]}
        for n, chat in enumerate(chats)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(OutboxRow), rows)


def first_bot_message(
    server: SandboxServer, chat_id: int, after: StoredMessage, pattern: re.Pattern[str] | None
) -> StoredMessage | None:
    """The first bot message in ``chat_id`` at or after ``after``'s time (and, with
    ``pattern``, whose text matches it)."""
    for message in server.state.chats[chat_id].messages.values():  # in message-id order
        if not message.from_bot or message.date < after.date:
            continue
        if pattern is not None and (message.text is None or not pattern.search(message.text.text)):
            continue
        if chat_id == after.chat.id and message.message_id < after.message_id:
            continue
        return message
    return None
