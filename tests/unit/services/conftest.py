"""Fixtures of the session use-case tests: a fake database, and the practice on it.

Each test ends by checking that every write the use cases made was committed: a
database would have rolled back the rest (``support.CheckedDatabase``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.services.support import CheckedDatabase, Practice, open_practice


@pytest.fixture
async def db() -> AsyncIterator[CheckedDatabase]:
    database = CheckedDatabase()
    yield database
    assert database.uncommitted == [], "written but never committed: a database drops these"


@pytest.fixture
async def practice(db: CheckedDatabase) -> Practice:
    """A practitioner in Berlin and one joined client, on the test's fake database."""
    return await open_practice(db)
