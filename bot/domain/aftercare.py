"""Aftercare rules: when check-ins are due, the steps of one, snoozing, and silence.

Pure: times come in as arguments, zones by name.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.models import CheckIn, CheckInState, CheckInStep

BODY_AREAS = (
    "head_jaw",
    "neck",
    "shoulders_arms",
    "chest",
    "upper_back",
    "lower_back_pelvis",
    "belly",
    "hips_legs",
    "whole_body",
    "emotions",
)
"""The body-area picker, in display order; labels live in ``messages``."""

CHANGES = ("much_better", "better", "same", "worse", "much_worse")
"""Answers to "compared with before the session?", best first."""

STEP_ORDER = (
    CheckInStep.SCORE,
    CheckInStep.CHANGE,
    CheckInStep.AREAS,
    CheckInStep.TEXT,
    CheckInStep.DONE,
)

UNANSWERED_BEFORE_ASKING = 3
"""Check-ins in a row with no answer before the client is asked whether to go on."""

EVENING = time(19, 0)


class Snooze(enum.StrEnum):
    """ "Remind me later" choices."""

    HOUR = "1h"
    EVENING = "evening"
    TOMORROW = "tomorrow"


def next_step(step: CheckInStep) -> CheckInStep:
    """The step after ``step`` (``DONE`` stays ``DONE``)."""
    index = STEP_ORDER.index(step)
    return STEP_ORDER[min(index + 1, len(STEP_ORDER) - 1)]


def local_moment(day: date, at: time, timezone: str) -> datetime:
    """``at`` on ``day`` in ``timezone``, in UTC. A time skipped by a clock change comes
    out as the same distance past the change (02:30 on a spring-forward night: 03:30)."""
    local = datetime.combine(day, at, ZoneInfo(timezone))
    return local.astimezone(UTC)


def checkin_times(
    session_end: datetime, days: Sequence[int], at: time, timezone: str
) -> list[tuple[int, datetime]]:
    """(day, due time in UTC) for each check-in day after a session that ended at
    ``session_end``: day N is N calendar days later in the client's zone, at ``at``."""
    ended_on = session_end.astimezone(ZoneInfo(timezone)).date()
    return [(day, local_moment(ended_on + timedelta(days=day), at, timezone)) for day in days]


def snooze_until(choice: Snooze, now: datetime, timezone: str, checkin_at: time) -> datetime:
    """When a snoozed check-in comes back: in an hour, this evening (or in an hour if the
    evening is near or gone), or tomorrow at the check-in time."""
    if choice is Snooze.HOUR:
        return now + timedelta(hours=1)
    today = now.astimezone(ZoneInfo(timezone)).date()
    if choice is Snooze.EVENING:
        evening = local_moment(today, EVENING, timezone)
        return evening if evening - now >= timedelta(hours=1) else now + timedelta(hours=1)
    return local_moment(today + timedelta(days=1), checkin_at, timezone)


def unanswered_streak(checkins: Sequence[CheckIn]) -> int:
    """How many of the latest sent check-ins (newest first) went without any answer."""
    streak = 0
    for checkin in checkins:
        if checkin.state is CheckInState.SCHEDULED or checkin.state is CheckInState.CANCELLED:
            continue
        if checkin.answered_at is not None or checkin.state is CheckInState.ANSWERED:
            break
        streak += 1
    return streak
