"""Issue-level journey through the sandbox control API only, on SQLite and PostgreSQL:
invite, consent, booking, both reminders at the right local times, Confirm reaching the
practitioner, and a reschedule that replaces the old reminders."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.client import SandboxClient
from tests.e2e.support import reply_to

pytestmark = pytest.mark.e2e

BERLIN = ZoneInfo("Europe/Berlin")
_LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


async def _next_message(sandbox: SandboxClient, user: int, after: int) -> dict[str, Any]:
    [message] = await sandbox.wait_for_messages(user, after=after)
    return message


async def _press(
    sandbox: SandboxClient, user: int, message: dict[str, Any], label_part: str
) -> dict[str, Any]:
    """Tap the button whose label holds ``label_part``; return the message once edited."""
    [data] = [b["data"] for row in message["buttons"] for b in row if label_part in b["text"]]
    before = message["text"]
    await sandbox.press(user, message["message_id"], data)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [now] = [
            m for m in await sandbox.messages(user) if m["message_id"] == message["message_id"]
        ]
        if now["text"] != before:
            return now
        await asyncio.sleep(0.05)
    raise AssertionError(f"pressing {label_part!r} changed nothing")


def _labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["buttons"] for b in row]


def _sent_at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["date"])


async def _advance_to(sandbox: SandboxClient, when: datetime) -> None:
    await sandbox.set_clock(when)


async def test_invite_consent_book_remind_confirm_and_reschedule(sandbox: SandboxClient) -> None:
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    now = datetime.fromisoformat(info["now"])
    # A fixed hour of a day a few days ahead, so nothing depends on when the test runs.
    base = datetime.combine(now.date() + timedelta(days=2), datetime.min.time(), UTC).replace(
        hour=9
    )
    await _advance_to(sandbox, base)

    invite = await reply_to(sandbox, practitioner, "/newclient Sample Client")
    link = _LINK.search(invite["text"])
    assert link is not None, invite["text"]
    assert link.group(1) == info["bot_username"]
    token = link.group(2)
    assert len(token) >= 22  # at least 128 bits, URL-safe
    assert any(
        b.get("url", "").startswith("https://t.me/share/url")
        for row in invite["buttons"]
        for b in row
    )

    client = await sandbox.create_user("Sample", last_name="Client", language_code="en")
    consent = await reply_to(sandbox, client, f"/start {token}")
    assert _labels(consent) == ["Agree", "No thanks"]
    practitioner_seen = invite["message_id"]
    welcome = await _press(sandbox, client, consent, "Agree")
    assert "connected" in welcome["text"]
    joined = await _next_message(sandbox, practitioner, after=practitioner_seen)
    assert "Sample Client" in joined["text"]
    assert "joined" in joined["text"]
    menus = [e for e in await sandbox.commands() if e["scope"].get("chat_id") == client]
    assert [c["command"] for c in menus[-1]["commands"]][:4] == [
        "next",
        "timezone",
        "pause",
        "resume",
    ]
    again = await reply_to(sandbox, client, f"/start {token}")
    assert "already been used" in again["text"]

    zone = await reply_to(sandbox, client, "/timezone Berlin")
    assert "Europe/Berlin" in zone["text"]

    # The session: 3 days after base, 15:00 in the practitioner's zone (UTC in the sandbox).
    starts = base + timedelta(days=3, hours=6)
    booked = await reply_to(sandbox, practitioner, f"/book sample {starts:%Y-%m-%d %H:%M}")
    assert "Booked" in booked["text"]
    assert "Sample Client" in booked["text"]
    client_seen = (await sandbox.messages(client))[-1]["message_id"]
    notice = await _next_message(sandbox, client, after=client_seen)
    assert "is booked for you" in notice["text"]
    client_seen = notice["message_id"]

    local = starts.astimezone(BERLIN)
    for offset in (timedelta(hours=24), timedelta(hours=2)):
        await _advance_to(sandbox, starts - offset)
        reminder = await _next_message(sandbox, client, after=client_seen)
        client_seen = reminder["message_id"]
        assert "Reminder" in reminder["text"]
        assert f"{local:%H:%M}" in reminder["text"]  # 16:00 Berlin, not 15:00 UTC
        assert abs(_sent_at(reminder) - (starts - offset)) < timedelta(seconds=30)
        assert _labels(reminder) == ["✅ Confirm", "🔁 Reschedule", "✖️ Cancel"]

    practitioner_seen = (await sandbox.messages(practitioner))[-1]["message_id"]
    confirmed = await _press(sandbox, client, reminder, "Confirm")
    assert "confirmed" in confirmed["text"]
    assert "✅ Confirm" not in _labels(confirmed)
    told = await _next_message(sandbox, practitioner, after=practitioner_seen)
    assert "Sample Client" in told["text"]
    assert "confirmed" in told["text"]

    # A second session, moved before its reminders: the old ones never go out.
    await _advance_to(sandbox, starts + timedelta(hours=2))
    second = starts + timedelta(days=7)
    moved_to = second + timedelta(days=2)
    await reply_to(sandbox, practitioner, f"/book Sample Client {second:%Y-%m-%d %H:%M}")
    booked_notice = await _next_message(sandbox, client, after=client_seen)
    client_seen = booked_notice["message_id"]
    moved = await reply_to(sandbox, practitioner, f"/reschedule sample {moved_to:%Y-%m-%d %H:%M}")
    assert "Moved" in moved["text"]
    moved_notice = await _next_message(sandbox, client, after=client_seen)
    assert "has moved" in moved_notice["text"]
    client_seen = moved_notice["message_id"]

    stale = await sandbox.press(
        client, booked_notice["message_id"], booked_notice["buttons"][0][0]["data"]
    )
    assert stale
    refusal = await _next_message(sandbox, client, after=client_seen)
    assert "earlier version" in refusal["text"]
    client_seen = refusal["message_id"]

    await _advance_to(sandbox, moved_to - timedelta(hours=24))
    [first_after_move] = await sandbox.wait_for_messages(client, after=client_seen)
    assert "Reminder" in first_after_move["text"]
    assert f"{moved_to.astimezone(BERLIN):%H:%M}" in first_after_move["text"]
    assert abs(_sent_at(first_after_move) - (moved_to - timedelta(hours=24))) < timedelta(
        seconds=30
    )

    today = await reply_to(sandbox, practitioner, "/upcoming")
    assert "Sample Client" in today["text"]
