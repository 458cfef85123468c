"""Sessions follow the practitioner's own calendar, through the sandbox on SQLite and
PostgreSQL, with a calendar server of the test's own: the practitioner pastes the
address, the client gets the booking and both reminders for a session that exists only
in the calendar, then it is moved and deleted there, and the client hears each time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import icalendar
import pytest
from aiohttp import web

from bot.sandbox.client import SandboxClient
from tests.e2e.support import button_data, joined_client, last_message_id, reply_to

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _local_calendars(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's calendar server is plain http on loopback: allowed for this sandbox."""
    monkeypatch.setenv("CALENDAR_ALLOW_INSECURE", "true")


class Calendar:
    """The calendar the server serves: one event naming the client (repeating weekly,
    maybe), or none."""

    def __init__(self) -> None:
        self.starts_at: datetime | None = None
        self.title = "CST Marit Olsen"
        self.weeks = 1
        """How many weeks the event repeats on."""
        self.requests = 0

    def ics(self) -> bytes:
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
        if self.starts_at is not None:
            start = self.starts_at.strftime("%Y%m%dT%H%M%SZ")
            end = (self.starts_at + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
            lines += [
                "BEGIN:VEVENT",
                f"UID:{self.title}@calendar.test",
                f"DTSTAMP:{start}",
                f"DTSTART:{start}",
                f"DTEND:{end}",
                f"SUMMARY:{self.title}",
                *([f"RRULE:FREQ=WEEKLY;COUNT={self.weeks}"] if self.weeks > 1 else []),
                "END:VEVENT",
            ]
        return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


@pytest.fixture
async def calendar() -> AsyncIterator[tuple[Calendar, str]]:
    served = Calendar()

    async def handle(_request: web.Request) -> web.Response:
        served.requests += 1
        return web.Response(body=served.ics(), content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/calendar.ics", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield served, f"http://127.0.0.1:{port}/calendar.ics"
    finally:
        await runner.cleanup()


async def _next(sandbox: SandboxClient, user: int, after: int, starting: str) -> dict[str, Any]:
    """The first bot message after ``after`` whose text starts with ``starting``."""
    for _ in range(300):
        for message in await sandbox.messages(user, after=after):
            if message["from"] == "bot" and message["text"].startswith(starting):
                return message
        await asyncio.sleep(0.05)
    texts = [m["text"][:50] for m in await sandbox.messages(user, after=after)]
    raise AssertionError(f"no message starting {starting!r}; arrived: {texts}")


async def test_a_session_that_exists_only_in_the_calendar_follows_it(
    sandbox: SandboxClient, calendar: tuple[Calendar, str]
) -> None:
    served, url = calendar
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    base = datetime.combine(datetime.fromisoformat(info["now"]).date(), dt_time(9), UTC)
    await sandbox.set_clock(base + timedelta(days=2))
    client = await joined_client(sandbox, practitioner, "Marit Olsen")

    session = base + timedelta(days=5, hours=1)  # 10:00 UTC, the zone of both here
    served.starts_at = session
    seen = await last_message_id(sandbox, client)
    connected = await reply_to(sandbox, practitioner, f"/calendar {url}")
    assert connected["text"].startswith("📅 Connected: http://127.0.0.1/…")
    assert "In the next 60 days: 1 event; client sessions among them: 1." in connected["text"]
    assert url not in connected["text"]
    assert [b["text"] for row in connected["buttons"] for b in row] == ["Disconnect"]
    # The address opens the calendar to whoever reads it: the message is out of the chat.
    assert connected["text"].endswith("anyone who has the address can read your calendar.")
    assert not [m for m in await sandbox.messages(practitioner) if url in m["text"]]
    booked = await _next(sandbox, client, seen, "🗓 A session with")
    assert f"{session:%-d %B} at 10:00" in booked["text"]

    for before in (timedelta(hours=24), timedelta(hours=2)):
        seen = await last_message_id(sandbox, client)
        await sandbox.set_clock(session - before)
        await _next(sandbox, client, seen, "🌿 Reminder")

    moved_to = session + timedelta(days=1, hours=2)
    served.starts_at = moved_to
    seen = await last_message_id(sandbox, client)
    await sandbox.advance(6 * 60)  # the next read comes within CALENDAR_POLL
    moved = await _next(sandbox, client, seen, "🔁 Your session")
    assert f"{moved_to:%-d %B} at 12:00" in moved["text"]

    served.starts_at = None
    seen = await last_message_id(sandbox, client)
    await sandbox.advance(6 * 60)
    cancelled = await _next(sandbox, client, seen, "Your session with")
    assert "is cancelled" in cancelled["text"]
    state = await reply_to(sandbox, practitioner, "/calendar")
    assert state["text"].startswith("📅 Your calendar: http://127.0.0.1/…")
    assert served.requests >= 3

    # An event naming no client is asked about once; the answer books it.
    served.starts_at, served.title = moved_to, "Follow-up"
    seen_practitioner = await last_message_id(sandbox, practitioner)
    await sandbox.advance(6 * 60)
    question = await _next(sandbox, practitioner, seen_practitioner, "📅 Whose session")
    assert "Follow-up" in question["text"]
    seen = await last_message_id(sandbox, client)
    await sandbox.press(practitioner, question["message_id"], button_data(question, "Marit Olsen"))
    await _next(sandbox, client, seen, "🗓 A session with")

    await sandbox.press(practitioner, state["message_id"], button_data(state, "Disconnect"))
    for _ in range(200):
        [now] = [
            m
            for m in await sandbox.messages(practitioner)
            if m["message_id"] == state["message_id"]
        ]
        if now["text"] != state["text"]:
            break
        await asyncio.sleep(0.05)
    assert now["text"].startswith("Disconnected.")


async def test_a_weekly_series_is_told_in_one_message_with_a_file_for_each_session(
    sandbox: SandboxClient, calendar: tuple[Calendar, str]
) -> None:
    served, url = calendar
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    client = await joined_client(sandbox, practitioner, "Marit Olsen")
    first = datetime.fromisoformat(info["now"]).astimezone(UTC).replace(
        minute=0, second=0, microsecond=0
    ) + timedelta(days=3)
    served.starts_at, served.weeks = first, 3
    seen = await last_message_id(sandbox, client)

    connected = await reply_to(sandbox, practitioner, f"/calendar {url}")
    assert "client sessions among them: 3." in connected["text"]

    booked = await _next(sandbox, client, seen, "🗓 3 sessions with")
    weeks = [first + timedelta(weeks=n) for n in range(3)]
    assert all(f"{at:%-d %B}" in booked["text"] for at in weeks), booked["text"]
    labels = [b["text"] for row in booked["buttons"] for b in row]
    assert labels == [f"📅 Add {at:%a %-d %b}, {at:%H:%M}" for at in weeks]
    await asyncio.sleep(1)  # anything else on its way would have come by now
    from_bot = [m for m in await sandbox.messages(client, after=seen) if m["from"] == "bot"]
    assert [m["message_id"] for m in from_bot] == [booked["message_id"]]  # one message

    # The second week's button sends that session's file.
    seen = await last_message_id(sandbox, client)
    await sandbox.press(client, booked["message_id"], button_data(booked, labels[1][2:]))
    document = await _next(sandbox, client, seen, "📅")
    assert document["kind"] == "document"
    [event] = icalendar.Calendar.from_ical(await sandbox.file(document["file_id"])).walk("VEVENT")
    assert event.decoded("DTSTART") == weeks[1]
