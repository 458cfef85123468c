"""``stillpoint demo``: a scripted walk-through on the sandbox, printed as a transcript.

It drives the sandbox only through its control API, exactly as a test or a person would.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from aiohttp import web

from bot.sandbox.client import SandboxClient
from bot.sandbox.media import image_size

_WIDTH = 76
_BODY = _WIDTH - 16  # the text column, right of "  Stillpoint ◂ "
_ANSWER_TIMEOUT_S = 10.0
_POLL_S = 0.02
_FILE_LINES = 4  # of a CSV file, the header and the first rows
_CLIENT_ZONE = ZoneInfo("Europe/Berlin")  # the client's /timezone in the story
_CHECKIN_AT = dt_time(10, 0)  # the check-ins' local hour (the default setting)
_SESSION = timedelta(minutes=60)  # the default length of a session
CALENDAR_POLL = timedelta(minutes=5)
"""How often the demo's bot reads the story's calendar (whatever the settings say)."""
_CALENDAR_READ_AGAIN = CALENDAR_POLL + timedelta(minutes=1)
_INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


class OutOfStepError(RuntimeError):
    """A bot message turned up where the transcript could not print it under its cause."""


class Transcript:
    """Prints who said what, as a chat would show it: each answer right under its cause.

    Every step waits for the whole answer it causes (new messages, the pressed message
    changed in place, or both) before the next step, and refuses to go on while a chat
    holds a bot message not printed yet, so no answer is shown a step late or twice.
    """

    def __init__(self, client: SandboxClient) -> None:
        self._client = client
        self._seen: dict[int, int] = {}  # per chat: the newest message id accounted for
        self._shown: dict[tuple[int, int], str] = {}  # (chat, message id): what was printed

    def scene(self, title: str) -> None:
        """Start a new part of the story."""
        print(f"\n── {title} " + "─" * max(0, _WIDTH - len(title) - 4))

    async def say(self, user_id: int, name: str, text: str, *, replies: int = 1) -> dict[str, Any]:
        """``name`` sends ``text``; print it and the bot's answers; return the last answer."""
        await self._settled(user_id)
        self._seen[user_id] = await self._client.send(user_id, text)
        print(f"  {name} ▸ {text}")
        return await self.arrivals(user_id, count=replies)

    async def send_sticker(self, user_id: int, name: str) -> None:
        """``name`` sends a sticker where words were expected."""
        await self._settled(user_id)
        self._seen[user_id] = await self._client.send_media(user_id, "sticker")
        print(f"  {name} ▸ [a sticker]")
        await self.arrivals(user_id)

    async def arrivals(self, chat_id: int, *, count: int = 1) -> dict[str, Any]:
        """Wait for ``count`` new bot messages in the chat, print them, return the last."""
        arrived = await self._client.wait_for_messages(
            chat_id, after=self._seen.get(chat_id, 0), count=count, timeout=_ANSWER_TIMEOUT_S
        )
        for message in arrived:
            await self._show(chat_id, message)
        self._seen[chat_id] = arrived[-1]["message_id"]
        return arrived[-1]

    async def press(
        self,
        user_id: int,
        name: str,
        message: dict[str, Any],
        label: str,
        *,
        new: int = 0,
        edits: bool | None = None,
    ) -> dict[str, Any]:
        """``name`` taps the button labelled ``label`` under ``message``; print the answer.

        The answer waited for is the pressed message changed in place (the default), or
        ``new`` new bot messages (a refusal, a file and a chart), or, with ``edits=True``
        as well, both. Whatever else the tap has changed by then is printed too. Returns
        the last new message, or else the pressed message as it now reads.
        """
        wants_edit = new == 0 if edits is None else edits
        if not wants_edit and new < 1:
            raise ValueError("a tap must be answered by an edit or a new message")
        [data] = [b["data"] for row in message["buttons"] for b in row if b["text"] == label]
        await self._settled(user_id)
        pressed_id = message["message_id"]
        before = self._shown.get((user_id, pressed_id), _state(message))
        print(f"  {name} ▸ [{label}]")
        await self._client.press(user_id, pressed_id, data)
        deadline = time.monotonic() + _ANSWER_TIMEOUT_S
        while True:
            chat = await self._client.messages(user_id)
            [pressed] = [m for m in chat if m["message_id"] == pressed_id]
            changed = _state(pressed) != before
            after = self._seen.get(user_id, 0)
            arrived = [m for m in chat if m["from"] == "bot" and m["message_id"] > after]
            if (changed or not wants_edit) and len(arrived) >= new:
                break
            if time.monotonic() >= deadline:
                awaited = " and ".join(
                    ([f"{new} new message(s)"] if new else []) + (["an edit"] if wants_edit else [])
                )
                raise TimeoutError(
                    f"the bot did not answer the {label!r} button with {awaited} within "
                    f"{_ANSWER_TIMEOUT_S:g} s; edited: {changed}, new: "
                    f"{[m['text'][:60] for m in arrived]}"
                )
            await asyncio.sleep(_POLL_S)
        if changed:
            await self._show(user_id, pressed)
        for arrival in arrived:
            await self._show(user_id, arrival)
        if arrived:
            self._seen[user_id] = arrived[-1]["message_id"]
            return arrived[-1]
        return pressed

    async def move_clock(self, to: datetime) -> None:
        """Move the sandbox clock, and say so."""
        await self._client.set_clock(to)
        print(f"\n  ⏩ The clock moves to {to.astimezone(UTC):%A %d %B, %H:%M} UTC.")

    async def not_shown(self) -> list[str]:
        """The bot messages, in every chat of the story, never printed as they now read."""
        missed = []
        for chat_id in self._seen:
            for message in await self._client.messages(chat_id):
                key = (chat_id, message["message_id"])
                if message["from"] == "bot" and self._shown.get(key) != _state(message):
                    missed.append(f"chat {chat_id}, message {key[1]}: {message['text'][:60]!r}")
        return missed

    async def _settled(self, chat_id: int) -> None:
        """Refuse to take the next step while the chat holds an unprinted bot message: it
        would be printed under the wrong step."""
        after = self._seen.get(chat_id, 0)
        stray = [m for m in await self._client.messages(chat_id, after) if m["from"] == "bot"]
        if stray:
            raise OutOfStepError(
                f"chat {chat_id} got answers no step waited for: {[m['text'][:60] for m in stray]}"
            )

    async def _show(self, chat_id: int, message: dict[str, Any]) -> None:
        """Print one bot message: ◂ when it is new, ✎ when it changed in place."""
        key = (chat_id, message["message_id"])
        speaker = "Stillpoint ✎" if key in self._shown else "Stillpoint ◂"
        self._shown[key] = _state(message)
        lines = []
        preview: list[str] = []
        if message.get("kind") in ("photo", "document"):
            data = await self._client.file(message["file_id"])
            lines.append(_file_line(message, data))
            if str(message.get("file_name", "")).endswith(".csv"):
                preview = _csv_preview(data)
        lines += message["text"].splitlines()
        first = True
        for line in lines or [""]:
            for piece in textwrap.wrap(line, _BODY) or [""]:
                print(f"  {speaker if first else ' ' * len(speaker)} {piece}")
                first = False
        for line in preview:
            print(" " * 15 + line)
        for row in message.get("buttons", []):
            print(" " * 15 + "  ".join(f"[{button['text']}]" for button in row))


def _state(message: dict[str, Any]) -> str:
    """What a message shows: its text, buttons and file."""
    shown = [message.get("text"), message.get("buttons"), message.get("file_id")]
    return json.dumps(shown, ensure_ascii=False, sort_keys=True)


def _file_line(message: dict[str, Any], data: bytes) -> str:
    """A photo or document, as a line: what it is and how big."""
    size = f"{max(1, round(len(data) / 1000))} kB"
    if message["kind"] == "photo":
        # The bot sends photos only as charts of a client's trend.
        width, height = image_size(data) or (0, 0)
        kind = "PNG" if data.startswith(b"\x89PNG") else "image"
        return f"[a chart picture, {width}\N{MULTIPLICATION SIGN}{height} {kind}, {size}]"
    return f"[a file: {message.get('file_name', 'unnamed')}, {size}]"


def _csv_preview(data: bytes) -> list[str]:
    """The first lines of a CSV file, each cut to the width, and how many rows it has."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    shown = [
        f"┆ {line if len(line) <= _BODY - 2 else line[: _BODY - 3] + '…'}"
        for line in lines[:_FILE_LINES]
    ]
    if len(lines) > _FILE_LINES:
        records = len(list(csv.reader(io.StringIO(text)))) - 1  # a header, then one per row
        shown.append(f"┆ … {records} rows in all")
    return shown


@dataclass
class _Story:
    """Who is in the demo, and the transcript that tells it."""

    sandbox: SandboxClient
    transcript: Transcript
    practitioner: int
    zone: ZoneInfo  # the practitioner's: /book reads their local time, the morning is theirs
    client: int = 0

    def local(self, moment: datetime) -> str:
        """``moment`` as the practitioner types it after /book."""
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M}"


async def play(sandbox_url: str, practitioner_zone: str = "UTC") -> int:
    """Play the walk-through against a running sandbox whose practitioner lives in
    ``practitioner_zone``; 0 when every answer arrived and was printed in its place."""
    async with SandboxClient(sandbox_url) as sandbox:
        info = await sandbox.info()
        zone = ZoneInfo(practitioner_zone)
        story = _Story(sandbox, Transcript(sandbox), info["practitioner_user_id"], zone)
        print(
            f"Stillpoint demo: the real bot over HTTP, against its Telegram sandbox {sandbox_url}"
        )
        print(f"Bot: @{info['bot_username']}   Sandbox time: {info['now']}")
        print("◂ marks a new message from the bot; ✎ a message it changed in place after a tap.")
        # A fixed hour two days ahead, so the story reads the same whenever it runs.
        now = datetime.fromisoformat(info["now"])
        morning = datetime.combine(now.date() + timedelta(days=2), dt_time(9, 0), UTC)
        await story.transcript.move_clock(morning)
        await _invite_and_join(story)
        session = morning + timedelta(days=3, hours=6)
        await _book_remind_confirm(story, session)
        await _aftercare(story, session)
        await _calm_day(story, session)
        await _card_chart_export(story, _checkin_time(session, 7))
        await _next_morning(story)
        await _client_copy(story)
        async with _served_calendar() as calendar:
            await _own_calendar(story, calendar)
        await _stranger(story)
        missed = await story.transcript.not_shown()
        stats = await sandbox.stats()
        calls = dict(stats["calls"])
        print(f"\nDelivered {stats['delivered']} messages. Bot API calls: {calls}")
        if stats["errors_returned"]:
            print(f"Flood control and other errors answered: {dict(stats['errors_returned'])}")
        if missed:
            print(f"Not printed as they now read: {missed}", file=sys.stderr)
            return 1
    return 0


def _checkin_time(session: datetime, day: int) -> datetime:
    """When the day-``day`` check-in after ``session`` is due: that many days after it
    ends, at the check-in hour in the client's zone."""
    ended = (session + _SESSION).astimezone(_CLIENT_ZONE).date()
    return datetime.combine(ended + timedelta(days=day), _CHECKIN_AT, _CLIENT_ZONE).astimezone(UTC)


async def _invite_and_join(story: _Story) -> None:
    transcript, practitioner = story.transcript, story.practitioner
    transcript.scene("A practitioner invites a new client")
    await transcript.say(practitioner, "Practitioner", "/start")
    invite = await transcript.say(practitioner, "Practitioner", "/newclient Sample Client")
    link = _INVITE_LINK.search(invite["text"])
    if link is None:
        raise RuntimeError("the invite answer holds no link")

    transcript.scene("The client taps the link and agrees")
    story.client = await story.sandbox.create_user("Sample", last_name="Client", language_code="en")
    consent = await transcript.say(story.client, "Client", f"/start {link.group(1)}")
    await transcript.press(story.client, "Client", consent, "Agree")
    await transcript.arrivals(practitioner)
    await transcript.say(story.client, "Client", "/timezone Berlin")


async def _book_remind_confirm(story: _Story, session: datetime) -> None:
    transcript, practitioner, client = story.transcript, story.practitioner, story.client
    transcript.scene("A session is booked")
    await transcript.say(practitioner, "Practitioner", f"/book Sample {story.local(session)}")
    await transcript.arrivals(client)

    transcript.scene("Time passes: both reminders arrive")
    await transcript.move_clock(session - timedelta(hours=24))
    await transcript.arrivals(client)
    await transcript.move_clock(session - timedelta(hours=2))
    reminder = await transcript.arrivals(client)

    transcript.scene("The client confirms; the practitioner sees it")
    await transcript.press(client, "Client", reminder, "✅ Confirm")
    await transcript.arrivals(practitioner)
    await transcript.say(practitioner, "Practitioner", "/today")


async def _aftercare(story: _Story, session: datetime) -> None:
    transcript, practitioner, client = story.transcript, story.practitioner, story.client
    transcript.scene("The session passes; the next morning a check-in arrives")
    await transcript.move_clock(session + _SESSION + timedelta(minutes=10))
    await transcript.move_clock(_checkin_time(session, 1))
    checkin = await transcript.arrivals(client)
    step = await transcript.press(client, "Client", checkin, "2")
    step = await transcript.press(client, "Client", step, "Better")
    await transcript.press(client, "Client", step, "Skip")
    await transcript.say(client, "Client", "Tired, and slept a lot. Feeling lighter.")

    transcript.scene("Day 3: a worrying answer reaches the practitioner")
    await transcript.move_clock(_checkin_time(session, 3))
    checkin = await transcript.arrivals(client)
    await transcript.press(client, "Client", checkin, "6")
    worry = "My headache is much worse since yesterday and I keep having panic attacks"
    await transcript.say(client, "Client", worry)
    alert = await transcript.arrivals(practitioner)
    # The alert keeps the client's words: its buttons answer with a new message below it.
    await transcript.press(practitioner, "Practitioner", alert, "✅ Acknowledge", new=1)
    await transcript.press(practitioner, "Practitioner", alert, "✉️ Reply", new=1)
    answer = "Thank you for telling me. I'll call you at 11 today."
    await transcript.say(practitioner, "Practitioner", answer)
    await transcript.arrivals(client)


async def _calm_day(story: _Story, session: datetime) -> None:
    transcript, client = story.transcript, story.client
    transcript.scene("Day 7: a calm answer, kept for the practitioner's morning")
    await transcript.move_clock(_checkin_time(session, 7))
    checkin = await transcript.arrivals(client)
    step = await transcript.press(client, "Client", checkin, "1")
    step = await transcript.press(client, "Client", step, "Much better")
    await transcript.press(client, "Client", step, "Skip")
    await transcript.say(client, "Client", "Calm and light today, thank you.")


async def _card_chart_export(story: _Story, day_seven: datetime) -> None:
    transcript, practitioner, client = story.transcript, story.practitioner, story.client
    transcript.scene("That afternoon: a follow-up, and the client's card")
    afternoon = day_seven + timedelta(hours=5)
    await transcript.move_clock(afternoon)
    # Tomorrow at 11:00, the practitioner's time: less than a day ahead, so one reminder.
    tomorrow = afternoon.astimezone(story.zone).date() + timedelta(days=1)
    follow_up = datetime.combine(tomorrow, dt_time(11, 0), story.zone)
    await transcript.say(practitioner, "Practitioner", f"/book Sample {story.local(follow_up)}")
    await transcript.arrivals(client)
    card = await transcript.say(practitioner, "Practitioner", "/client Sample")

    transcript.scene("Chart: the trend as a picture, and in words")
    await transcript.press(practitioner, "Practitioner", card, "📈 Chart", new=1)

    transcript.scene("Export: every answer as a file, and the chart")
    await transcript.press(practitioner, "Practitioner", card, "📄 Export", new=2)


async def _next_morning(story: _Story) -> None:
    transcript, practitioner = story.transcript, story.practitioner
    transcript.scene("The next morning: the practitioner's list and digest")
    today = (await story.sandbox.clock()).astimezone(story.zone).date()
    await transcript.move_clock(
        datetime.combine(today + timedelta(days=1), dt_time(8, 30), story.zone)
    )
    await transcript.arrivals(practitioner, count=2)


async def _client_copy(story: _Story) -> None:
    transcript = story.transcript
    transcript.scene("The client asks for a copy of their data")
    await transcript.say(story.client, "Client", "/mydata")


@dataclass(frozen=True, slots=True)
class _CalendarEvent:
    uid: str
    title: str
    starts_at: datetime


@dataclass
class _DemoCalendar:
    """The practitioner's own calendar, served on loopback; the story changes it."""

    url: str = ""
    events: list[_CalendarEvent] = field(default_factory=list)

    def ics(self) -> bytes:
        """The events as an iCalendar file, as a calendar service publishes it."""
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//Stillpoint demo//EN")
        calendar.add("version", "2.0")
        for item in self.events:
            event = icalendar.Event()
            event.add("uid", item.uid)
            event.add("dtstamp", item.starts_at)
            event.add("dtstart", item.starts_at)
            event.add("dtend", item.starts_at + _SESSION)
            event.add("summary", item.title)
            calendar.add_component(event)
        data: bytes = calendar.to_ical()
        return data


@asynccontextmanager
async def _served_calendar() -> AsyncIterator[_DemoCalendar]:
    """A calendar server on 127.0.0.1 for the story's calendar (the demo's bot may read
    plain http on loopback: ``CALENDAR_ALLOW_INSECURE``)."""
    calendar = _DemoCalendar()

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=calendar.ics(), content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/practice.ics", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        calendar.url = f"http://127.0.0.1:{port}/practice.ics"
        yield calendar
    finally:
        await runner.cleanup()


async def _own_calendar(story: _Story, calendar: _DemoCalendar) -> None:
    transcript, practitioner, client = story.transcript, story.practitioner, story.client
    transcript.scene("The practitioner's own calendar: sessions follow it")
    now = await story.sandbox.clock()
    day = now.astimezone(story.zone).date() + timedelta(days=3)
    session = datetime.combine(day, dt_time(15, 0), story.zone)
    calendar.events = [_CalendarEvent("cst-1@demo", "CST: Sample Client", session)]
    await transcript.say(practitioner, "Practitioner", f"/calendar {calendar.url}")
    await transcript.arrivals(client)

    transcript.scene("Moved in the calendar, and an event that names no client")
    moved = session + timedelta(hours=1)
    supervision = datetime.combine(day + timedelta(days=1), dt_time(9, 0), story.zone)
    calendar.events = [
        _CalendarEvent("cst-1@demo", "CST: Sample Client", moved),
        _CalendarEvent("supervision@demo", "Supervision call", supervision),
    ]
    await transcript.move_clock(now + _CALENDAR_READ_AGAIN)
    await transcript.arrivals(client)
    question = await transcript.arrivals(practitioner)
    await transcript.press(practitioner, "Practitioner", question, "Not a client session")


async def _stranger(story: _Story) -> None:
    transcript = story.transcript
    transcript.scene("Someone without an invite finds the bot")
    stranger = await story.sandbox.create_user("Visitor", language_code="en")
    await transcript.say(stranger, "Visitor", "/start")
    await transcript.say(stranger, "Visitor", "/book Sample 2030-01-01 10:00")
    await transcript.send_sticker(stranger, "Visitor")
