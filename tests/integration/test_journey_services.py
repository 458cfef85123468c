"""A practice's week through the services, on real databases: booking, a client's taps on
their session, the practitioner moving and cancelling it, the lists, and client settings.

Every test reads back what was stored (sessions, outbox rows, audit entries) rather than
trusting the answer alone. Who may do what (invites, consent, refusals of other people's
records) is in ``test_journey_access.py``, which shares the helpers defined here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.mapping import to_domain
from bot.db.models import OutboxRow
from bot.domain import callbacks
from bot.domain.booking import BookingRequest
from bot.domain.callbacks import BookPress, SessionAction, SessionPress
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
from bot.domain.timing import QuietHours
from bot.ports import OutgoingMessage, UnitOfWorkFactory, when
from bot.services import booking, client_sessions, client_settings, session_changes, session_lists
from bot.services.access import Refused
from bot.services.policy import Policy
from messages import render_plain
from tests.fakes import FixedClock
from tests.integration import records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
POLICY = Policy(
    quiet=QuietHours(time(21, 0), time(8, 0)),
    reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
    invite_ttl=timedelta(days=7),
    default_timezone="UTC",
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
                telegram_id, timezone=timezone, display_name="Mira Stone", created_at=NOW
            )
        )
        await uow.commit()
    return stored


async def add_client(
    uow_factory: UnitOfWorkFactory,
    practitioner: Practitioner,
    name: str = "Anna Berg",
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


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def practice(
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
    return await client_sessions.press_session(
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
    return await session_changes.session_press(
        practice.uow, practice.clock, POLICY, actor=actor, press=press
    )


async def move_to_monday(practice: Practice, appointment: Appointment) -> OutgoingMessage:
    return await practitioner_press(practice, appointment, SessionAction.MOVE_TO, "202612071100")


# --- booking ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "at", "offsets"),
    [
        pytest.param(FRIDAY, ELEVEN, [timedelta(hours=24), timedelta(hours=2)], id="3-days-out"),
        pytest.param(date(2026, 12, 1), time(15, 0), [timedelta(hours=2)], id="5-hours-out"),
        pytest.param(date(2026, 12, 1), time(11, 0), [], id="1-hour-out"),
    ],
)
async def test_one_line_booking_schedules_the_reminders_still_ahead(
    practice: Practice, day: date, at: time, offsets: list[timedelta]
) -> None:
    request = BookingRequest("anna", day, at, 60)
    answer = await booking.book_by_name(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, request=request
    )

    [stored] = await sessions_of(practice.uow, practice.practitioner)
    starts_at = datetime.combine(day, at, UTC) - timedelta(hours=1)  # Berlin is UTC+1
    assert (stored.starts_at, stored.status, stored.client_id) == (
        starts_at,
        AppointmentStatus.BOOKED,
        practice.client.id,
    )
    assert answer.text.key == "booking.booked"
    assert answer.text.params["reminders"] == len(offsets)
    assert button_data(answer) == [
        callbacks.session(stored.id, starts_at, SessionAction.MOVE),
        callbacks.session(stored.id, starts_at, SessionAction.PRACTITIONER_ASK_CANCEL),
    ]
    rows = await outbox_rows(practice.engine)
    pending = reminders(rows)
    assert [r.due_at for r in pending] == [starts_at - offset for offset in offsets]
    for row in pending:
        assert (row.chat_id, row.template, row.expires_at) == (CLIENT, "reminder.ask", starts_at)
        assert row.payload["params"]["when"] == when(starts_at, BERLIN)
        assert payload_data(row) == client_buttons(starts_at, stored.id)
    assert [r.template for r in notices_to(rows, CLIENT)] == ["session.client_booked"]
    assert len(rows) == len(offsets) + 1


@pytest.mark.parametrize(
    ("day", "at", "minutes", "key"),
    [
        pytest.param(date(2026, 12, 1), time(9, 0), 60, "booking_input.in_past", id="past"),
        pytest.param(date(2026, 12, 1), time(10, 0), 60, "booking_input.in_past", id="now"),
        pytest.param(date(2027, 3, 28), time(2, 30), 60, "booking_input.time_gap", id="dst-gap"),
        pytest.param(FRIDAY, ELEVEN, 5, "booking_input.bad_duration", id="5-minutes"),
    ],
)
async def test_impossible_times_are_refused_kindly_and_nothing_is_stored(
    practice: Practice, day: date, at: time, minutes: int, key: str
) -> None:
    request = BookingRequest("Anna Berg", day, at, minutes)
    with pytest.raises(Refused) as refused:
        await booking.book_by_name(
            practice.uow, practice.clock, POLICY, actor=PRACTITIONER, request=request
        )

    assert refused.value.answer.key == key
    assert render_plain(key, "en", **refused.value.answer.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert await outbox_rows(practice.engine) == []


async def test_a_time_in_the_spring_forward_gap_names_the_zone(practice: Practice) -> None:
    request = BookingRequest("Anna Berg", date(2027, 3, 28), time(2, 30), 60)
    with pytest.raises(Refused) as refused:
        await booking.book_by_name(
            practice.uow, practice.clock, POLICY, actor=PRACTITIONER, request=request
        )

    assert refused.value.answer.params == {
        "min": 15,
        "max": 480,
        "day": "2027-03-28",
        "time": "02:30",
        "timezone": BERLIN,
    }


async def test_the_31st_of_february_is_refused_typed_or_tapped(practice: Practice) -> None:
    press = BookPress(practice.client.id, "20270231", "1100")
    with pytest.raises(Refused) as refused:
        await booking.guided_step(
            practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press
        )

    assert refused.value.answer.key == "booking_input.bad_date"
    assert "20270231" in render_plain("booking_input.bad_date", "en", **refused.value.answer.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert await outbox_rows(practice.engine) == []


async def test_an_unknown_name_offers_the_joined_clients_to_pick_from(practice: Practice) -> None:
    ben = await add_client(practice.uow, practice.practitioner, "Ben Ode", OTHER_CLIENT)
    await add_client(practice.uow, practice.practitioner, "Cleo Rand", None, status=ClientStatus.INVITED)
    request = BookingRequest("Zed", FRIDAY, ELEVEN, 90)

    answer = await booking.book_by_name(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, request=request
    )

    assert answer.text.key == "booking.which_client"
    assert button_data(answer) == [
        callbacks.book(practice.client.id, "20261204", "1100", 90),
        callbacks.book(ben.id, "20261204", "1100", 90),
    ]
    assert await sessions_of(practice.uow, practice.practitioner) == []


async def test_an_unknown_name_without_joined_clients_is_refused(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    practitioner = await add_practitioner(uow_factory)
    await add_client(uow_factory, practitioner, "Cleo Rand", None, status=ClientStatus.INVITED)

    with pytest.raises(Refused) as refused:
        await booking.book_by_name(
            uow_factory,
            clock,
            POLICY,
            actor=PRACTITIONER,
            request=BookingRequest("Zed", FRIDAY, ELEVEN, 60),
        )

    assert refused.value.answer.key == "booking.unknown_client"
    assert "Zed" in render_plain("booking.unknown_client", "en", **refused.value.answer.params)


async def test_two_clients_with_one_name_are_asked_about_never_guessed(practice: Practice) -> None:
    namesake = await add_client(practice.uow, practice.practitioner, "anna  BERG", OTHER_CLIENT)
    request = BookingRequest("Anna Berg", FRIDAY, ELEVEN, 60)

    answer = await booking.book_by_name(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, request=request
    )

    assert answer.text.key == "booking.which_client"
    assert button_data(answer) == [
        callbacks.book(practice.client.id, "20261204", "1100", 60),
        callbacks.book(namesake.id, "20261204", "1100", 60),
    ]
    assert await sessions_of(practice.uow, practice.practitioner) == []
    # Tapping the second one books exactly that client.
    press = callbacks.parse_book(button_data(answer)[1] or "")
    assert press is not None
    booked = await booking.guided_step(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press
    )
    assert booked.text.key == "booking.booked"
    assert [a.client_id for a in await sessions_of(practice.uow, practice.practitioner)] == [
        namesake.id
    ]


@pytest.mark.parametrize(
    ("at", "minutes"),
    [
        pytest.param(time(11, 30), 60, id="starts-inside"),
        pytest.param(time(10, 30), 60, id="ends-inside"),
        pytest.param(time(10, 0), 180, id="covers-it"),
    ],
)
async def test_an_overlapping_session_is_a_clash(
    practice: Practice, at: time, minutes: int
) -> None:
    ben = await add_client(practice.uow, practice.practitioner, "Ben Ode", OTHER_CLIENT)
    await add_session(practice.uow, ben, FRIDAY_ELEVEN)

    with pytest.raises(Refused) as refused:
        await booking.book_by_name(
            practice.uow,
            practice.clock,
            POLICY,
            actor=PRACTITIONER,
            request=BookingRequest("Anna", FRIDAY, at, minutes),
        )

    assert refused.value.answer.key == "booking.clash"
    assert refused.value.answer.params["client"] == "Ben Ode"
    assert refused.value.answer.params["when"] == when(FRIDAY_ELEVEN, BERLIN)
    assert len(await sessions_of(practice.uow, practice.practitioner)) == 1
    assert await outbox_rows(practice.engine) == []


async def test_touching_sessions_and_cancelled_ones_do_not_clash(practice: Practice) -> None:
    ben = await add_client(practice.uow, practice.practitioner, "Ben Ode", OTHER_CLIENT)
    await add_session(practice.uow, ben, FRIDAY_ELEVEN)  # 11:00-12:00 Berlin
    cleo = await add_client(practice.uow, practice.practitioner, "Cleo Rand", 8_100_000_003)
    await add_session(practice.uow, cleo, FRIDAY_ELEVEN + timedelta(hours=2), minutes=60)
    await add_session(
        practice.uow, cleo, FRIDAY_ELEVEN + timedelta(hours=1), status=AppointmentStatus.CANCELLED
    )

    before = await book(practice, at=time(10, 0))  # ends 11:00, as Ben starts
    after = await book(practice, at=time(12, 0))  # starts as Ben ends, ends as Cleo starts

    assert before.starts_at == FRIDAY_ELEVEN - timedelta(hours=1)
    assert after.starts_at == FRIDAY_ELEVEN + timedelta(hours=1)


async def test_a_client_abroad_is_reminded_in_their_own_time(practice: Practice) -> None:
    tokyo = await add_client(
        practice.uow, practice.practitioner, "Kenji Sato", OTHER_CLIENT, timezone="Asia/Tokyo"
    )
    answer = await booking.book(
        practice.uow,
        practice.clock,
        POLICY,
        actor=PRACTITIONER,
        client_id=tokyo.id,
        day=FRIDAY,
        at=ELEVEN,
    )

    text = shown(answer)
    assert "11:00" in text  # the practitioner's time
    assert "19:00" in text  # and theirs
    assert "Asia/Tokyo" in text
    pending = reminders(await outbox_rows(practice.engine))
    assert len(pending) == 2
    assert {r.payload["params"]["when"]["tz"] for r in pending} == {"Asia/Tokyo"}
    assert "19:00" in render_plain("reminder.ask", "en", **pending[0].payload["params"])


@pytest.mark.parametrize(
    ("status", "telegram_id", "key"),
    [
        (ClientStatus.INVITED, None, "booking.client_invited"),
        (ClientStatus.STOPPED, OTHER_CLIENT, "booking.client_stopped"),
    ],
)
async def test_a_client_who_cannot_be_reminded_cannot_be_booked(
    practice: Practice, status: ClientStatus, telegram_id: int | None, key: str
) -> None:
    await add_client(practice.uow, practice.practitioner, "Dora Lind", telegram_id, status=status)

    with pytest.raises(Refused) as refused:
        await booking.book_by_name(
            practice.uow,
            practice.clock,
            POLICY,
            actor=PRACTITIONER,
            request=BookingRequest("Dora", FRIDAY, ELEVEN, 60),
        )

    assert refused.value.answer.key == key
    assert "Dora Lind" in render_plain(key, "en", **refused.value.answer.params)
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert await outbox_rows(practice.engine) == []


async def test_guided_booking_offers_joined_clients_then_days(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Cleo Rand", None, status=ClientStatus.INVITED)

    start = await booking.start_guided(practice.uow, practice.clock, actor=PRACTITIONER)
    days = await booking.guided_step(
        practice.uow,
        practice.clock,
        POLICY,
        actor=PRACTITIONER,
        press=BookPress(practice.client.id),
    )

    assert start.text.key == "booking.pick_client"
    assert button_data(start) == [callbacks.book(practice.client.id)]
    assert days.text.key == "booking.pick_day"
    assert button_data(days)[:2] == [
        callbacks.book(practice.client.id, "20261201"),
        callbacks.book(practice.client.id, "20261202"),
    ]


# --- the client's taps on their session ---------------------------------------------------------


async def test_confirm_replaces_the_reminders_and_tells_the_practitioner_once(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    [first, _] = reminders(await outbox_rows(practice.engine))
    confirm = callbacks.parse_session(payload_data(first)[0] or "")
    assert confirm is not None
    assert confirm.action is SessionAction.CONFIRM

    answer = await client_sessions.press_session(
        practice.uow, practice.clock, POLICY, actor=CLIENT, press=confirm
    )

    assert answer.text.key == "session.confirmed"
    stored = await session(practice.uow, appointment.id)
    assert stored.status is AppointmentStatus.CONFIRMED
    rows = await outbox_rows(practice.engine)
    assert len(reminders(rows, OutboxState.CANCELLED)) == 2
    pending = reminders(rows)
    assert [r.template for r in pending] == ["reminder.confirmed"] * 2
    assert [r.due_at for r in pending] == [
        FRIDAY_ELEVEN - timedelta(hours=24),
        FRIDAY_ELEVEN - timedelta(hours=2),
    ]
    for row in pending:
        assert payload_data(row) == client_buttons(FRIDAY_ELEVEN, appointment.id, confirm=False)
    assert len(notices_to(rows, PRACTITIONER, "session.practitioner_confirmed")) == 1


async def test_a_double_tap_on_confirm_changes_nothing(practice: Practice) -> None:
    appointment = await book(practice)
    await client_press(practice, appointment, SessionAction.CONFIRM)
    rows_before = await outbox_rows(practice.engine)
    async with practice.uow() as uow:
        audit_before = await uow.audit.recent()

    again = await client_press(practice, appointment, SessionAction.CONFIRM)

    assert again.text.key == "session.confirmed"
    assert await outbox_rows(practice.engine) == rows_before
    assert len(notices_to(rows_before, PRACTITIONER)) == 1
    async with practice.uow() as uow:
        assert await uow.audit.recent() == audit_before


async def test_a_button_from_before_a_move_is_stale(practice: Practice) -> None:
    appointment = await book(practice)
    await move_to_monday(practice, appointment)

    with pytest.raises(Refused) as refused:
        await client_press(practice, appointment, SessionAction.CONFIRM)

    assert refused.value.answer.key == "session.stale"
    assert refused.value.answer.params["when"] == when(MONDAY_ELEVEN, BERLIN)
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    [entry] = await refusals(practice.uow)
    assert (entry.actor_telegram_id, entry.subject_id) == (CLIENT, appointment.id)
    assert entry.detail == {"action": "appointment.ok", "reason": "stale button"}


async def test_a_press_on_a_cancelled_session_is_refused(practice: Practice) -> None:
    appointment = await add_session(
        practice.uow, practice.client, FRIDAY_ELEVEN, status=AppointmentStatus.CANCELLED
    )

    with pytest.raises(Refused) as refused:
        await client_press(practice, appointment, SessionAction.CONFIRM)

    assert refused.value.answer.key == "session.now_cancelled"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CANCELLED
    [entry] = await refusals(practice.uow)
    assert entry.detail["reason"] == "session cancelled"
    assert await outbox_rows(practice.engine) == []


async def test_reschedule_asks_the_practitioner_with_move_and_cancel_buttons(
    practice: Practice,
) -> None:
    appointment = await book(practice)

    answer = await client_press(practice, appointment, SessionAction.ASK_RESCHEDULE)

    assert answer.text.key == "session.reschedule_asked"
    stored = await session(practice.uow, appointment.id)
    assert stored.status is AppointmentStatus.RESCHEDULE_REQUESTED
    [notice] = notices_to(await outbox_rows(practice.engine), PRACTITIONER)
    assert notice.template == "session.practitioner_reschedule_asked"
    assert notice.payload["params"]["client"] == "Anna Berg"
    assert payload_data(notice) == [
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.MOVE),
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.PRACTITIONER_ASK_CANCEL),
    ]


async def test_cancel_is_asked_then_done_and_the_practitioner_told(practice: Practice) -> None:
    appointment = await book(practice)

    question = await client_press(practice, appointment, SessionAction.ASK_CANCEL)
    assert question.text.key == "session.cancel_question"
    assert button_data(question) == [
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.CANCEL),
        callbacks.session(appointment.id, FRIDAY_ELEVEN, SessionAction.KEEP),
    ]
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED

    answer = await client_press(practice, appointment, SessionAction.CANCEL)

    assert answer.text.key == "session.cancelled"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CANCELLED
    rows = await outbox_rows(practice.engine)
    assert reminders(rows) == []
    assert len(reminders(rows, OutboxState.CANCELLED)) == 2
    assert [n.template for n in notices_to(rows, PRACTITIONER)] == [
        "session.practitioner_cancelled"
    ]


async def test_next_shows_the_clients_next_open_session(practice: Practice) -> None:
    await add_session(
        practice.uow, practice.client, NOW + timedelta(days=1), status=AppointmentStatus.CANCELLED
    )
    appointment = await book(practice)

    answer = await client_sessions.next_session(practice.uow, practice.clock, actor=CLIENT)
    nothing = await client_sessions.next_session(practice.uow, practice.clock, actor=GUEST)

    assert answer.text.key == "next.open"
    assert answer.text.params["when"] == when(FRIDAY_ELEVEN, BERLIN)
    assert button_data(answer) == client_buttons(FRIDAY_ELEVEN, appointment.id)
    assert nothing.text.key == "next.none"


# --- the practitioner's changes -----------------------------------------------------------------


async def test_move_replaces_the_reminders_and_tells_the_client(practice: Practice) -> None:
    appointment = await book(practice)

    answer = await move_to_monday(practice, appointment)

    assert answer.text.key == "booking.moved"
    assert (await session(practice.uow, appointment.id)).starts_at == MONDAY_ELEVEN
    rows = await outbox_rows(practice.engine)
    old = reminders(rows, OutboxState.CANCELLED)
    assert [r.due_at for r in old] == [
        FRIDAY_ELEVEN - timedelta(hours=24),
        FRIDAY_ELEVEN - timedelta(hours=2),
    ]
    new = reminders(rows)
    assert [r.due_at for r in new] == [
        MONDAY_ELEVEN - timedelta(hours=24),
        MONDAY_ELEVEN - timedelta(hours=2),
    ]
    assert {r.expires_at for r in new} == {MONDAY_ELEVEN}
    assert payload_data(new[0]) == client_buttons(MONDAY_ELEVEN, appointment.id)
    told = {n.template: n.state for n in notices_to(rows, CLIENT)}
    assert told == {
        "session.client_booked": OutboxState.CANCELLED,  # not sent yet: no longer true
        "session.client_moved": OutboxState.PENDING,
    }
    async with practice.uow() as uow:
        assert (await uow.audit.recent(1))[0].action == "appointment.moved"


async def test_move_by_an_ambiguous_name_asks_which_session(practice: Practice) -> None:
    anna = await book(practice)
    annika = await add_client(practice.uow, practice.practitioner, "Annika Holm", OTHER_CLIENT)
    other = await book(practice, day=MONDAY, client=annika)

    answer = await session_changes.move_by_name(
        practice.uow,
        practice.clock,
        POLICY,
        actor=PRACTITIONER,
        query="ann",
        day=date(2026, 12, 8),
        at=time(9, 0),
    )

    assert answer.text.key == "booking.which_session"
    assert button_data(answer) == [
        callbacks.session(anna.id, FRIDAY_ELEVEN, SessionAction.MOVE_TO, "202612080900"),
        callbacks.session(other.id, MONDAY_ELEVEN, SessionAction.MOVE_TO, "202612080900"),
    ]
    assert [a.starts_at for a in await sessions_of(practice.uow, practice.practitioner)] == [
        FRIDAY_ELEVEN,
        MONDAY_ELEVEN,
    ]


async def test_cancel_by_name_asks_then_cancels_and_the_client_is_told(
    practice: Practice,
) -> None:
    appointment = await book(practice)

    question = await session_changes.cancel_by_name(
        practice.uow, practice.clock, actor=PRACTITIONER, query="anna berg"
    )
    assert question.text.key == "booking.cancel_question"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    yes = callbacks.parse_session(button_data(question)[0] or "")
    assert yes is not None
    assert yes.action is SessionAction.PRACTITIONER_CANCEL

    answer = await session_changes.session_press(
        practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=yes
    )

    assert answer.text.key == "booking.cancelled"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CANCELLED
    rows = await outbox_rows(practice.engine)
    assert reminders(rows) == []
    [told] = notices_to(rows, CLIENT, "session.client_cancelled")
    assert told.state is OutboxState.PENDING
    assert told.payload["buttons"] == []  # nothing left to confirm


# --- the practitioner's lists -------------------------------------------------------------------


def listed_clients(message: OutgoingMessage) -> list[str]:
    return [line["params"]["client"] for line in message.text.params["lines"]]


async def test_today_is_the_practitioners_local_today(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    # 09:00 UTC on 1 December is 22:00 on 1 December in Auckland (UTC+13).
    practitioner = await add_practitioner(uow_factory, timezone="Pacific/Auckland")
    people = {
        name: await add_client(uow_factory, practitioner, name, 8_100_000_010 + n)
        for n, name in enumerate(["Early", "Late", "Tomorrow", "Called Off", "Yesterday"])
    }
    await add_session(uow_factory, people["Early"], datetime(2026, 11, 30, 19, 0, tzinfo=UTC))
    await add_session(uow_factory, people["Late"], datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    await add_session(uow_factory, people["Tomorrow"], datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    await add_session(
        uow_factory,
        people["Called Off"],
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        status=AppointmentStatus.CANCELLED,
    )
    await add_session(uow_factory, people["Yesterday"], datetime(2026, 11, 30, 10, 0, tzinfo=UTC))

    answer = await session_lists.sessions_today(uow_factory, clock, actor=PRACTITIONER)

    assert answer.text.key == "sessions.today"
    assert listed_clients(answer) == ["Early", "Late"]
    assert answer.text.params["count"] == 2
    assert "Late" in shown(answer)


async def test_upcoming_leaves_out_other_practitioners_and_cancelled_sessions(
    practice: Practice,
) -> None:
    other = await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    theirs = await add_client(practice.uow, other, "Not Mine", OTHER_CLIENT)
    await add_session(practice.uow, theirs, FRIDAY_ELEVEN)
    await add_session(practice.uow, practice.client, MONDAY_ELEVEN)
    await add_session(
        practice.uow, practice.client, FRIDAY_ELEVEN, status=AppointmentStatus.CANCELLED
    )

    mine = await session_lists.sessions_upcoming(practice.uow, practice.clock, actor=PRACTITIONER)
    empty = await session_lists.sessions_today(practice.uow, practice.clock, actor=PRACTITIONER)

    assert mine.text.key == "sessions.upcoming"
    assert listed_clients(mine) == ["Anna Berg"]
    assert "Not Mine" not in shown(mine)
    assert empty.text.key == "sessions.none_today"


async def test_the_client_list_shows_every_client_and_their_state(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Cleo Rand", None, status=ClientStatus.INVITED)
    await add_client(practice.uow, practice.practitioner, "Dora Lind", OTHER_CLIENT, status=ClientStatus.STOPPED)
    await book(practice)

    answer = await session_lists.client_list(practice.uow, practice.clock, actor=PRACTITIONER)

    assert answer.text.key == "clients.list"
    assert answer.text.params["count"] == 3
    states = {
        line["params"]["client"]: line["params"]["status"]["$text"]
        for line in answer.text.params["lines"]
    }
    assert states == {
        "Anna Berg": "client_status.active",
        "Cleo Rand": "client_status.invited",
        "Dora Lind": "client_status.stopped",
    }
    assert button_data(answer) == [callbacks.book(practice.client.id)]
    text = shown(answer)
    assert "invited, not joined yet" in text
    assert "next: Friday 4 December at 11:00" in text


# --- the client's settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("  America/New_York ", "America/New_York"),
        ("europe/berlin", "Europe/Berlin"),
        ("Mars/Olympus", None),
        ("", None),
    ],
)
def test_find_timezone(text: str, zone: str | None) -> None:
    assert client_settings.find_timezone(text) == zone


async def test_a_new_time_zone_reschedules_the_reminders_ahead(practice: Practice) -> None:
    await book(practice)

    answer = await client_settings.set_timezone(
        practice.uow, practice.clock, POLICY, actor=CLIENT, text="Tokyo"
    )

    assert answer.text.key == "timezone.changed"
    assert answer.text.params["timezone"] == "Asia/Tokyo"
    async with practice.uow() as uow:
        stored = await uow.clients.get(practice.client.id)
    assert stored is not None
    assert stored.timezone == "Asia/Tokyo"
    rows = await outbox_rows(practice.engine)
    assert {r.payload["params"]["when"]["tz"] for r in reminders(rows, OutboxState.CANCELLED)} == {
        BERLIN
    }
    new = reminders(rows)
    assert len(new) == 2
    assert {r.payload["params"]["when"]["tz"] for r in new} == {"Asia/Tokyo"}
    assert {r.expires_at for r in new} == {FRIDAY_ELEVEN}


async def test_pause_cancels_pending_checkins_and_not_the_reminders(practice: Practice) -> None:
    await book(practice)
    async with practice.uow() as uow:
        for day in (1, 3):
            await uow.outbox.add(
                records.outbox_message(
                    CLIENT,
                    kind=OutboxKind.CHECKIN,
                    template="checkin.ask",
                    dedup_key=f"checkin:test:{day}",
                    due_at=FRIDAY_ELEVEN + timedelta(days=day),
                    client_id=practice.client.id,
                )
            )
        await uow.commit()

    paused = await client_settings.set_paused(
        practice.uow, practice.clock, actor=CLIENT, paused=True
    )
    again = await client_settings.set_paused(
        practice.uow, practice.clock, actor=CLIENT, paused=True
    )

    assert (paused.text.key, again.text.key) == ("checkins.paused", "checkins.already_paused")
    async with practice.uow() as uow:
        stored = await uow.clients.get(practice.client.id)
    assert stored is not None
    assert stored.checkins_paused
    rows = await outbox_rows(practice.engine)
    assert {r.state for r in rows if r.kind is OutboxKind.CHECKIN} == {OutboxState.CANCELLED}
    assert len(reminders(rows)) == 2
    resumed = await client_settings.set_paused(
        practice.uow, practice.clock, actor=CLIENT, paused=False
    )
    assert resumed.text.key == "checkins.resumed"


async def test_show_timezone_names_the_clients_zone(practice: Practice) -> None:
    answer = await client_settings.show_timezone(practice.uow, practice.clock, actor=CLIENT)

    assert answer.text.params["timezone"] == BERLIN
    assert "10:00" in shown(answer)


# --- bugs: a dedup key that was used once can never be used again -------------------------------
#
# Reminder and notice dedup keys name the session's start (its "version"), the client's
# zone and whether it is confirmed. Cancelled rows keep their key, and ``outbox.add``
# returns the existing row for a known key without writing. So coming back to an earlier
# start time or zone schedules nothing: the old, cancelled rows are "found" instead.

DEDUP_BUG = (
    "outbox.add returns the old cancelled row for a reused dedup key, so nothing is "
    "scheduled when a session or zone returns to an earlier value"
)


@pytest.mark.xfail(strict=True, reason=DEDUP_BUG)
async def test_a_session_moved_back_to_its_old_time_is_reminded_again(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    await move_to_monday(practice, appointment)

    answer = await practitioner_press(
        practice,
        await session(practice.uow, appointment.id),
        SessionAction.MOVE_TO,
        "202612041100",
    )

    assert answer.text.key == "booking.moved"
    assert (await session(practice.uow, appointment.id)).starts_at == FRIDAY_ELEVEN
    pending = reminders(await outbox_rows(practice.engine))
    assert [r.due_at for r in pending] == [
        FRIDAY_ELEVEN - timedelta(hours=24),
        FRIDAY_ELEVEN - timedelta(hours=2),
    ]


@pytest.mark.xfail(strict=True, reason=DEDUP_BUG)
async def test_a_client_moved_there_and_back_and_there_again_is_told(practice: Practice) -> None:
    appointment = await book(practice)
    await move_to_monday(practice, appointment)
    back = await practitioner_press(
        practice, await session(practice.uow, appointment.id), SessionAction.MOVE_TO, "202612041100"
    )
    assert back.text.key == "booking.moved"

    await move_to_monday(practice, await session(practice.uow, appointment.id))

    told = notices_to(await outbox_rows(practice.engine), CLIENT, "session.client_moved")
    assert [n.payload["params"]["when"] for n in told if n.state is OutboxState.PENDING] == [
        when(MONDAY_ELEVEN, BERLIN)
    ]


@pytest.mark.xfail(strict=True, reason=DEDUP_BUG)
async def test_a_time_zone_changed_and_changed_back_keeps_the_reminders(
    practice: Practice,
) -> None:
    await book(practice)
    await client_settings.set_timezone(
        practice.uow, practice.clock, POLICY, actor=CLIENT, text="Tokyo"
    )

    await client_settings.set_timezone(
        practice.uow, practice.clock, POLICY, actor=CLIENT, text="Berlin"
    )

    pending = reminders(await outbox_rows(practice.engine))
    assert len(pending) == 2
    assert {r.payload["params"]["when"]["tz"] for r in pending} == {BERLIN}


@pytest.mark.xfail(strict=True, reason=DEDUP_BUG)
async def test_a_second_confirmation_after_moving_back_reaches_the_practitioner(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    await client_press(practice, appointment, SessionAction.CONFIRM)
    await move_to_monday(practice, await session(practice.uow, appointment.id))
    await practitioner_press(
        practice, await session(practice.uow, appointment.id), SessionAction.MOVE_TO, "202612041100"
    )

    await client_press(practice, appointment, SessionAction.CONFIRM)

    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.CONFIRMED
    rows = await outbox_rows(practice.engine)
    assert len(notices_to(rows, PRACTITIONER, "session.practitioner_confirmed")) == 2
