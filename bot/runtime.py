"""What every handler and job may use, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import Clock, UnitOfWorkFactory
from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings, the clock and the way to open a unit of work."""

    settings: Settings
    clock: Clock
    uow: UnitOfWorkFactory
