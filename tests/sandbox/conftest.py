"""Fixtures: a started sandbox on 127.0.0.1:0, a PTB Bot pointed at it, a control client."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot
from telegram.error import RetryAfter
from telegram.request import HTTPXRequest

from bot.sandbox import SandboxClient, SandboxServer


@pytest.fixture(autouse=True)
def _durations_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods (RetryAfter.retry_after) to skip its notices."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    """A sandbox with flood control off, so tests may send quickly."""
    async with SandboxServer(limits=False) as sandbox:
        yield sandbox


@pytest.fixture
async def limited_server() -> AsyncIterator[SandboxServer]:
    """A sandbox with Telegram's flood control on (the default)."""
    async with SandboxServer() as sandbox:
        yield sandbox


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def make_bot(sandbox: SandboxServer) -> Bot:
    """A PTB Bot talking to ``sandbox`` exactly as to Telegram.

    The requests share one TLS context (never used on plain HTTP) to keep set-up fast.
    """

    def request() -> HTTPXRequest:
        return HTTPXRequest(
            connection_pool_size=8, read_timeout=10, httpx_kwargs={"verify": _tls_context()}
        )

    return Bot(
        sandbox.bot_token,
        base_url=sandbox.base_url,
        base_file_url=f"{sandbox.url}/file/bot",
        request=request(),
        get_updates_request=request(),
    )


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as ptb_bot:
        yield ptb_bot


@pytest.fixture
async def client(server: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(server.url) as control:
        yield control


@pytest.fixture
async def user(client: SandboxClient) -> int:
    """A client user who has started the bot (its updates are left unread)."""
    user_id = await client.create_user("Client", language_code="en")
    await client.send(user_id, "/start")
    return user_id


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
