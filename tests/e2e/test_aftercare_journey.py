"""The aftercare journey through the sandbox control API only, on SQLite and
PostgreSQL: a session ends, check-ins arrive at 10:00 in the client's zone, a calm answer
gets a healing-reaction note and no flag, words of crisis get crisis resources and an
urgent alert that repeats until acknowledged, and the practitioner's reply reaches the
client. Also ``stillpoint triage`` as the README describes it."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.client import SandboxClient
from tests.e2e.support import last_message_id, reply_to

pytestmark = pytest.mark.e2e

BERLIN = ZoneInfo("Europe/Berlin")
_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


def _data(message: dict[str, Any], label: str) -> str:
    [data] = [b["data"] for row in message["buttons"] for b in row if b["text"] == label]
    return str(data)


async def _tap_and_wait_edit(
    sandbox: SandboxClient, user: int, message: dict[str, Any], label: str
) -> dict[str, Any]:
    """Tap a button on a check-in (answered in place); the message once it changed."""
    before = message["text"], message["buttons"]
    await sandbox.press(user, message["message_id"], _data(message, label))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [now] = [
            m for m in await sandbox.messages(user) if m["message_id"] == message["message_id"]
        ]
        if (now["text"], now["buttons"]) != before:
            return now
        await asyncio.sleep(0.05)
    raise AssertionError(f"tapping {label!r} changed nothing")


async def _joined_client(sandbox: SandboxClient, practitioner: int) -> int:
    invite = await reply_to(sandbox, practitioner, "/newclient Sample Client")
    link = _LINK.search(invite["text"])
    assert link is not None
    client = await sandbox.create_user("Client", language_code="en")
    consent = await reply_to(sandbox, client, f"/start {link.group(1)}")
    await sandbox.press(client, consent["message_id"], _data(consent, "Agree"))
    await sandbox.wait_for_messages(practitioner, after=invite["message_id"])  # "joined"
    assert "Europe/Berlin" in (await reply_to(sandbox, client, "/timezone Berlin"))["text"]
    return client


async def test_check_ins_triage_and_an_urgent_flag_until_acknowledged_and_answered(
    sandbox: SandboxClient,
) -> None:
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    now = datetime.fromisoformat(info["now"])
    # Winter dates keep Berlin at UTC+1; a fixed hour keeps the test independent of the time.
    base = datetime.combine(now.date() + timedelta(days=2), datetime.min.time(), UTC)
    base = base.replace(hour=9)
    await sandbox.set_clock(base)
    client = await _joined_client(sandbox, practitioner)
    starts = base + timedelta(days=1, hours=5)  # 14:00 UTC, the practitioner's zone
    seen = await last_message_id(sandbox, client)
    booked = await reply_to(sandbox, practitioner, f"/book Sample {starts:%Y-%m-%d %H:%M}")
    assert "Booked" in booked["text"]
    [notice] = await sandbox.wait_for_messages(client, after=seen)
    assert "is booked for you" in notice["text"]

    # The session ends; day 1 at 10:00 Berlin the first check-in arrives.
    await sandbox.set_clock(starts + timedelta(minutes=70))
    seen = await last_message_id(sandbox, client)
    day_one = datetime.combine(
        starts.astimezone(BERLIN).date() + timedelta(days=1), datetime.min.time(), BERLIN
    ).replace(hour=10)
    await sandbox.set_clock(day_one.astimezone(UTC) + timedelta(seconds=1))
    [checkin] = await sandbox.wait_for_messages(client, after=seen)
    assert "How is your body feeling today?" in checkin["text"]
    arrived = datetime.fromisoformat(checkin["date"])
    assert abs(arrived - day_one) < timedelta(seconds=30)
    assert [b["text"] for b in checkin["buttons"][0]][:3] == ["0", "1", "2"]

    # A calm answer: a healing-reaction note, and the practitioner hears nothing.
    practitioner_seen = await last_message_id(sandbox, practitioner)
    step = await _tap_and_wait_edit(sandbox, client, checkin, "2")
    step = await _tap_and_wait_edit(sandbox, client, step, "Better")
    step = await _tap_and_wait_edit(sandbox, client, step, "Skip")
    assert "Anything you'd like to share?" in step["text"]
    calm = await reply_to(
        sandbox, client, "Really tired yesterday and slept a lot, feeling lighter"
    )
    assert "tired is very common" in calm["text"]

    # Day 3: words of crisis get crisis resources at once, and the practitioner an alert.
    day_three = day_one + timedelta(days=2)
    seen = await last_message_id(sandbox, client)
    await sandbox.set_clock(day_three.astimezone(UTC) + timedelta(seconds=1))
    [checkin] = await sandbox.wait_for_messages(client, after=seen)
    crisis = await reply_to(sandbox, client, "I want to die")
    assert "112" in crisis["text"]  # Germany's emergency number, from the client's zone
    assert "right away" in crisis["text"]
    alerts = await sandbox.wait_for_messages(practitioner, after=practitioner_seen)
    assert len(alerts) == 1, [a["text"][:80] for a in alerts]  # the calm day brought none
    [alert] = alerts
    assert "Urgent" in alert["text"]
    assert "Sample Client" in alert["text"]
    assert "I want to die" in alert["text"]
    labels = [b["text"] for row in alert["buttons"] for b in row]
    assert labels == ["✅ Acknowledge", "✉️ Reply", "📋 History"]

    # Not acknowledged for 15 minutes: it is sent again.
    await sandbox.set_clock(day_three.astimezone(UTC) + timedelta(minutes=16))
    [again] = await sandbox.wait_for_messages(practitioner, after=alert["message_id"])
    assert "Still not acknowledged after 15 minutes" in again["text"]

    # Acknowledge stops it: no backup and no further alert.
    await sandbox.press(practitioner, again["message_id"], _data(again, "✅ Acknowledge"))
    [acknowledged] = await sandbox.wait_for_messages(practitioner, after=again["message_id"])
    assert "Acknowledged" in acknowledged["text"]
    await sandbox.set_clock(day_three.astimezone(UTC) + timedelta(minutes=50))
    flags = await reply_to(sandbox, practitioner, "/flags")
    assert "No open flags" in flags["text"]
    later = await sandbox.messages(practitioner, after=acknowledged["message_id"])
    assert [m for m in later if "Still not acknowledged" in m["text"]] == []

    # Reply reaches the client.
    await sandbox.press(practitioner, alert["message_id"], _data(alert, "✉️ Reply"))
    [prompt] = await sandbox.wait_for_messages(practitioner, after=flags["message_id"])
    assert "Write your message to" in prompt["text"]
    seen = await last_message_id(sandbox, client)
    sent = await reply_to(sandbox, practitioner, "I'm here. I'll call you in five minutes.")
    assert "on its way" in sent["text"]
    [message] = await sandbox.wait_for_messages(client, after=seen)
    assert "A message from" in message["text"]
    assert "I'll call you in five minutes." in message["text"]


def test_stillpoint_triage_reads_json_lines() -> None:
    lines = [
        {"text": "tired and a bit sore today", "score": 3, "previous_score": 2},
        {"text": "I want to die"},
        {"text": "pain is much worse", "score": 8, "previous_score": 3},
        {"text": ""},
        "not an object",
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "triage", "--locale", "en"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o.get("level") for o in out[:4]] == ["none", "urgent", "concern", "none"]
    assert out[0]["reasons"] == []
    assert out[1]["reasons"]
    assert "error" in out[4]
