"""End-to-end: the real bot as a subprocess, over real HTTP, driven through the sandbox."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.sandbox.client import SandboxClient
from bot.sandbox.server import SandboxServer

_LISTENING = re.compile(r"listening on (http://\S+)")
_SETTINGS = ("BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL", "PRACTITIONER_IDS")


def stillpoint_env(**extra: str) -> dict[str, str]:
    """The environment for a ``stillpoint`` subprocess: this one, minus bot settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env["LOG_LEVEL"] = "INFO"
    env["HEALTH_PORT"] = "0"  # several bots may run at once; a test that wants it says so
    return {**env, **extra}


def stillpoint(*args: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """Start ``python -m bot ARGS`` with stdout and stderr captured."""
    return subprocess.Popen(  # noqa: S603 -- our own CLI
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=stillpoint_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
async def emulator() -> AsyncIterator[SandboxServer]:
    """The Bot API emulator alone (no bot), with Telegram's limits, on a free port."""
    server = SandboxServer(limits=True)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def emulator_env(server: SandboxServer, database: Path, **extra: str) -> dict[str, str]:
    """What ``stillpoint run`` needs to talk to ``server`` with an SQLite ``database``."""
    return {
        "BOT_TOKEN": server.bot_token,
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PRACTITIONER_IDS": str(server.state.practitioner_user_id),
        **extra,
    }


async def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for the process without blocking the emulator, which shares this event loop;
    its exit status and standard error."""

    def wait() -> tuple[int, str]:
        _, err = process.communicate(timeout=30)
        return process.returncode, err

    return await asyncio.to_thread(wait)


@pytest.fixture
def sandbox_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """``stillpoint sandbox --port 0`` on each database backend; its URL from the line it prints."""
    process = stillpoint("sandbox", "--port", "0", "--database", database_url, cwd=tmp_path)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = _LISTENING.search(line)
    if match is None:
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"stillpoint sandbox did not start: {line!r} {err[-2000:]}")
    try:
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator[SandboxClient]:
    """A control-API client for the running sandbox, its clock in the day."""
    async with SandboxClient(sandbox_url) as client:
        await _in_the_day(client)
        yield client


DAY = (time(9, 0), time(18, 0))
"""When a test may start (UTC, the sandbox practitioner's zone): notices outside it wait
for the end of quiet hours (21:00 to 08:00)."""


async def _in_the_day(sandbox: SandboxClient) -> None:
    """Move the sandbox's clock on to the next morning when the suite runs in the evening
    or at night, so that no result depends on the hour it runs at."""
    now = await sandbox.clock()
    start, end = DAY
    if start <= now.time() < end:
        return
    day = now.date() + timedelta(days=1) if now.time() >= end else now.date()
    await sandbox.set_clock(datetime.combine(day, start, UTC) + timedelta(minutes=30))
