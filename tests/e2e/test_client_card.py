"""A practitioner's view of a client through the sandbox, on SQLite and PostgreSQL: the
card, the chart as a PNG, History, the CSV export, a file Telegram refuses, and the next
morning's digest with a calm answer in it."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import pytest

from bot.sandbox.client import SandboxClient
from bot.sandbox.media import image_size
from tests.e2e.support import button_data, joined_client, last_message_id, reply_to

pytestmark = pytest.mark.e2e


async def _edited(sandbox: SandboxClient, user: int, message: dict[str, Any]) -> dict[str, Any]:
    """The message once the bot has changed it in place."""
    for _ in range(200):
        [now] = [
            m for m in await sandbox.messages(user) if m["message_id"] == message["message_id"]
        ]
        if now["text"] != message["text"]:
            return now
        await asyncio.sleep(0.05)
    raise AssertionError(f"the message was not answered in place: {message['text'][:60]!r}")


async def _tap(
    sandbox: SandboxClient, user: int, message: dict[str, Any], label: str
) -> dict[str, Any]:
    await sandbox.press(user, message["message_id"], button_data(message, label))
    return await _edited(sandbox, user, message)


async def _answer_checkin(
    sandbox: SandboxClient, client: int, at: datetime, score: str, words: str
) -> None:
    """Move the clock to a check-in's time and answer it: a score, Better, no areas, words."""
    before = await last_message_id(sandbox, client)
    await sandbox.set_clock(at)
    for _ in range(400):
        arrived = await sandbox.messages(client, after=before)
        asked = [m for m in arrived if any(b["text"] == score for r in m["buttons"] for b in r)]
        if asked:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no check-in arrived: {[m['text'][:50] for m in arrived]}")
    step = await _tap(sandbox, client, asked[0], score)
    step = await _tap(sandbox, client, step, "Better")
    await _tap(sandbox, client, step, "Skip")
    await reply_to(sandbox, client, words)


async def test_a_practitioner_sees_card_chart_export_and_the_morning_digest(
    sandbox: SandboxClient,
) -> None:
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    start = datetime.combine(datetime.fromisoformat(info["now"]).date(), dt_time(9), UTC)
    await sandbox.set_clock(start + timedelta(days=2))
    client = await joined_client(sandbox, practitioner, "Marit Olsen")
    session = start + timedelta(days=3, hours=6)  # 15:00 UTC, the zone of both here
    seen = await last_message_id(sandbox, client)
    booked = await reply_to(sandbox, practitioner, f"/book Marit {session:%Y-%m-%d %H:%M}")
    assert "Booked" in booked["text"]
    await sandbox.wait_for_messages(client, after=seen)  # the booking notice

    await sandbox.set_clock(session + timedelta(minutes=70))
    day_one = datetime.combine(session.date() + timedelta(days=1), dt_time(10), UTC)
    await _answer_checkin(sandbox, client, day_one, "6", "Tired, and slept a lot.")
    await _answer_checkin(sandbox, client, day_one + timedelta(days=2), "2", "Calm and light today")

    card = await reply_to(sandbox, practitioner, "/client marit")
    assert card["text"].startswith("🗂 Marit Olsen\nStatus: joined\n1 session so far\n")
    assert "· day 3 · 2/10 (↓4) · better since the session" in card["text"]
    labels = [b["text"] for row in card["buttons"] for b in row]
    for word in ("Chart", "History", "Export", "Book"):
        assert any(word in label for label in labels), labels

    # Chart: a PNG of the phone-friendly size, its caption the trend in words.
    before = await last_message_id(sandbox, practitioner)
    await sandbox.press(practitioner, card["message_id"], button_data(card, "Chart"))
    [chart] = await sandbox.wait_for_messages(practitioner, after=before)
    assert chart["kind"] == "photo"
    assert chart["text"].startswith(
        f"Discomfort 6 → 2 over 2 check-ins since the session on {session:%A} "
    )
    assert image_size(await sandbox.file(chart["file_id"])) == (1200, 800)

    # Export: the answers as CSV (every row this client's), then the chart.
    before = await last_message_id(sandbox, practitioner)
    await sandbox.press(practitioner, card["message_id"], button_data(card, "Export"))
    document, picture = await sandbox.wait_for_messages(practitioner, after=before, count=2)
    assert document["kind"] == "document"
    assert document["file_name"].startswith("stillpoint-marit-olsen-")
    assert document["file_name"].endswith(".csv")
    assert picture["kind"] == "photo"
    rows = list(csv.DictReader(io.StringIO((await sandbox.file(document["file_id"])).decode())))
    assert [r["discomfort_0_to_10"] for r in rows if r["discomfort_0_to_10"]] == ["6", "2"]
    assert {r["words"] for r in rows} >= {"Tired, and slept a lot.", "Calm and light today"}
    assert all(r["received_at"].endswith("+00:00") for r in rows)

    # A file Telegram refuses: a kind message, and the bot carries on.
    await sandbox.fault("sendPhoto", 400, description="Bad Request: file is too big")
    before = await last_message_id(sandbox, practitioner)
    await sandbox.press(practitioner, card["message_id"], button_data(card, "Chart"))
    [refused] = await sandbox.wait_for_messages(practitioner, after=before)
    assert refused["text"].startswith("I couldn't send that file")

    history = await _tap(sandbox, practitioner, card, "History")
    assert history["text"].startswith("📋 Marit Olsen: the last 2 check-ins")
    back = await _tap(sandbox, practitioner, history, "Back to the card")
    assert back["text"].startswith("🗂 Marit Olsen")

    # The next morning: the digest names the calm answer, with a button to the card.
    before = await last_message_id(sandbox, practitioner)
    await sandbox.set_clock(
        datetime.combine(session.date() + timedelta(days=4), dt_time(8, 30), UTC)
    )
    [digest] = await sandbox.wait_for_messages(practitioner, after=before)
    assert digest["text"].startswith("🌿 Answers since ")
    assert "• Marit Olsen · day 3 · 2/10 (↓4) · better since the session" in digest["text"]
    assert "Calm and light today" in digest["text"]
    assert [b["text"] for row in digest["buttons"] for b in row] == ["Marit Olsen"]
    # Its button opens the card below it; the digest stays as it was.
    await sandbox.press(practitioner, digest["message_id"], button_data(digest, "Marit Olsen"))
    [opened] = await sandbox.wait_for_messages(practitioner, after=digest["message_id"])
    assert opened["text"].startswith("🗂 Marit Olsen\nStatus: joined")
    [kept] = [
        m for m in await sandbox.messages(practitioner) if m["message_id"] == digest["message_id"]
    ]
    assert kept["text"] == digest["text"]
