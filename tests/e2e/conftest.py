"""End-to-end: the real bot as a subprocess, over real HTTP, driven through the sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.sandbox.client import SandboxClient

_LISTENING = re.compile(r"listening on (http://\S+)")
_SETTINGS = ("BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL", "PRACTITIONER_IDS")


def stillpoint_env(**extra: str) -> dict[str, str]:
    """The environment for a ``stillpoint`` subprocess: this one, minus bot settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env["LOG_LEVEL"] = "INFO"
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
    """A control-API client for the running sandbox."""
    async with SandboxClient(sandbox_url) as client:
        yield client
