"""Counters of what the bot asked of the emulator."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Calls per method, errors per code, and messages delivered into chats."""

    calls: Counter[str] = field(default_factory=Counter)
    errors_returned: Counter[str] = field(default_factory=Counter)
    delivered: int = 0

    def to_json(self) -> dict[str, Any]:
        """The ``GET /sandbox/stats`` answer."""
        return {
            "calls": dict(self.calls),
            "errors_returned": dict(self.errors_returned),
            "delivered": self.delivered,
        }
