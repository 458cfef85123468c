"""A practice for the session use-case tests: its people, times and policy, the steps a
practitioner and a client take through the services, and ways to read back what was stored.

``open_practice`` sets it up on the in-memory fakes (a ``CheckedDatabase``, which also
notices writes never committed), where the use cases are tested; the steps take any
``Seeded`` practice, so the database tests that remain (``tests/integration/test_journey_*.py``)
take the same steps on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import TracebackType
from typing import Any, Protocol

import pytest

from bot.domain import callbacks
from bot.domain.booking_input import BookingRequest
from bot.domain.callbacks import SessionAction, SessionPress
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Client,
    ClientStatus,
    Invite,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
)
from bot.domain.outgoing import OutgoingMessage, Text
from bot.ports import UnitOfWorkFactory
from bot.services.access import Refused
from bot.services.context import UseCaseContext
from bot.services.practice import invites
from bot.services.practice.invites import ConsentOutcome, NewInvite
from bot.services.sessions import booking, client_actions
from bot.services.sessions import changes as session_changes
from messages import render_plain
from tests.fakes import FakeDatabase, FakeUnitOfWork, FixedClock
from tests.integration import records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
POLICY = records.policy()
PRACTITIONER = 7_100_000_001
OTHER_PRACTITIONER = 7_100_000_002
CLIENT = 8_100_000_001
OTHER_CLIENT = 8_100_000_002
GUEST = 8_100_000_999
NEWCOMER = 8_100_000_500  # the Telegram user who opens the second client's invite
BERLIN = "Europe/Berlin"

FRIDAY = date(2026, 12, 4)
ELEVEN = time(11, 0)
FRIDAY_ELEVEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
MONDAY = date(2026, 12, 7)
MONDAY_ELEVEN = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FAR = timedelta(days=400)
INVITED = ClientStatus.INVITED
CANCELLED = AppointmentStatus.CANCELLED


class Seeded(Protocol):
    """What the steps below need of a practice, on the fakes or on a database."""

    @property
    def uow(self) -> UnitOfWorkFactory: ...
    @property
    def clock(self) -> FixedClock: ...
    @property
    def practitioner(self) -> Practitioner: ...
    @property
    def client(self) -> Client: ...
    @property
    def ctx(self) -> UseCaseContext: ...


Row = tuple[str, tuple[object, ...]]
"""A stored row as (table, values)."""


class CheckedDatabase(FakeDatabase):
    """A fake database that notices writes a real one would have rolled back.

    The fakes write straight into their tables, so a use case that forgot to commit would
    still pass on them; a database keeps only what was committed before its unit of work
    closed. This one remembers what was stored at the last commit, and each unit of work
    that closes holding anything else adds the difference to ``uncommitted``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.committed: list[Row] = everything_stored(self)
        self.uncommitted: list[tuple[str, Row]] = []

    def __call__(self) -> FakeUnitOfWork:
        self.opened += 1
        return _CheckedUnitOfWork(self)


class _CheckedUnitOfWork(FakeUnitOfWork):
    def __init__(self, database: CheckedDatabase) -> None:
        super().__init__(database)
        self._checked = database

    async def commit(self) -> None:
        await super().commit()
        self._checked.committed = everything_stored(self._checked)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        db = self._checked
        stored = everything_stored(db)
        if stored != db.committed:
            db.uncommitted += [("written", row) for row in stored if row not in db.committed]
            db.uncommitted += [("removed", row) for row in db.committed if row not in stored]
            db.committed = stored


@dataclass(frozen=True)
class Practice:
    """One practitioner in Berlin with one joined client, on a fake database."""

    db: CheckedDatabase
    clock: FixedClock
    practitioner: Practitioner
    client: Client

    @property
    def uow(self) -> UnitOfWorkFactory:
        """The fake database, as the use cases open it."""
        return self.db

    @property
    def ctx(self) -> UseCaseContext:
        """What the use cases work with here: the fake database, the clock, ``POLICY``."""
        return UseCaseContext(self.db, self.clock, POLICY)


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


async def seed(uow_factory: UnitOfWorkFactory) -> tuple[Practitioner, Client]:
    """Store the practice's practitioner and their joined client."""
    practitioner = await add_practitioner(uow_factory)
    return practitioner, await add_client(uow_factory, practitioner)


async def open_practice(db: CheckedDatabase) -> Practice:
    """The practice on ``db`` (a new fake database), its clock at ``NOW``."""
    return Practice(db, FixedClock(NOW), *await seed(db))


# --- reading back what was stored ---------------------------------------------------------------


def outbox_rows(practice: Practice) -> list[OutboxMessage]:
    """Every outbox row, oldest first, as copies (a later change leaves them as they were)."""
    rows = practice.db.outbox.rows
    return [copy.deepcopy(rows[row_id]) for row_id in sorted(rows)]


def everything_stored(db: FakeDatabase) -> list[Row]:
    """Every row of every table (and every audit entry), as (table, values), as copies."""
    tables: dict[str, dict[int, Any]] = {
        "practitioners": db.practitioners.rows,
        "clients": db.clients.rows,
        "invites": db.invites.rows,
        "appointments": db.appointments.rows,
        "outbox": db.outbox.rows,
        "checkins": db.checkins.rows,
        "replies": db.replies.rows,
        "flags": db.flags.rows,
    }
    found = [
        (name, _values(rows[row_id])) for name, rows in tables.items() for row_id in sorted(rows)
    ]
    found += [("audit", _values(entry)) for entry in db.audit.entries]
    return copy.deepcopy(found)


def _values(row: Any) -> tuple[object, ...]:
    return tuple(getattr(row, field.name) for field in dataclasses.fields(row))


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


async def stored_invite(practice: Seeded, invite_id: int) -> Invite:
    async with practice.uow() as uow:
        found = await uow.invites.get(invite_id)
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
    """The buttons a client gets with their session: Confirm (unless confirmed), Reschedule,
    Cancel."""
    actions = [SessionAction.ASK_RESCHEDULE, SessionAction.ASK_CANCEL]
    if confirm:
        actions.insert(0, SessionAction.CONFIRM)
    return [callbacks.session(appointment_id, starts_at, action) for action in actions]


async def refused(call: Awaitable[object]) -> Text:
    """The kind answer of a refusal that ``call`` must end in."""
    with pytest.raises(Refused) as caught:
        await call
    return caught.value.answer


# --- the steps ----------------------------------------------------------------------------------


async def book(
    practice: Seeded, day: date = FRIDAY, at: time = ELEVEN, client: Client | None = None
) -> Appointment:
    """Book through the service and return the stored session."""
    answer = await booking.book(
        practice.ctx,
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
    practice: Seeded,
    query: str = "Sample Client",
    day: date = FRIDAY,
    at: time = ELEVEN,
    minutes: int = 60,
    *,
    actor: int = PRACTITIONER,
) -> OutgoingMessage:
    """``/book <query> <day> <at> <minutes>``, as parsed."""
    request = BookingRequest(query, day, at, minutes)
    return await booking.book_by_name(practice.ctx, actor=actor, request=request)


async def client_press(
    practice: Seeded,
    appointment: Appointment,
    action: SessionAction,
    *,
    actor: int = CLIENT,
    starts_at: datetime | None = None,
) -> OutgoingMessage:
    """A client's tap on a button of ``appointment`` (as it started at ``starts_at``)."""
    press = SessionPress(
        appointment.id, callbacks.session_version(starts_at or appointment.starts_at), action
    )
    return await client_actions.client_press(practice.ctx, actor=actor, press=press)


async def practitioner_press(
    practice: Seeded,
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
    return await session_changes.practitioner_press(practice.ctx, actor=actor, press=press)


async def move_to_monday(practice: Seeded, appointment: Appointment) -> OutgoingMessage:
    return await practitioner_press(practice, appointment, SessionAction.MOVE_TO, "202612071100")


def later(practice: Seeded, minutes: int = 10) -> None:
    """Let some time pass between two steps, as it does between two taps."""
    practice.clock.current += timedelta(minutes=minutes)


async def new_invite(
    practice: Seeded, name: str = "Second Client", actor: int = PRACTITIONER
) -> NewInvite:
    return await invites.create(practice.ctx, actor=actor, full_name=name)


async def open_link(practice: Seeded, token: str, actor: int = NEWCOMER) -> OutgoingMessage:
    """``/start <token>``."""
    return await invites.consent_request(practice.ctx, actor=actor, token=token)


async def consent(
    practice: Seeded, token: str, *, agreed: bool = True, actor: int = NEWCOMER
) -> ConsentOutcome:
    """A tap on Agree (or No thanks) under the consent request of ``token``."""
    return await invites.answer_consent(
        practice.ctx,
        actor=actor,
        token=token,
        agreed=agreed,
        locale="en",
    )
