"""Updates side by side, each person's own in the order they came.

PTB handles updates one after another unless told otherwise, so one user's burst would
hold up everyone else's answers. This processor runs updates concurrently and keeps a
lane per sender: a user's updates wait only for that user's earlier ones, never for
anyone else's. ``asyncio.Lock`` wakes its waiters first come, first served, and each
update reaches its lane's lock without awaiting anything before it, so a lane keeps the
order in which PTB handed the updates over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 4096
"""PTB's bound on updates in flight. Updates waiting in a lane count against it, so it
is generous: a burst of one user must not use it up for everyone else."""


@dataclass(slots=True)
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0  # updates holding or waiting for the lock; the lane goes at zero


def sender_of(update: object) -> int | None:
    """The user an update comes from (or its chat, when no user is named)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerSenderUpdateProcessor(BaseUpdateProcessor):
    """Concurrent updates with one ordered lane per sender."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[int, _Lane] = {}

    @property
    def lanes(self) -> int:
        """How many senders have updates in flight now."""
        return len(self._lanes)

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        """Run ``coroutine`` once the sender's earlier updates are done."""
        sender = sender_of(update)
        if sender is None:
            await coroutine
            return
        lane = self._lanes.get(sender)
        if lane is None:
            lane = self._lanes[sender] = _Lane()
        lane.waiting += 1
        try:
            async with lane.lock:
                await coroutine
        finally:
            lane.waiting -= 1
            if lane.waiting == 0:
                del self._lanes[sender]

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""
