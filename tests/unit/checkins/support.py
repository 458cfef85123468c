"""The aftercare world of the check-in tests, on the in-memory fakes: a practitioner in
Berlin, one client of theirs and a session two days ago; the client's taps and words as the
services receive them; and ways to read back what was stored, from the fakes' own tables."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.crisis import load_crisis_table
from bot.domain.callbacks import CheckInAction, CheckInPress
from bot.domain.models import (
    AppointmentStatus,
    AuditEntry,
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    Flag,
    OutboxKind,
    OutboxMessage,
    Reply,
)
from bot.domain.outgoing import OutgoingMessage
from bot.services.access import Refused
from bot.services.checkins import prompts
from bot.services.checkins.conversation import press_checkin
from bot.services.context import UseCaseContext
from bot.services.incoming import Words, receive_media, receive_words
from messages import render_plain
from tests.fakes import FakeDatabase, FixedClock
from tests.handlers.offline import Call, OfflineRequest, process
from tests.integration import records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
POLICY = records.policy(crisis=load_crisis_table())
PRACTITIONER = 7_200_000_001
CLIENT = 8_200_000_001
OTHER_CLIENT = 8_200_000_002
GUEST = 8_200_000_999
SENT = CheckInState.SENT


@dataclass(frozen=True)
class Aftercare:
    """A practitioner in Berlin, one client of theirs, a session two days ago."""

    db: FakeDatabase
    clock: FixedClock
    client: Client
    appointment_id: int

    @property
    def ctx(self) -> UseCaseContext:
        """What the use cases work with here: the fake database, the clock, ``POLICY``."""
        return UseCaseContext(self.db, self.clock, POLICY)


async def open_aftercare(
    db: FakeDatabase,
    *,
    timezone: str = "Europe/Berlin",
    telegram_id: int = CLIENT,
    practitioner_telegram_id: int = PRACTITIONER,
) -> Aftercare:
    """The aftercare world on ``db`` (a second one may share it), its clock at ``NOW``."""
    practitioner = await db.practitioners.add(
        records.practitioner(
            practitioner_telegram_id, display_name="First Practitioner", created_at=NOW
        )
    )
    client = await db.clients.add(
        records.client(
            practitioner.id,
            full_name="Sam Client",
            telegram_user_id=telegram_id,
            timezone=timezone,
            locale="en",
            created_at=NOW,
        )
    )
    appointment = await db.appointments.add(
        records.appointment(
            practitioner.id,
            client.id,
            starts_at=NOW - timedelta(days=2),
            status=AppointmentStatus.COMPLETED,
        )
    )
    return Aftercare(db, FixedClock(NOW), client, appointment.id)


async def add_checkin(
    world: Aftercare,
    day: int = 1,
    *,
    due_at: datetime | None = None,
    state: CheckInState = SENT,
    step: CheckInStep = CheckInStep.SCORE,
    appointment_id: int | None = None,
) -> CheckIn:
    """A check-in of the session (sent an hour ago, at its first question, by default)."""
    return await world.db.checkins.add(
        records.checkin(
            world.client.id,
            appointment_id or world.appointment_id,
            day=day,
            due_at=due_at or NOW - timedelta(hours=1),
            state=state,
            step=step,
        )
    )


async def unanswered_checkins(world: Aftercare, count: int) -> list[CheckIn]:
    """``count`` sent, unanswered check-ins, a day apart, the newest just sent."""
    return [
        await add_checkin(world, day, due_at=NOW - timedelta(days=count - day))
        for day in range(1, count + 1)
    ]


async def press(
    world: Aftercare,
    checkin: CheckIn,
    action: CheckInAction,
    argument: int | None = None,
    *,
    actor: int = CLIENT,
    ticked: Collection[int] = (),
) -> OutgoingMessage:
    """A press on a check-in's button; the message it is redrawn as."""
    return await press_checkin(
        world.ctx,
        actor=actor,
        press=CheckInPress(checkin.id, action, argument),
        ticked=ticked,
    )


async def say(
    world: Aftercare, text: str, message_id: int, *, edited: bool = False, actor: int = CLIENT
) -> OutgoingMessage | None:
    """Words from ``actor`` (an edit if ``edited``); the answer, if the services give one."""
    heard = await receive_words(
        world.ctx,
        sender=actor,
        named_practitioners=(),
        words=Words(message_id, text, edited),
    )
    return heard.answer


async def show_media(world: Aftercare, message_id: int, kind: str) -> OutgoingMessage | None:
    """A photo, voice note or the like from the client; the answer, if any."""
    heard = await receive_media(
        world.ctx,
        sender=CLIENT,
        named_practitioners=(),
        message_id=message_id,
        kind=kind,
    )
    return heard.answer


async def ask(world: Aftercare) -> None:
    """Ask the client whether to keep their check-ins, if it is time to."""
    client = await world.db.clients.get(world.client.id)
    assert client is not None
    async with world.db() as uow:
        await prompts.ask_keep_or_stop(uow, world.clock, POLICY, client)
        await uow.commit()


async def refused_key(call: Awaitable[object]) -> str:
    """The catalog key of the refusal that ``call`` must end in."""
    with pytest.raises(Refused) as refusal:
        await call
    return refusal.value.answer.key


def button_data(message: OutgoingMessage) -> list[str | None]:
    return [button.callback_data for row in message.buttons for button in row]


def picker_data(message: OutgoingMessage) -> list[str]:
    """The callback data of a picker's buttons: every one of them carries some."""
    data = button_data(message)
    found = [d for d in data if d is not None]
    assert len(found) == len(data), data
    return found


def shown(message: OutgoingMessage | None) -> str:
    """The answer as an English reader sees it (proves its key and parameters fit)."""
    assert message is not None
    return render_plain(message.text.key, "en", **message.text.params)


async def stored_checkin(world: Aftercare, checkin_id: int) -> CheckIn:
    found = await world.db.checkins.get(checkin_id)
    assert found is not None
    return found


async def client_now(world: Aftercare) -> Client:
    client = await world.db.clients.get(world.client.id)
    assert client is not None
    return client


async def replies_of(world: Aftercare) -> list[Reply]:
    """The client's replies, oldest first."""
    return list(reversed(await world.db.replies.for_client(world.client.id)))


async def flags_of(world: Aftercare) -> list[Flag]:
    return list(await world.db.flags.open_for_practitioner(world.client.practitioner_id))


def outbox_rows(world: Aftercare) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    rows = world.db.outbox.rows
    return [rows[row_id] for row_id in sorted(rows)]


def alerts(world: Aftercare) -> list[OutboxMessage]:
    return [r for r in outbox_rows(world) if r.kind is OutboxKind.FLAG_ALERT]


def keep_questions(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    return [r for r in rows if r.template == "checkin.keep_question"]


def refusals(world: Aftercare) -> list[AuditEntry]:
    """The audit log's refused attempts, oldest first."""
    return [e for e in world.db.audit.entries if e.action == "access.refused"]


# --- through the handlers -----------------------------------------------------------------------


class Bot:
    """The real application over a fake database, with an offline Bot API."""

    def __init__(self, app: Application, request: OfflineRequest) -> None:  # type: ignore[type-arg]
        self.app = app
        self.request = request
        self._ids = itertools.count(1)

    async def feed(self, payload: dict[str, Any]) -> list[Call]:
        """Process one update; the Bot API calls it led to."""
        before = len(self.request.calls)
        update = Update.de_json({"update_id": next(self._ids), **payload}, self.app.bot)
        await process(self.app, update)
        return self.request.calls[before:]


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Sam", "language_code": "en"}


def message(user_id: int, message_id: int, **content: Any) -> dict[str, Any]:
    """A private message from ``user_id`` with ``content`` (text, photo, caption...)."""
    return {
        "message_id": message_id,
        "date": 1_767_000_000,
        "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
        "from": user(user_id),
        **content,
    }
