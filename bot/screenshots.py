"""``python -m bot.screenshots [FOLDER]`` (``make screenshots``): draws what a practitioner
sees for a sample client, for the README: the trend chart of three sessions, nine
check-ins (one unanswered, one answer passed on as a concern), in English."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CheckIn,
    CheckInState,
    Reply,
    TriageLevel,
)
from bot.domain.trend import Trend, trend
from bot.telegram.charts import chart_words, render_trend

FIRST_SESSION = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
SESSIONS_APART = timedelta(days=14)
CHECKIN_DAYS = (1, 3, 7)
ANSWERS = (
    (7, "worse", TriageLevel.CONCERN),
    (5, "same", TriageLevel.NONE),
    None,  # not answered
    (5, "better", TriageLevel.NONE),
    (4, "better", TriageLevel.NONE),
    (3, "better", TriageLevel.NONE),
    (3, "better", TriageLevel.NONE),
    (2, "much_better", TriageLevel.NONE),
    (2, "better", TriageLevel.NONE),
)
"""Score, comparison and triage level of each check-in, in order."""


def sample_trend() -> Trend:
    """The sample client's trend: three sessions two weeks apart, three check-ins each."""
    starts = [FIRST_SESSION + n * SESSIONS_APART for n in range(3)]
    sessions = [
        Appointment(n + 1, 1, 1, start, 60, AppointmentStatus.COMPLETED)
        for n, start in enumerate(starts)
    ]
    checkins: list[CheckIn] = []
    replies: list[Reply] = []
    for n, (session, day) in enumerate(
        ((s, day) for s in sessions for day in CHECKIN_DAYS), start=1
    ):
        due = session.starts_at + timedelta(days=day)
        answer = ANSWERS[n - 1]
        state = CheckInState.SENT if answer is None else CheckInState.ANSWERED
        checkins.append(CheckIn(n, 1, session.id, day, due, state))
        if answer is not None:
            score, change, level = answer
            replies.append(
                Reply(n, 1, due + timedelta(hours=2), n, score, change, triage_level=level)
            )
    return trend(checkins, replies, sessions)


def main(argv: list[str]) -> int:
    """Write ``trend-chart.png`` into the folder given (default ``docs/images``)."""
    folder = Path(argv[0] if argv else "docs/images")
    folder.mkdir(parents=True, exist_ok=True)
    words = chart_words("Sam Client", "en")
    png = render_trend(sample_trend(), timezone="Europe/Berlin", locale="en", words=words)
    target = folder / "trend-chart.png"
    target.write_bytes(png)
    print(f"wrote {target} ({len(png)} bytes)")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
