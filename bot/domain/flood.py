"""Inbound flood control: how many updates one user may send before the bot goes quiet.

Past the budget (``limit`` updates within ``window_s`` seconds) a user's episode of
flooding begins: the bot says "slow down" once, then stops answering them until
``quiet_s`` seconds have passed without them going over again. What a client writes
during an episode is still stored and triaged, and crisis words still get their answer:
only the ordinary replies stop. Times are seconds on a monotonic clock, passed in.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

_FORGET_ABOVE = 10_000


class Pace(enum.Enum):
    """How an update stands against its sender's budget."""

    WITHIN = "within"
    FIRST_OVER = "first_over"  # the episode begins: say "slow down" once
    OVER = "over"


@dataclass(frozen=True, slots=True)
class Budget:
    """Updates allowed per window, and how long the bot stays quiet after the last excess."""

    limit: int = 20
    window_s: float = 10.0
    quiet_s: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s <= 0 or self.quiet_s < 0:
            raise ValueError("limit must be at least 1, window_s positive, quiet_s not negative")


@dataclass(slots=True)
class _Sender:
    recent: deque[float]
    quiet_until: float | None = None
    ignored: bool = False  # a stranger: not even crisis words are awaited from them


@dataclass(slots=True)
class FloodGuard:
    """Keeps each sender's recent update times and says where a new one stands."""

    budget: Budget = field(default_factory=Budget)
    _senders: dict[int, _Sender] = field(default_factory=dict)

    def note(self, sender: int, now: float) -> Pace:
        """Count one update from ``sender`` at ``now`` and say how it stands."""
        state = self._senders.get(sender)
        if state is None:
            if len(self._senders) > _FORGET_ABOVE:
                self.forget_idle(now)
            state = self._senders[sender] = _Sender(deque(maxlen=self.budget.limit))
        if state.quiet_until is not None and now >= state.quiet_until:
            state.quiet_until, state.ignored = None, False
        full = len(state.recent) == self.budget.limit
        over = full and now - state.recent[0] < self.budget.window_s
        state.recent.append(now)
        if over:
            first = state.quiet_until is None
            state.quiet_until = now + self.budget.quiet_s
            return Pace.FIRST_OVER if first else Pace.OVER
        return Pace.WITHIN if state.quiet_until is None else Pace.OVER

    def is_quiet(self, sender: int, now: float) -> bool:
        """Whether the bot is holding its ordinary replies to ``sender`` back."""
        state = self._senders.get(sender)
        return state is not None and state.quiet_until is not None and now < state.quiet_until

    def ignore(self, sender: int) -> None:
        """Ignore ``sender`` entirely until their quiet ends (strangers who flood)."""
        state = self._senders.get(sender)
        if state is not None and state.quiet_until is not None:
            state.ignored = True

    def is_ignored(self, sender: int, now: float) -> bool:
        """Whether updates from ``sender`` are being dropped unread."""
        state = self._senders.get(sender)
        return state is not None and state.ignored and self.is_quiet(sender, now)

    def forget_idle(self, now: float) -> None:
        """Drop senders with nothing recent and no quiet going on: they hold no state."""
        for sender, state in list(self._senders.items()):
            quiet = state.quiet_until is not None and now < state.quiet_until
            recent = bool(state.recent) and now - state.recent[-1] < self.budget.window_s
            if not quiet and not recent:
                del self._senders[sender]
