"""Fixtures of the practitioner's view of their clients: the flags' practice on the fakes."""

from __future__ import annotations

import pytest

from tests.unit.flags.support import Practice, open_practice


@pytest.fixture
async def practice() -> Practice:
    return await open_practice()
