"""``stillpoint run`` and ``stillpoint migrate`` as processes, against the Bot API emulator."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from bot.sandbox.client import SandboxClient
from bot.sandbox.server import SandboxServer
from tests.e2e.conftest import emulator_env, finish, stillpoint

pytestmark = pytest.mark.e2e


async def test_run_serves_refuses_a_second_instance_and_stops_on_sigterm(
    emulator: SandboxServer, tmp_path: Path
) -> None:
    env = emulator_env(emulator, tmp_path / "bot.sqlite3")
    code, err = await finish(stillpoint("migrate", cwd=tmp_path, **env))
    assert code == 0, err

    first = stillpoint("run", cwd=tmp_path, **env)
    try:
        async with SandboxClient(emulator.url) as sandbox:
            user = await sandbox.create_user("Client")
            sent = await sandbox.send(user, "/start")
            [reply] = await sandbox.wait_for_messages(user, after=sent, timeout=30)
            assert "use the invite link" in reply["text"]

            code, err = await finish(stillpoint("run", cwd=tmp_path, **env))
            assert code == 1
            assert "another Stillpoint process is already using" in err
            assert "Traceback" not in err

            sent = await sandbox.send(user, "/privacy")
            [reply] = await sandbox.wait_for_messages(user, after=sent, timeout=30)
            assert "Your privacy" in reply["text"]
    finally:
        first.send_signal(signal.SIGTERM)
        code, err = await finish(first)
    assert code == 0, err
    assert "shutting down" in err
    assert emulator.bot_token not in err


async def test_run_on_an_unmigrated_database_says_to_migrate(
    emulator: SandboxServer, tmp_path: Path
) -> None:
    code, err = await finish(
        stillpoint("run", cwd=tmp_path, **emulator_env(emulator, tmp_path / "new.sqlite3"))
    )
    assert code == 1
    assert "stillpoint migrate" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_an_unreachable_database_is_one_clear_line(command: str, tmp_path: Path) -> None:
    env = {"BOT_TOKEN": "1:x", "DATABASE_URL": "postgresql://stillpoint@127.0.0.1:1/none"}
    code, err = await finish(stillpoint(command, cwd=tmp_path, **env))
    assert code == 1
    assert "127.0.0.1:1" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


async def test_a_wrong_token_is_one_clear_line(emulator: SandboxServer, tmp_path: Path) -> None:
    env = emulator_env(emulator, tmp_path / "bot.sqlite3")
    assert (await finish(stillpoint("migrate", cwd=tmp_path, **env)))[0] == 0
    env["BOT_TOKEN"] = "123456:not-the-right-token"
    code, err = await finish(stillpoint("run", cwd=tmp_path, **env))
    assert code == 1
    assert "did not accept BOT_TOKEN" in err
    assert "not-the-right-token" not in err
    assert "Traceback" not in err


async def test_an_unreachable_bot_api_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        "BOT_TOKEN": "1:x",
        "TELEGRAM_API_URL": "http://127.0.0.1:1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
    }
    assert (await finish(stillpoint("migrate", cwd=tmp_path, **env)))[0] == 0
    code, err = await finish(stillpoint("run", cwd=tmp_path, **env))
    assert code == 1
    assert "cannot reach http://127.0.0.1:1" in err
    assert "Traceback" not in err


async def test_a_failure_while_polling_starts_is_one_clear_line(
    emulator: SandboxServer, tmp_path: Path
) -> None:
    env = emulator_env(emulator, tmp_path / "bot.sqlite3")
    assert (await finish(stillpoint("migrate", cwd=tmp_path, **env)))[0] == 0
    async with SandboxClient(emulator.url) as sandbox:
        await sandbox.fault("deleteWebhook", 500, times=10)
        code, err = await finish(stillpoint("run", cwd=tmp_path, **env))
    assert code == 1
    assert f"cannot reach {emulator.url}" in err
    assert "Traceback" not in err


async def test_a_sqlite_path_that_cannot_exist_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    database = f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'bot.sqlite3'}"
    for args in (("run",), ("sandbox", "--port", "0", "--database", database)):
        code, err = await finish(
            stillpoint(*args, cwd=tmp_path, BOT_TOKEN="1:x", DATABASE_URL=database)
        )
        assert code == 1, args
        assert "cannot open the SQLite database" in err, args
        assert "Traceback" not in err, args


async def test_stats_reports_states_and_lateness_as_json(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"}
    assert (await finish(stillpoint("migrate", cwd=tmp_path, **env)))[0] == 0
    process = stillpoint("stats", "--hours", "1", cwd=tmp_path, **env)
    out, err = await asyncio.to_thread(process.communicate, timeout=30)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["by_state"]["pending"] == 0
    assert set(report["by_state"]) >= {"pending", "sending", "sent", "uncertain", "failed"}
    assert report["lateness_ms"] == {"p50": None, "p99": None, "max": None}
