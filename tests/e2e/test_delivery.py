"""The delivery engine inside the running bot, against the emulator with Telegram's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.domain.models import OutboxKind, OutboxMessage, OutboxState
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.launch import RunningSandbox, running_sandbox
from bot.sandbox.client import SandboxClient
from bot.services.delivery.outbox import outbox_row
from bot.settings import load_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
async def sandbox(database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(load_settings(None), database_url=database_url) as running:
        yield running


async def _started_user(client: SandboxClient) -> int:
    user = await client.create_user("Client")
    sent = await client.send(user, "/start")
    await client.wait_for_messages(user, after=sent)
    return user


async def _settled(sandbox: RunningSandbox, row_id: int) -> OutboxMessage:
    """The row once its outcome is stored: Telegram shows a message before the bot records it."""
    state: OutboxState | None = None
    for _ in range(100):
        async with sandbox.runtime.uow() as uow:
            row = await uow.outbox.get(row_id)
        assert row is not None
        if row.state not in (OutboxState.PENDING, OutboxState.SENDING):
            return row
        state = row.state
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {row_id} is still {state} after 5 s")


async def _schedule(sandbox: RunningSandbox, chat_id: int, key: str, due_in: timedelta) -> int:
    runtime = sandbox.runtime
    now = runtime.clock.now()
    # An alert is never held back by quiet hours, so the hour the test runs at cannot matter.
    async with runtime.uow() as uow:
        row = await uow.outbox.add(
            outbox_row(
                OutgoingMessage(Text("stop.done")),
                Recipient(chat_id, "en", "UTC"),
                kind=OutboxKind.FLAG_ALERT,
                dedup_key=key,
                now=now,
                quiet=runtime.settings.quiet_hours,
                due_at=now + due_in,
            )
        )
        await uow.commit()
    return row.id


async def test_a_message_goes_out_when_the_sandbox_clock_reaches_it(
    sandbox: RunningSandbox,
) -> None:
    async with SandboxClient(sandbox.url) as client:
        user = await _started_user(client)
        last = (await client.messages(user))[-1]["message_id"]
        row_id = await _schedule(sandbox, user, "later", timedelta(hours=3))
        assert [m for m in await client.messages(user, after=last) if m["from"] == "bot"] == []
        await client.advance(3 * 3600)
        [message] = await client.wait_for_messages(user, after=last, timeout=5)
    assert message["text"].startswith("Done: I won't send you any more messages")
    row = await _settled(sandbox, row_id)
    assert row.state is OutboxState.SENT


async def test_flood_control_from_telegram_is_waited_out(sandbox: RunningSandbox) -> None:
    async with SandboxClient(sandbox.url) as client:
        user = await _started_user(client)
        last = (await client.messages(user))[-1]["message_id"]
        await client.fault("sendMessage", 429, retry_after=1, times=1, user_id=user)
        row_id = await _schedule(sandbox, user, "now", timedelta(0))
        [message] = await client.wait_for_messages(user, after=last, timeout=10)
        stats = await client.stats()
    assert message["text"].startswith("Done")
    assert stats["errors_returned"].get("429") == 1
    row = await _settled(sandbox, row_id)
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)
