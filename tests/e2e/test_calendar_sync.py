"""Sessions follow the practitioner's own calendar, through the sandbox on SQLite and
PostgreSQL, with a calendar server of the test's own: the practitioner pastes the
address, the client gets the booking and both reminders for a session that exists only
in the calendar, then it is moved and deleted there, and the client hears each time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import pytest
from aiohttp import web

from bot.sandbox.client import SandboxClient

pytestmark = pytest.mark.e2e

_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


@pytest.fixture(autouse=True)
def _local_calendars(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's calendar server is plain http on loopback: allowed for this sandbox."""
    monkeypatch.setenv("CALENDAR_ALLOW_INSECURE", "true")


class Calendar:
    """The calendar the server serves: one event naming the client, or none."""

    def __init__(self) -> None:
        self.starts_at: datetime | None = None
        self.title = "CST Marit Olsen"
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


def _data(message: dict[str, Any], label: str) -> str:
    [data] = [b["data"] for row in message["buttons"] for b in row if label in b["text"]]
    return str(data)


async def _reply(sandbox: SandboxClient, user: int, text: str) -> dict[str, Any]:
    sent = await sandbox.send(user, text)
    [reply] = await sandbox.wait_for_messages(user, after=sent)
    return reply


async def _last_id(sandbox: SandboxClient, user: int) -> int:
    return int((await sandbox.messages(user))[-1]["message_id"])


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
    invite = await _reply(sandbox, practitioner, "/newclient Marit Olsen")
    link = _LINK.search(invite["text"])
    assert link is not None, invite["text"]
    client = await sandbox.create_user("Marit", language_code="en")
    consent = await _reply(sandbox, client, f"/start {link.group(1)}")
    await sandbox.press(client, consent["message_id"], _data(consent, "Agree"))
    await sandbox.wait_for_messages(practitioner, after=invite["message_id"])  # "joined"

    session = base + timedelta(days=5, hours=1)  # 10:00 UTC, the zone of both here
    served.starts_at = session
    seen = await _last_id(sandbox, client)
    connected = await _reply(sandbox, practitioner, f"/calendar {url}")
    assert connected["text"].startswith("📅 Connected: http://127.0.0.1/…")
    assert "In the next 60 days: 1 event; client sessions among them: 1." in connected["text"]
    assert url not in connected["text"]
    assert [b["text"] for row in connected["buttons"] for b in row] == ["Disconnect"]
    booked = await _next(sandbox, client, seen, "🗓 A session with")
    assert f"{session:%-d %B} at 10:00" in booked["text"]

    for before in (timedelta(hours=24), timedelta(hours=2)):
        seen = await _last_id(sandbox, client)
        await sandbox.set_clock(session - before)
        await _next(sandbox, client, seen, "🌿 Reminder")

    moved_to = session + timedelta(days=1, hours=2)
    served.starts_at = moved_to
    seen = await _last_id(sandbox, client)
    await sandbox.advance(6 * 60)  # the next read comes within CALENDAR_POLL
    moved = await _next(sandbox, client, seen, "🔁 Your session")
    assert f"{moved_to:%-d %B} at 12:00" in moved["text"]

    served.starts_at = None
    seen = await _last_id(sandbox, client)
    await sandbox.advance(6 * 60)
    cancelled = await _next(sandbox, client, seen, "Your session with")
    assert "is cancelled" in cancelled["text"]
    state = await _reply(sandbox, practitioner, "/calendar")
    assert state["text"].startswith("📅 Your calendar: http://127.0.0.1/…")
    assert served.requests >= 3

    # An event naming no client is asked about once; the answer books it.
    served.starts_at, served.title = moved_to, "Follow-up"
    seen_practitioner = await _last_id(sandbox, practitioner)
    await sandbox.advance(6 * 60)
    question = await _next(sandbox, practitioner, seen_practitioner, "📅 Whose session")
    assert "Follow-up" in question["text"]
    seen = await _last_id(sandbox, client)
    await sandbox.press(practitioner, question["message_id"], _data(question, "Marit Olsen"))
    await _next(sandbox, client, seen, "🗓 A session with")

    await sandbox.press(practitioner, state["message_id"], _data(state, "Disconnect"))
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
