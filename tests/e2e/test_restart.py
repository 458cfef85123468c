"""Killing the bot with SIGKILL while it sends: nothing twice, nothing lost silently."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import pytest

from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.uow import make_uow_factory
from bot.domain.models import OutboxState
from bot.domain.outgoing import Text
from bot.sandbox.client import SandboxClient
from bot.sandbox.server import SandboxServer
from tests.e2e import support
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
        async with uow() as unit:
            await support.queue_alerts(unit, users, TEXT)
            await unit.commit()

        env = {
            "BOT_TOKEN": server.bot_token,
            "TELEGRAM_API_URL": server.url,
            "DATABASE_URL": database,
        }
        bot = stillpoint("run", cwd=tmp_path, **env)
        await support.until(lambda: support.delivered(sandbox, users), at_least=10)
        bot.send_signal(signal.SIGKILL)
        await asyncio.to_thread(bot.wait, 10)

        restarted = stillpoint("run", cwd=tmp_path, **env)
        try:
            await support.until(lambda: support.finished_rows(uow), at_least=MESSAGES, within_s=60)
        finally:
            restarted.send_signal(signal.SIGTERM)
            await asyncio.to_thread(restarted.communicate, timeout=30)
        received = await support.received(sandbox, users)

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
