"""``stillpoint keys rotate`` while the bot sends: every message arrives once, every value
is re-encrypted with the new key, and nothing stored is lost or left under the old one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.data_keys import register_data_key
from bot.db.encrypted import use_data_keys
from bot.db.engine import create_engine
from bot.db.key_registry import ENCRYPTED_COLUMNS
from bot.db.uow import make_uow_factory
from bot.domain.models import Client, OutboxState, Reply
from bot.domain.outgoing import Text
from bot.encryption import KeyRing
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.sandbox.client import SandboxClient
from bot.sandbox.server import SandboxServer
from tests.conftest import TEST_DATA_KEY
from tests.e2e import support
from tests.e2e.conftest import stillpoint, stillpoint_env
from tests.integration import records

pytestmark = pytest.mark.e2e

MESSAGES = 150
CLIENTS = 40
NEW_KEY = "fresh:" + "RnJlc2gga2V5IGZvciB0aGUgcm90YXRpb24gdGVzdHM"
TEXT = Text("stop.done")


async def test_rotating_while_the_bot_sends_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    uow = make_uow_factory(engine)
    async with SandboxServer(limits=True) as server, SandboxClient(server.url) as sandbox:
        users = [server.state.create_user(f"Client {n}").id for n in range(MESSAGES)]
        for user in users:
            server.state.open_chat_quietly(user)
        names = await _plant_under_the_old_key(uow, users)
        await register_data_key(engine)
        use_data_keys(KeyRing.parse(f"{NEW_KEY},{TEST_DATA_KEY}"))  # as the bot now has them

        env = {
            "BOT_TOKEN": server.bot_token,
            "TELEGRAM_API_URL": server.url,
            "DATABASE_URL": database_url,
            "DATA_KEY": f"{NEW_KEY},{TEST_DATA_KEY}",  # restarted with the new key first
        }
        bot = stillpoint("run", cwd=tmp_path, **env)
        try:
            await support.until(lambda: support.delivered(sandbox, users), at_least=10)
            rotation = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "keys", "rotate", "--batch", "5"],
                cwd=tmp_path,
                env=stillpoint_env(**env),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            delivered_during_rotation = await support.delivered(sandbox, users)
            await support.until(lambda: support.finished_rows(uow), at_least=MESSAGES, within_s=60)
        finally:
            bot.terminate()
            await asyncio.to_thread(bot.communicate, timeout=30)
        received = await support.received(sandbox, users)

    try:
        assert rotation.returncode == 0, rotation.stderr
        assert "No value needs suite any more" in rotation.stdout
        assert delivered_during_rotation < MESSAGES, "the rotation ran while the bot sent"
        async with uow() as unit:
            states = await unit.outbox.count_by_state()
            found = [(c.full_name, r.text) for c in names for r in await _replies(unit, c.id)]
        assert {state for state, count in states.items() if count} == {OutboxState.SENT}, states
        assert received == Counter(dict.fromkeys(users, 1)), "each message once"
        assert sorted(found) == sorted((c.full_name, f"sore after {c.full_name}") for c in names)
        async with engine.connect() as connection:
            for table, column in ENCRYPTED_COLUMNS:
                stored = await connection.execute(text(f"SELECT {column} FROM {table}"))  # noqa: S608
                assert all(value.startswith("sp1:fresh:") for (value,) in stored), table
    finally:
        await engine.dispose()
        use_data_keys(KeyRing.parse(TEST_DATA_KEY))


async def _plant_under_the_old_key(uow: UnitOfWorkFactory, users: list[int]) -> list[Client]:
    """Clients with names and words, and one message due now per user, all encrypted with
    the suite's key (this process's), as a bot started before the rotation left them."""
    async with uow() as unit:
        practitioner = await unit.practitioners.add(records.practitioner())
        clients = []
        for n in range(CLIENTS):
            client = await unit.clients.add(
                records.client(practitioner.id, full_name=f"Client Number {n}", telegram_user_id=n)
            )
            await unit.replies.add(
                records.reply(
                    client.id, text=f"sore after {client.full_name}", telegram_message_id=n
                )
            )
            clients.append(client)
        await support.queue_alerts(unit, users, TEXT)
        await unit.commit()
    return clients


async def _replies(unit: UnitOfWork, client_id: int) -> list[Reply]:
    return list(await unit.replies.for_client(client_id))
