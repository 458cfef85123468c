"""Shared by the end-to-end tests that send many messages: counting what arrived and
waiting for it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from bot.domain.models import OutboxState
from bot.ports import UnitOfWorkFactory
from bot.sandbox.client import SandboxClient


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
