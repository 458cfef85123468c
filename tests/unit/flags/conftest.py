"""Fixtures of the flag tests: the practice on the fakes, and the real application over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.runtime import Runtime
from bot.settings import load_settings
from tests.handlers.offline import offline_application
from tests.integration.support import Bot
from tests.unit.flags.support import FLOOD_BUDGET, PRACTITIONER, Practice, open_practice


@pytest.fixture
async def practice() -> Practice:
    return await open_practice()


@pytest.fixture
async def bot(practice: Practice) -> AsyncIterator[Bot]:
    """The real application with an offline Bot API, on the practice's fake database."""
    settings = load_settings(None, practitioner_ids=(PRACTITIONER,))
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.db)
    )
    async with app:
        yield Bot(app, request)


@pytest.fixture
async def strict_bot(practice: Practice) -> AsyncIterator[Bot]:
    """The bot with a small inbound budget (5 updates an hour) so a test can go over it."""
    settings = load_settings(
        None, practitioner_ids=(PRACTITIONER,), flood_updates=FLOOD_BUDGET, flood_window_s=3600
    )
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.db)
    )
    async with app:
        yield Bot(app, request)
