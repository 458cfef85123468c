"""``stillpoint demo``: a scripted walk-through on the sandbox, printed as a transcript.

It drives the sandbox only through its control API, exactly as a test or a person would.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.client import SandboxClient

_WIDTH = 76
_PRESS_TIMEOUT_S = 10.0
_CLIENT_ZONE = ZoneInfo("Europe/Berlin")  # the client's /timezone in the story
_INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


class Transcript:
    """Prints who said what, as a chat would show it."""

    def __init__(self, client: SandboxClient) -> None:
        self._client = client
        self._last: dict[int, int] = {}

    def scene(self, title: str) -> None:
        """Start a new part of the story."""
        print(f"\n── {title} " + "─" * max(0, _WIDTH - len(title) - 4))

    async def say(self, user_id: int, name: str, text: str, *, replies: int = 1) -> dict[str, Any]:
        """``name`` sends ``text``; print it and the bot's answers; return the last answer."""
        sent = await self._client.send(user_id, text)
        print(f"  {name} ▸ {text}")
        return await self.arrivals(user_id, count=replies, after=sent)

    async def arrivals(
        self, user_id: int, *, count: int = 1, after: int | None = None
    ) -> dict[str, Any]:
        """Wait for ``count`` new bot messages in the chat, print them, return the last."""
        since = self._last.get(user_id, 0) if after is None else after
        arrived = await self._client.wait_for_messages(user_id, after=since, count=count)
        for message in arrived:
            self._print_bot_message(message)
        self._last[user_id] = arrived[-1]["message_id"]
        return arrived[-1]

    async def press(
        self, user_id: int, name: str, message: dict[str, Any], label: str
    ) -> dict[str, Any]:
        """``name`` taps the button labelled ``label``; print the message as it becomes."""
        [data] = [b["data"] for row in message["buttons"] for b in row if b["text"] == label]
        print(f"  {name} ▸ [{label}]")
        await self._client.press(user_id, message["message_id"], data)
        deadline = time.monotonic() + _PRESS_TIMEOUT_S
        while time.monotonic() < deadline:
            current = [
                m
                for m in await self._client.messages(user_id)
                if m["message_id"] == message["message_id"]
            ]
            if current and current[0]["text"] != message["text"]:
                self._print_bot_message(current[0])
                return current[0]
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the bot did not answer the {label!r} button")

    async def tap(
        self, user_id: int, name: str, message: dict[str, Any], label: str
    ) -> dict[str, Any]:
        """``name`` taps a button that is answered with a new message; print and return it."""
        [data] = [b["data"] for row in message["buttons"] for b in row if b["text"] == label]
        print(f"  {name} ▸ [{label}]")
        await self._client.press(user_id, message["message_id"], data)
        return await self.arrivals(user_id, after=self._last.get(user_id, message["message_id"]))

    async def send_sticker(self, user_id: int, name: str) -> None:
        """``name`` sends a sticker where words were expected."""
        sent = await self._client.send_media(user_id, "sticker")
        print(f"  {name} ▸ [a sticker]")
        await self.arrivals(user_id, after=sent)

    async def move_clock(self, to: datetime) -> None:
        """Move the sandbox clock, and say so."""
        await self._client.set_clock(to)
        print(f"\n  ⏩ The clock moves to {to:%A %d %B, %H:%M} UTC.")

    @staticmethod
    def _print_bot_message(message: dict[str, Any]) -> None:
        lines = message["text"].splitlines() or [""]
        first = True
        for line in lines:
            for piece in textwrap.wrap(line, _WIDTH - 16) or [""]:
                print(f"  {'Stillpoint ◂' if first else ' ' * 12} {piece}")
                first = False
        for row in message.get("buttons", []):
            print(" " * 15 + "  ".join(f"[{button['text']}]" for button in row))


@dataclass
class _Story:
    """Who is in the demo, and the transcript that tells it."""

    sandbox: SandboxClient
    transcript: Transcript
    practitioner: int
    client: int = 0


async def play(sandbox_url: str) -> int:
    """Play the walk-through against a running sandbox; 0 when every answer arrived."""
    async with SandboxClient(sandbox_url) as sandbox:
        info = await sandbox.info()
        story = _Story(sandbox, Transcript(sandbox), info["practitioner_user_id"])
        print(
            f"Stillpoint demo: the real bot over HTTP, against its Telegram sandbox {sandbox_url}"
        )
        print(f"Bot: @{info['bot_username']}   Sandbox time: {info['now']}")
        # A fixed hour two days ahead, so the story reads the same whenever it runs.
        now = datetime.fromisoformat(info["now"])
        morning = datetime.combine(now.date() + timedelta(days=2), dt_time(9, 0), UTC)
        await story.transcript.move_clock(morning)
        await _invite_and_join(story)
        session = morning + timedelta(days=3, hours=6)
        await _book_remind_confirm(story, session)
        await _aftercare(story, session)
        await _stranger(story)
        stats = await sandbox.stats()
        calls = dict(stats["calls"])
        print(f"\nDelivered {stats['delivered']} messages. Bot API calls: {calls}")
        if stats["errors_returned"]:
            print(f"Flood control and other errors answered: {dict(stats['errors_returned'])}")
    return 0


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
    await transcript.say(practitioner, "Practitioner", f"/book Sample {session:%Y-%m-%d %H:%M}")
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
    await transcript.move_clock(session + timedelta(minutes=70))
    local_day = (session + timedelta(days=1)).astimezone(_CLIENT_ZONE).date()
    day_one = datetime.combine(local_day, dt_time(10, 0), _CLIENT_ZONE).astimezone(UTC)
    await transcript.move_clock(day_one)
    checkin = await transcript.arrivals(client)
    step = await transcript.press(client, "Client", checkin, "2")
    step = await transcript.press(client, "Client", step, "Better")
    await transcript.press(client, "Client", step, "Skip")
    await transcript.say(client, "Client", "Tired, and slept a lot. Feeling lighter.")

    transcript.scene("Day 3: a worrying answer reaches the practitioner")
    await transcript.move_clock(day_one + timedelta(days=2))
    checkin = await transcript.arrivals(client)
    step = await transcript.press(client, "Client", checkin, "6")
    worry = "My headache is much worse since yesterday and I keep having panic attacks"
    await transcript.say(client, "Client", worry)
    alert = await transcript.arrivals(practitioner)
    await transcript.tap(practitioner, "Practitioner", alert, "✅ Acknowledge")
    await transcript.tap(practitioner, "Practitioner", alert, "✉️ Reply")
    answer = "Thank you for telling me. I'll call you at 11 today."
    await transcript.say(practitioner, "Practitioner", answer)
    await transcript.arrivals(client)


async def _stranger(story: _Story) -> None:
    transcript = story.transcript
    transcript.scene("Someone without an invite finds the bot")
    stranger = await story.sandbox.create_user("Visitor", language_code="en")
    await transcript.say(stranger, "Visitor", "/start")
    await transcript.say(stranger, "Visitor", "/book Sample 2030-01-01 10:00")
    await transcript.send_sticker(stranger, "Visitor")
