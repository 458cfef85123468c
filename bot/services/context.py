"""What every use case works with: the way to open a unit of work, the clock, and the
operator's rules. The composition root builds one (``Runtime.ctx``); tests build their own."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import Clock, UnitOfWorkFactory
from bot.services.policy import Policy


@dataclass(frozen=True, slots=True)
class UseCaseContext:
    """Units of work, the clock and the policy, passed to a use case as one value."""

    uow: UnitOfWorkFactory
    clock: Clock
    policy: Policy
