"""Fixtures of the check-in tests: a fake database, and the real application over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.runtime import Runtime
from bot.settings import load_settings
from tests.fakes import FakeDatabase, FixedClock
from tests.handlers.offline import offline_application
from tests.unit.checkins.support import NOW, Bot


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
async def bot(db: FakeDatabase) -> AsyncIterator[Bot]:
    """The real application on ``db``, its clock at ``NOW``."""
    settings = load_settings(None)
    app, request = offline_application(Runtime(settings=settings, clock=FixedClock(NOW), uow=db))
    async with app:
        yield Bot(app, request)
