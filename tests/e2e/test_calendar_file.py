"""A client's "Add to my calendar" through the sandbox, on SQLite and PostgreSQL: the
booking notice's button sends an .ics document that reads back as the session; after
/reschedule the new notice's button sends the same event (same UID) at the new time with a
higher SEQUENCE."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from icalendar import Calendar, Event

from bot.sandbox.client import SandboxClient
from tests.e2e.support import button_data, joined_client, last_message_id, reply_to

pytestmark = pytest.mark.e2e

ADD = "Add to my calendar"


async def _next(sandbox: SandboxClient, user: int, after: int) -> dict[str, Any]:
    [message] = await sandbox.wait_for_messages(user, after=after)
    return message


async def _calendar_file(
    sandbox: SandboxClient, client: int, notice: dict[str, Any]
) -> tuple[dict[str, Any], Calendar, Event]:
    """Press "Add to my calendar" under ``notice``; the document sent, read back."""
    seen = await last_message_id(sandbox, client)
    await sandbox.press(client, notice["message_id"], button_data(notice, ADD))
    document = await _next(sandbox, client, seen)
    assert document["kind"] == "document"
    calendar = Calendar.from_ical(await sandbox.file(document["file_id"]))
    [event] = calendar.walk("VEVENT")
    assert isinstance(event, Event)
    return document, calendar, event


async def test_the_client_adds_a_session_to_their_calendar_and_a_move_updates_it(
    sandbox: SandboxClient,
) -> None:
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    day = (datetime.fromisoformat(info["now"]) + timedelta(days=10)).date()
    client = await joined_client(sandbox, practitioner, "Marit Olsen")

    seen = await last_message_id(sandbox, client)
    booked = await reply_to(sandbox, practitioner, f"/book Marit {day.isoformat()} 10:00")
    assert "Marit Olsen" in booked["text"]
    notice = await _next(sandbox, client, seen)
    assert "is booked for you" in notice["text"]

    document, calendar, event = await _calendar_file(sandbox, client, notice)

    assert document["file_name"] == f"stillpoint-session-{day.isoformat()}.ics"
    assert document["text"].startswith("📅 Your session with")
    assert str(calendar["METHOD"]) == "PUBLISH"
    uid = str(event["UID"])
    assert re.fullmatch(r"appointment-[0-9]+@stillpoint", uid)
    # The practitioner's zone is UTC in the sandbox.
    starts = datetime.combine(day, time(10, 0), UTC)
    assert event.decoded("DTSTART") == starts
    assert event.decoded("DTEND") == starts + timedelta(minutes=60)
    assert str(event["SUMMARY"]).startswith("Session with ")
    assert event.decoded("SEQUENCE") == 0

    moved_day = day + timedelta(days=1)
    seen = await last_message_id(sandbox, client)
    moved = await reply_to(
        sandbox, practitioner, f"/reschedule Marit {moved_day.isoformat()} 11:00"
    )
    assert "Moved" in moved["text"]
    moved_notice = await _next(sandbox, client, seen)
    assert "has moved" in moved_notice["text"]

    document, calendar, event = await _calendar_file(sandbox, client, moved_notice)

    assert document["file_name"] == f"stillpoint-session-{moved_day.isoformat()}.ics"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == uid
    assert event.decoded("DTSTART") == datetime.combine(moved_day, time(11, 0), UTC)
    assert event.decoded("SEQUENCE") == 1
