"""Killing the bot with SIGKILL while it sends: nothing twice, nothing lost silently."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.uow import make_uow_factory
from bot.domain.models import OutboxKind, OutboxState
from bot.domain.outgoing import OutgoingMessage, Text
from bot.ports import UnitOfWorkFactory
from bot.sandbox.client import SandboxClient
from bot.sandbox.server import SandboxServer
from bot.services.outbox import Delivery, schedule
from bot.settings import load_settings
from tests.e2e.conftest import stillpoint

pytestmark = pytest.mark.e2e

MESSAGES = 60
TEXT = Text("stop.done")
BATCH = 28  # the dispatcher's claim size: at most this many can be in flight at a kill


async def test_a_killed_bot_resumes_without_duplicates_or_silent_losses(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await upgrade(database)
    engine = create_engine(database)
    uow = make_uow_factory(engine)
    async with SandboxServer(limits=True) as server, SandboxClient(server.url) as sandbox:
        users = [await sandbox.create_user(f"Client {n}") for n in range(MESSAGES)]
        for user in users:
            await sandbox.send(user, "/start")
        now = SystemClock().now()
        quiet = load_settings(None).quiet_hours
        async with uow() as unit:
            for user in users:
                delivery = Delivery(
                    user, OutboxKind.FLAG_ALERT, OutgoingMessage(TEXT), "en", now, f"alert:{user}"
                )
                await schedule(unit, delivery, timezone="UTC", quiet=quiet, now=now)
            await unit.commit()

        env = {
            "BOT_TOKEN": server.bot_token,
            "TELEGRAM_API_URL": server.url,
            "DATABASE_URL": database,
        }
        bot = stillpoint("run", cwd=tmp_path, **env)
        await _until(lambda: _delivered(sandbox, users), at_least=10)
        bot.send_signal(signal.SIGKILL)
        await asyncio.to_thread(bot.wait, 10)

        restarted = stillpoint("run", cwd=tmp_path, **env)
        try:
            await _until(lambda: _final_rows(uow), at_least=MESSAGES, within_s=60)
        finally:
            restarted.send_signal(signal.SIGTERM)
            await asyncio.to_thread(restarted.communicate, timeout=30)
        received = await _received(sandbox, users)

    async with uow() as unit:
        rows = {
            row.chat_id: row
            for row in [await unit.outbox.by_dedup_key(f"alert:{u}") for u in users]
            if row
        }
    await engine.dispose()
    states = Counter(row.state for row in rows.values())
    assert set(states) <= {OutboxState.SENT, OutboxState.UNCERTAIN}, states
    assert states[OutboxState.UNCERTAIN] <= BATCH
    assert max(received.values(), default=0) <= 1, "nothing arrives twice"
    for chat, row in rows.items():
        if row.state is OutboxState.SENT:
            assert received[chat] == 1, "a row marked sent really arrived"
    assert sum(received.values()) >= states[OutboxState.SENT]


async def _received(sandbox: SandboxClient, users: list[int]) -> Counter[int]:
    shown = "Done: I won't send you any more messages"
    counts: Counter[int] = Counter()
    for user in users:
        messages = await sandbox.messages(user)
        counts[user] = sum(
            1 for m in messages if m["from"] == "bot" and m["text"].startswith(shown)
        )
    return counts


async def _delivered(sandbox: SandboxClient, users: list[int]) -> int:
    return sum((await _received(sandbox, users)).values())


async def _final_rows(uow: UnitOfWorkFactory) -> int:
    async with uow() as unit:
        counts = await unit.outbox.count_by_state()
    return sum(
        counts[state] for state in (OutboxState.SENT, OutboxState.UNCERTAIN, OutboxState.FAILED)
    )


async def _until(
    measure: Callable[[], Awaitable[int]], *, at_least: int, within_s: float = 30
) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while (value := await measure()) < at_least:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {within_s:g} s for {at_least}; got {value}")
        await asyncio.sleep(0.1)
