"""Shared by the end-to-end tests: counting what arrived and waiting for it, and the
sandbox steps many of them take (a client joining, a reply, a button's data)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bot.clock import SystemClock
from bot.domain.models import OutboxKind, OutboxState
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.sandbox.client import SandboxClient
from bot.services.delivery.outbox import outbox_row
from bot.settings import load_settings


async def received(sandbox: SandboxClient, users: list[int]) -> Counter[int]:
    """How many of the bot's "stop.done" test messages each user's chat holds."""
    shown = "Done: I won't send you any more messages"
    counts: Counter[int] = Counter()
    for user in users:
        messages = await sandbox.messages(user)
        counts[user] = sum(
            1 for m in messages if m["from"] == "bot" and m["text"].startswith(shown)
        )
    return counts


async def delivered(sandbox: SandboxClient, users: list[int]) -> int:
    """How many of those messages arrived in all."""
    return sum((await received(sandbox, users)).values())


async def finished_rows(uow: UnitOfWorkFactory) -> int:
    """Outbox rows whose send is over: sent, uncertain or failed."""
    async with uow() as unit:
        counts = await unit.outbox.count_by_state()
    return sum(
        counts[state] for state in (OutboxState.SENT, OutboxState.UNCERTAIN, OutboxState.FAILED)
    )


async def until(
    measure: Callable[[], Awaitable[int]], *, at_least: int, within_s: float = 30
) -> None:
    """Wait until ``measure()`` reaches ``at_least``; fail after ``within_s`` seconds."""
    deadline = asyncio.get_running_loop().time() + within_s
    while (value := await measure()) < at_least:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {within_s:g} s for {at_least}; got {value}")
        await asyncio.sleep(0.1)


INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


async def reply_to(sandbox: SandboxClient, user: int, text: str) -> dict[str, Any]:
    """Send ``text`` as ``user``; the bot's one answer."""
    sent = await sandbox.send(user, text)
    [reply] = await sandbox.wait_for_messages(user, after=sent)
    return reply


def button_data(message: dict[str, Any], label: str) -> str:
    """The callback data of the one button of ``message`` whose label holds ``label``."""
    [data] = [b["data"] for row in message["buttons"] for b in row if label in b["text"]]
    return str(data)


async def last_message_id(sandbox: SandboxClient, user: int) -> int:
    """The id of the last message in ``user``'s chat."""
    return int((await sandbox.messages(user))[-1]["message_id"])


async def joined_client(sandbox: SandboxClient, practitioner: int, name: str) -> int:
    """A client the practitioner invites as ``name`` who joins and agrees; their user id."""
    invite = await reply_to(sandbox, practitioner, f"/newclient {name}")
    link = INVITE_LINK.search(invite["text"])
    assert link is not None, invite["text"]
    client = await sandbox.create_user(name.split(maxsplit=1)[0], language_code="en")
    consent = await reply_to(sandbox, client, f"/start {link.group(1)}")
    await sandbox.press(client, consent["message_id"], button_data(consent, "Agree"))
    await sandbox.wait_for_messages(practitioner, after=invite["message_id"])  # "joined"
    return client


async def queue_alerts(unit: UnitOfWork, users: list[int], text: Text) -> None:
    """One flag alert with ``text`` due now for each of ``users`` (in English, UTC), in
    the caller's unit of work."""
    now = SystemClock().now()
    quiet = load_settings(None).quiet_hours
    for user in users:
        await unit.outbox.add(
            outbox_row(
                OutgoingMessage(text),
                Recipient(user, "en", "UTC"),
                kind=OutboxKind.FLAG_ALERT,
                dedup_key=f"alert:{user}",
                now=now,
                quiet=quiet,
            )
        )
