"""Clock adapters: the system clock, and a movable one for the sandbox and tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class MovableClock:
    """A clock that runs with real time from a chosen start and can be moved forward.

    Listeners are called after every move, so a dispatcher can wake up at once.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        base = start if start is not None else datetime.now(UTC)
        if base.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware start time")
        self._offset = base.astimezone(UTC) - datetime.now(UTC)
        self._frozen_at: datetime | None = base.astimezone(UTC) if frozen else None
        self._listeners: list[Callable[[datetime], None]] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the clock's current time in UTC."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta``; moving backwards is refused."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        return self.set(self.now() + delta)

    def set(self, when: datetime) -> datetime:
        """Move the clock to ``when``, which must not be in its past."""
        if when.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time")
        target = when.astimezone(UTC)
        with self._lock:
            current = self._frozen_at or datetime.now(UTC) + self._offset
            if target < current:
                raise ValueError("the clock only moves forward")
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - datetime.now(UTC)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(target)
        return target

    def on_change(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener(new_now)`` after every move of the clock."""
        with self._lock:
            self._listeners.append(listener)
