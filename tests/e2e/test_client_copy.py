"""A client's /mydata through the sandbox, on SQLite and PostgreSQL: a JSON document of
everything kept about them, decrypted, complete and only theirs; after /erase, nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.client import SandboxClient
from tests.e2e.support import button_data, joined_client, reply_to

pytestmark = pytest.mark.e2e

WORDS = "my neck feels tight after yesterday"
OTHER_WORDS = "slept badly, shoulders sore"


async def _until_edited(sandbox: SandboxClient, user: int, message: dict[str, Any]) -> None:
    for _ in range(200):
        [now] = [
            m for m in await sandbox.messages(user) if m["message_id"] == message["message_id"]
        ]
        if now["text"] != message["text"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the message was not answered in place")


async def test_a_client_gets_a_copy_of_everything_kept_about_them_and_only_that(
    sandbox: SandboxClient,
) -> None:
    info = await sandbox.info()
    practitioner = info["practitioner_user_id"]
    day = (datetime.fromisoformat(info["now"]) + timedelta(days=10)).date().isoformat()
    client = await joined_client(sandbox, practitioner, "Marit Olsen")
    other = await joined_client(sandbox, practitioner, "Tomas Berg")
    booked = await reply_to(sandbox, practitioner, f"/book Marit {day} 10:00")
    assert "Marit Olsen" in booked["text"]
    await reply_to(sandbox, client, WORDS)
    await reply_to(sandbox, other, OTHER_WORDS)

    sent = await sandbox.send(client, "/mydata")
    [message] = await sandbox.wait_for_messages(client, after=sent)

    assert (message["kind"], message["file_name"]) == ("document", "stillpoint-my-data.json")
    assert message["text"].startswith("Everything I keep about you, as of ")
    raw = await sandbox.file(message["file_id"])
    copy = json.loads(raw)
    assert copy["telegram_user_id"] == client
    [record] = copy["as_client_of"]
    assert record["profile"]["name"] == "Marit Olsen"
    assert record["profile"]["status"] == "active"
    assert len(record["consents"]) == 1
    [session] = record["sessions"]
    assert session["starts_at"].startswith(f"{day}T10:00:00")
    assert [answer["words"] for answer in record["answers"]] == [WORDS]
    assert "client.joined" in {a["action"] for a in record["record_of_actions"]}
    assert any(m["kind"] == "reminder" for m in record["messages"])
    for someone_else in (b"Tomas", b"Berg", OTHER_WORDS.encode(), str(other).encode()):
        assert someone_else not in raw

    again = await sandbox.send(client, "/mydata")  # the first copy is on the record now
    [second] = await sandbox.wait_for_messages(client, after=again)
    actions = json.loads(await sandbox.file(second["file_id"]))["as_client_of"][0][
        "record_of_actions"
    ]
    assert [a["action"] for a in actions].count("client.copy_sent") == 1

    confirm = await reply_to(sandbox, client, "/erase")
    await sandbox.press(client, confirm["message_id"], button_data(confirm, "Erase"))
    await _until_edited(sandbox, client, confirm)  # the question becomes the outcome
    nothing = await reply_to(sandbox, client, "/mydata")
    assert nothing["text"] == "I keep nothing about you as a client, so there is nothing to send."
