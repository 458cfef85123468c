"""A practice for the journey tests: its people, times and policy, the steps a practitioner
and a client take through the services, and ways to read back what was stored."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.mapping import to_domain
from bot.db.tables import OutboxRow
from bot.domain import callbacks
from bot.domain.booking_input import BookingRequest
from bot.domain.callbacks import SessionAction, SessionPress
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Client,
    ClientStatus,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
)
from bot.domain.outgoing import OutgoingMessage, Text
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.services.access import Refused
from bot.services.policy import Policy
from bot.services.sessions import booking, client_actions
from bot.services.sessions import changes as session_changes
from bot.triage_data import LoadedTriage
from messages import render_plain
from tests.fakes import FixedClock
from tests.integration import records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
POLICY = Policy(
    quiet=QuietHours(time(21, 0), time(8, 0)),
    reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
    invite_ttl=timedelta(days=7),
    default_timezone="UTC",
    triage=LoadedTriage(),
)
PRACTITIONER = 7_100_000_001
OTHER_PRACTITIONER = 7_100_000_002
CLIENT = 8_100_000_001
OTHER_CLIENT = 8_100_000_002
GUEST = 8_100_000_999
BERLIN = "Europe/Berlin"

FRIDAY = date(2026, 12, 4)
ELEVEN = time(11, 0)
FRIDAY_ELEVEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
MONDAY = date(2026, 12, 7)
MONDAY_ELEVEN = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FAR = timedelta(days=400)
INVITED = ClientStatus.INVITED
CANCELLED = AppointmentStatus.CANCELLED


# --- shared helpers (test_journey_access.py imports them) ---------------------------------------


@dataclass(frozen=True)
class Practice:
    """One practitioner in Berlin with one joined client, and the test's database and clock."""

    uow: UnitOfWorkFactory
    engine: AsyncEngine
    clock: FixedClock
    practitioner: Practitioner
    client: Client


async def add_practitioner(
    uow_factory: UnitOfWorkFactory, telegram_id: int = PRACTITIONER, timezone: str = BERLIN
) -> Practitioner:
    async with uow_factory() as uow:
        stored = await uow.practitioners.add(
            records.practitioner(
                telegram_id, timezone=timezone, display_name="Sixth Client", created_at=NOW
            )
        )
        await uow.commit()
    return stored


async def add_client(
    uow_factory: UnitOfWorkFactory,
    practitioner: Practitioner,
    name: str = "Sample Client",
    telegram_id: int | None = CLIENT,
    **changes: Any,
) -> Client:
    values: dict[str, Any] = {
        "full_name": name,
        "telegram_user_id": telegram_id,
        "timezone": practitioner.timezone,
        "locale": "en",
        "consented_at": NOW if telegram_id else None,
        "created_at": NOW,
    }
    async with uow_factory() as uow:
        stored = await uow.clients.add(records.client(practitioner.id, **(values | changes)))
        await uow.commit()
    return stored


async def add_session(
    uow_factory: UnitOfWorkFactory,
    client: Client,
    starts_at: datetime,
    *,
    minutes: int = 60,
    status: AppointmentStatus = AppointmentStatus.BOOKED,
) -> Appointment:
    """A session stored directly, without reminders."""
    async with uow_factory() as uow:
        stored = await uow.appointments.add(
            records.appointment(
                client.practitioner_id,
                client.id,
                starts_at=starts_at,
                duration_minutes=minutes,
                status=status,
                created_at=NOW,
            )
        )
        await uow.commit()
    return stored


async def outbox_rows(engine: AsyncEngine) -> list[OutboxMessage]:
    """Every outbox row, oldest first (the repository has no such query)."""
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [to_domain(row, OutboxMessage) for row in rows]


async def refusals(uow_factory: UnitOfWorkFactory) -> list[AuditEntry]:
    async with uow_factory() as uow:
        return [e for e in await uow.audit.recent() if e.action == "access.refused"]


async def sessions_of(
    uow_factory: UnitOfWorkFactory, practitioner: Practitioner
) -> Sequence[Appointment]:
    async with uow_factory() as uow:
        return await uow.appointments.for_practitioner_between(
            practitioner.id, NOW - FAR, NOW + FAR
        )


async def session(uow_factory: UnitOfWorkFactory, appointment_id: int) -> Appointment:
    async with uow_factory() as uow:
        found = await uow.appointments.get(appointment_id)
    assert found is not None
    return found


def shown(message: OutgoingMessage) -> str:
    """The answer as an English reader sees it (proves its key and parameters fit)."""
    return render_plain(message.text.key, "en", **message.text.params)


def button_data(message: OutgoingMessage) -> list[str | None]:
    return [button.callback_data for row in message.buttons for button in row]


def payload_data(row: OutboxMessage) -> list[str | None]:
    return [button["data"] for line in row.payload["buttons"] for button in line]


def reminders(
    rows: Sequence[OutboxMessage], state: OutboxState = OutboxState.PENDING
) -> list[OutboxMessage]:
    return [r for r in rows if r.kind is OutboxKind.REMINDER and r.state is state]


def notices_to(
    rows: Sequence[OutboxMessage], chat_id: int, template: str | None = None
) -> list[OutboxMessage]:
    return [
        r
        for r in rows
        if r.kind is OutboxKind.NOTICE
        and r.chat_id == chat_id
        and (template is None or r.template == template)
    ]


def client_buttons(starts_at: datetime, appointment_id: int, *, confirm: bool = True) -> list[str]:
    actions = [SessionAction.ASK_RESCHEDULE, SessionAction.ASK_CANCEL]
    if confirm:
        actions.insert(0, SessionAction.CONFIRM)
    return [callbacks.session(appointment_id, starts_at, action) for action in actions]


async def refused(call: Awaitable[object]) -> Text:
    """The kind answer of a refusal that ``call`` must end in."""
    with pytest.raises(Refused) as caught:
        await call
    return caught.value.answer


async def open_practice(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, clock: FixedClock
) -> Practice:
    practitioner = await add_practitioner(uow_factory)
    client = await add_client(uow_factory, practitioner)
    return Practice(uow_factory, engine, clock, practitioner, client)


async def book(
    practice: Practice, day: date = FRIDAY, at: time = ELEVEN, client: Client | None = None
) -> Appointment:
    """Book through the service and return the stored session."""
    answer = await booking.book(
        practice.uow,
        practice.clock,
        POLICY,
        actor=PRACTITIONER,
        client_id=(client or practice.client).id,
        day=day,
        at=at,
    )
    assert answer.text.key == "booking.booked"
    press = callbacks.parse_session(button_data(answer)[0] or "")
    assert press is not None
    return await session(practice.uow, press.appointment_id)


async def book_line(
    practice: Practice,
    query: str = "Sample Client",
    day: date = FRIDAY,
    at: time = ELEVEN,
    minutes: int = 60,
    *,
    actor: int = PRACTITIONER,
) -> OutgoingMessage:
    """``/book <query> <day> <at> <minutes>``, as parsed."""
    request = BookingRequest(query, day, at, minutes)
    return await booking.book_by_name(
        practice.uow, practice.clock, POLICY, actor=actor, request=request
    )


async def client_press(
    practice: Practice,
    appointment: Appointment,
    action: SessionAction,
    *,
    actor: int = CLIENT,
    starts_at: datetime | None = None,
) -> OutgoingMessage:
    press = SessionPress(
        appointment.id, callbacks.session_version(starts_at or appointment.starts_at), action
    )
    return await client_actions.client_press(
        practice.uow, practice.clock, POLICY, actor=actor, press=press
    )


async def practitioner_press(
    practice: Practice,
    appointment: Appointment,
    action: SessionAction,
    argument: str = "",
    *,
    actor: int = PRACTITIONER,
) -> OutgoingMessage:
    press = callbacks.parse_session(
        callbacks.session(appointment.id, appointment.starts_at, action, argument)
    )
    assert press is not None
    return await session_changes.practitioner_press(
        practice.uow, practice.clock, POLICY, actor=actor, press=press
    )


async def move_to_monday(practice: Practice, appointment: Appointment) -> OutgoingMessage:
    return await practitioner_press(practice, appointment, SessionAction.MOVE_TO, "202612071100")


def later(practice: Practice, minutes: int = 10) -> None:
    """Let some time pass between two steps, as it does between two taps."""
    practice.clock.current += timedelta(minutes=minutes)
