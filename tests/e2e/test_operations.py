"""``stillpoint run`` in webhook mode and as a worker, with ``/healthz`` and ``/metrics``,
as processes against the Bot API emulator (which posts updates to a webhook on loopback
with its secret token, as Telegram does)."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from benchmarks.webhook_proxy import free_port
from bot.db.engine import create_engine
from bot.db.uow import make_uow_factory
from bot.domain.models import OutboxKind, OutboxMessage, OutboxState
from bot.sandbox.client import SandboxClient
from bot.sandbox.server import SandboxServer
from tests.e2e.conftest import emulator_env, finish, stillpoint

pytestmark = pytest.mark.e2e

SECRET = "replica-secret_1"


async def _migrated(tmp_path: Path, env: dict[str, str]) -> None:
    code, err = await finish(stillpoint("migrate", cwd=tmp_path, **env))
    assert code == 0, err


async def _get(url: str, *, attempts: int = 100) -> tuple[int, str]:
    """The status and body at ``url``, once something listens there."""
    async with aiohttp.ClientSession() as session:
        for _ in range(attempts):
            try:
                async with session.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def _metric(page: str, line_start: str) -> float:
    [value] = [line.rsplit(" ", 1)[1] for line in page.splitlines() if line.startswith(line_start)]
    return float(value)


async def test_webhook_mode_takes_updates_with_the_secret_and_refuses_them_without(
    emulator: SandboxServer, tmp_path: Path
) -> None:
    port, health = free_port(), free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    env = emulator_env(
        emulator,
        tmp_path / "bot.sqlite3",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        HEALTH_PORT=str(health),
    )
    await _migrated(tmp_path, env)
    bot = stillpoint("run", "--webhook-url", url, cwd=tmp_path, **env)
    try:
        async with SandboxClient(emulator.url) as sandbox:
            user = await sandbox.create_user("Client")
            sent = await sandbox.send(user, "/start")
            [reply] = await sandbox.wait_for_messages(user, after=sent, timeout=30)
            assert "use the invite link" in reply["text"]
            assert (emulator.state.webhook.url, emulator.state.webhook.secret_token) == (
                url,
                SECRET,
            )
            assert "getUpdates" not in (await sandbox.stats())["calls"]

            update = {"update_id": 999_999, "message": {"message_id": 1, "date": 0}}
            async with aiohttp.ClientSession() as session:
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with session.post(url, json=update, headers=headers) as response:
                        assert response.status == 403

            status, body = await _get(f"http://127.0.0.1:{health}/healthz")
            assert (status, json.loads(body)["status"]) == (200, "ok")
            status, page = await _get(f"http://127.0.0.1:{health}/metrics")
            assert status == 200
            assert _metric(page, 'stillpoint_updates_total{outcome="handled"}') >= 1
    finally:
        bot.send_signal(signal.SIGTERM)
        code, err = await finish(bot)
    assert code == 0, err
    assert "updates by webhook" in err
    assert SECRET not in err
    assert emulator.state.webhook.url == url  # stopping deletes no webhook: replicas go on


async def test_webhook_mode_without_a_secret_does_not_start(
    emulator: SandboxServer, tmp_path: Path
) -> None:
    env = emulator_env(emulator, tmp_path / "bot.sqlite3")
    await _migrated(tmp_path, env)
    code, err = await finish(
        stillpoint("run", "--webhook-url", "https://bot.example/telegram", cwd=tmp_path, **env)
    )
    assert code == 1
    assert "WEBHOOK_SECRET" in err
    assert "Traceback" not in err


async def test_a_worker_sends_and_takes_no_updates(emulator: SandboxServer, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    health = free_port()
    env = emulator_env(emulator, database, HEALTH_PORT=str(health))
    await _migrated(tmp_path, env)
    practitioner = emulator.state.practitioner_user_id
    worker = stillpoint("run", "--no-updates", cwd=tmp_path, **env)
    try:
        async with SandboxClient(emulator.url) as sandbox:
            status, _ = await _get(f"http://127.0.0.1:{health}/healthz")  # it is up
            assert status == 200
            user = await sandbox.create_user("Client")
            await sandbox.send(user, "/start")
            opened = await sandbox.send(practitioner, "/today")  # their chat with the bot
            await _schedule(database, practitioner, emulator)
            [message] = await sandbox.wait_for_messages(practitioner, after=opened, timeout=30)
            assert "Stillpoint stopped while sending 2 messages" in message["text"]
            # Its update was never taken: no answer.
            assert [m for m in await sandbox.messages(user) if m["from"] == "bot"] == []
            assert "getUpdates" not in (await sandbox.stats())["calls"]
            _, page = await _get(f"http://127.0.0.1:{health}/metrics")
            assert _metric(page, 'stillpoint_sends_total{outcome="sent"}') == 1
            sent = 'stillpoint_outbox_messages{kind="notice",state="sent"}'
            assert _metric(page, sent) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        code, err = await finish(worker)
    assert code == 0, err
    assert "no updates: sending and jobs only" in err


async def _schedule(database: Path, chat_id: int, emulator: SandboxServer) -> None:
    """A message due now, written to the outbox as another process would."""
    now = emulator.clock.now()
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with make_uow_factory(engine)() as uow:
            await uow.outbox.add(
                OutboxMessage(
                    id=0,
                    chat_id=chat_id,
                    kind=OutboxKind.NOTICE,
                    template="delivery.uncertain_notice",
                    payload={"params": {"count": 2}, "buttons": []},
                    due_at=now,
                    dedup_key="worker-test",
                    state=OutboxState.PENDING,
                    expires_at=now + timedelta(hours=1),
                    created_at=now,
                )
            )
            await uow.commit()
    finally:
        await engine.dispose()
