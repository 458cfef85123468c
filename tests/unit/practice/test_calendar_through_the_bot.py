"""``/calendar`` through the real application (offline Bot API, fake database, a scripted
calendar): connect, the question and its answer, someone else's press, Disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

import messages
from bot.domain import callbacks
from bot.domain.calendar_reads import CalendarProblem
from bot.runtime import Runtime
from bot.settings import load_settings
from tests.handlers.offline import offline_application
from tests.integration.support import Bot
from tests.unit.flags.support import CLIENT, NOW, OTHER_PRACTITIONER, PRACTITIONER, Practice
from tests.unit.scripted_calendar import ScriptedCalendar, event

URL = "https://calendar.example/calendar/ical/secret-token-1234/basic.ics"
FRIDAY = NOW + timedelta(days=3)


@pytest.fixture
def calendar() -> ScriptedCalendar:
    return ScriptedCalendar()


@pytest.fixture
async def calendar_bot(practice: Practice, calendar: ScriptedCalendar) -> AsyncIterator[Bot]:
    settings = load_settings(None, practitioner_ids=(PRACTITIONER, OTHER_PRACTITIONER))
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.db, calendar_reader=calendar)
    )
    async with app:
        yield Bot(app, request)


async def sessions_at(practice: Practice, at: datetime) -> list[int]:
    """The ids of the client's sessions starting at ``at``."""
    found = await practice.db.appointments.for_client(practice.client.id)
    return [a.id for a in found if a.starts_at == at]


def buttons(bot: Bot) -> list[str]:
    """The callback data of the last message's buttons."""
    [*_, last] = [c for c in bot.request.calls if c.method in ("sendMessage", "editMessageText")]
    rows = last.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


async def test_connect_shows_what_was_found_and_never_the_whole_address(
    practice: Practice, calendar: ScriptedCalendar, calendar_bot: Bot
) -> None:
    assert await calendar_bot.send(PRACTITIONER, "/calendar") == [messages.render("calendar.usage")]

    calendar.events = [
        event("Session with Sample", FRIDAY),
        event("Dentist", FRIDAY + timedelta(hours=3)),
    ]
    [connected] = await calendar_bot.send(PRACTITIONER, f"/calendar {URL}")
    assert "https://calendar.example/…1234" in connected
    assert "secret-token" not in connected
    assert buttons(calendar_bot) == [callbacks.CALENDAR_DISCONNECT]
    assert len(await sessions_at(practice, FRIDAY)) == 1

    [shown] = await calendar_bot.send(PRACTITIONER, "/calendar")
    assert "https://calendar.example/…1234" in shown
    assert "secret-token" not in shown


async def test_a_client_or_another_practitioner_cannot_use_the_calendar(
    practice: Practice, calendar: ScriptedCalendar, calendar_bot: Bot
) -> None:
    calendar.events = [event("Dentist", FRIDAY)]
    await calendar_bot.send(PRACTITIONER, f"/calendar {URL}")
    [entry] = await practice.db.calendars.entries(1)

    [refused] = await calendar_bot.send(CLIENT, f"/calendar {URL}")
    assert "https://" not in refused
    assert await practice.db.calendars.subscription_of(practice.practitioner.id) is not None

    [not_theirs] = await calendar_bot.press(
        OTHER_PRACTITIONER, callbacks.calendar_answer(entry.id, practice.client.id)
    )
    assert not_theirs.startswith("I can't find that.")
    assert await sessions_at(practice, FRIDAY) == []


async def test_the_answer_books_the_event_and_disconnect_stops_following(
    practice: Practice, calendar: ScriptedCalendar, calendar_bot: Bot
) -> None:
    calendar.events = [event("Craniosacral", FRIDAY)]
    await calendar_bot.send(PRACTITIONER, f"/calendar {URL}")
    [entry] = await practice.db.calendars.entries(1)

    before = len(calendar_bot.request.calls)
    await calendar_bot.press(PRACTITIONER, callbacks.calendar_answer(entry.id, practice.client.id))
    [answered] = [c for c in calendar_bot.request.calls[before:] if c.method == "editMessageText"]
    assert "Craniosacral" in answered.params["text"]
    [session] = await sessions_at(practice, FRIDAY)

    before = len(calendar_bot.request.calls)
    await calendar_bot.press(PRACTITIONER, callbacks.CALENDAR_DISCONNECT)
    [gone] = [c for c in calendar_bot.request.calls[before:] if c.method == "editMessageText"]
    assert gone.params["text"] == messages.render("calendar.disconnected")
    assert await practice.db.calendars.subscription_of(practice.practitioner.id) is None
    assert await sessions_at(practice, FRIDAY) == [session]  # the sessions it booked stay


async def test_an_address_that_cannot_be_read_gets_one_clear_line(
    practice: Practice, calendar: ScriptedCalendar, calendar_bot: Bot
) -> None:
    calendar.problem = CalendarProblem.NOT_A_CALENDAR
    [said] = await calendar_bot.send(PRACTITIONER, f"/calendar {URL}")
    assert "secret-token" not in said
    assert await practice.db.calendars.subscription_of(practice.practitioner.id) is None
