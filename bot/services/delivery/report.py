"""How delivery is doing: rows by state, and how late sent messages were."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import OutboxState
from bot.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Counts by state, and lateness of what was sent since a moment."""

    by_state: dict[OutboxState, int]
    sent_since: datetime
    sent: int
    p50_ms: int | None
    p99_ms: int | None
    max_ms: int | None

    def as_json(self) -> dict[str, object]:
        """A plain dict for ``json.dumps``."""
        return {
            "by_state": {state.value: count for state, count in self.by_state.items()},
            "sent_since": self.sent_since.isoformat(),
            "sent": self.sent,
            "lateness_ms": {"p50": self.p50_ms, "p99": self.p99_ms, "max": self.max_ms},
        }


def percentile(ordered: Sequence[int], fraction: float) -> int | None:
    """The nearest-rank percentile of an ascending sequence, or ``None`` when it is empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


async def delivery_report(uow: UnitOfWork, since: datetime) -> DeliveryReport:
    """Counts of every state now, and the lateness of messages sent since ``since``."""
    lateness = sorted(await uow.outbox.lateness_ms(since))
    return DeliveryReport(
        by_state=await uow.outbox.count_by_state(),
        sent_since=since,
        sent=len(lateness),
        p50_ms=percentile(lateness, 0.50),
        p99_ms=percentile(lateness, 0.99),
        max_ms=lateness[-1] if lateness else None,
    )
