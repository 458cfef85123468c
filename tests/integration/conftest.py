"""Fixtures of the journey tests (``test_journey_services.py``, ``test_journey_access.py``):
a clock at the journeys' Tuesday morning and a practice with one practitioner and one
client. A module with a clock of its own defines its own ``clock`` fixture."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import UnitOfWorkFactory
from tests.fakes import FixedClock
from tests.integration.journey_support import Practice, open_practice
from tests.unit.services.support import NOW


@pytest.fixture
def clock() -> FixedClock:
    """The journeys' clock, stopped at ``tests/unit/services/support.NOW``."""
    return FixedClock(NOW)


@pytest.fixture
async def practice(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, clock: FixedClock
) -> Practice:
    """A practitioner and one joined client, on this test's database."""
    return await open_practice(uow_factory, engine, clock)
