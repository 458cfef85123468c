"""How a client's discomfort moves across check-ins and sessions: the one source of what a
practitioner's chart plots and what its caption says. Pure: records in, points out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CheckIn,
    CheckInState,
    Reply,
    TriageLevel,
)
from bot.domain.triage import level_rank

_ASKED = frozenset({CheckInState.SENT, CheckInState.ANSWERED})
"""Check-ins whose question reached the client: answered ones are points, the others
gaps. A skipped one (expired, undeliverable, or for a paused client) was never asked."""


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One check-in the client was asked: when, and what they answered (``None``: not)."""

    at: datetime
    day: int
    score: int | None
    change: str | None
    """Compared with before the session (``bot.domain.aftercare.CHANGES``)."""
    level: TriageLevel
    """The most serious triage level among the check-in's answers."""

    @property
    def flagged(self) -> bool:
        """Whether an answer was passed on as a concern or urgent."""
        return self.level is not TriageLevel.NONE

    @property
    def answered(self) -> bool:
        """Whether the client gave a score or a comparison."""
        return self.score is not None or self.change is not None


@dataclass(frozen=True, slots=True)
class Trend:
    """A client's check-ins in time order, and the sessions they follow."""

    points: tuple[TrendPoint, ...]
    sessions: tuple[datetime, ...]

    @property
    def scored(self) -> tuple[TrendPoint, ...]:
        """The points with a discomfort score."""
        return tuple(p for p in self.points if p.score is not None)

    @property
    def drawable(self) -> bool:
        """Whether a chart says more than words: two scores or more."""
        return len(self.scored) >= 2

    def since_last_session(self) -> tuple[datetime | None, tuple[TrendPoint, ...]]:
        """The latest session that has scored check-ins after it, and those check-ins."""
        for session in reversed(self.sessions):
            after = tuple(p for p in self.scored if p.at >= session)
            if after:
                return session, after
        return None, self.scored


def trend(
    checkins: Sequence[CheckIn], replies: Sequence[Reply], sessions: Sequence[Appointment]
) -> Trend:
    """The client's trend from their check-ins, their replies (every version) and their
    sessions; cancelled sessions and check-ins never asked are left out."""
    by_checkin: dict[int, list[Reply]] = {}
    for reply in sorted(replies, key=lambda r: (r.received_at, r.id)):
        if reply.checkin_id is not None:
            by_checkin.setdefault(reply.checkin_id, []).append(reply)
    points = tuple(
        _point(checkin, by_checkin.get(checkin.id, []))
        for checkin in sorted(checkins, key=lambda c: (c.due_at, c.id))
        if checkin.state in _ASKED
    )
    held = sorted(s.starts_at for s in sessions if s.status is not AppointmentStatus.CANCELLED)
    return Trend(points, tuple(held))


def latest_answers(replies: Sequence[Reply]) -> tuple[int | None, str | None]:
    """The latest score and comparison among one check-in's ``replies`` (oldest first)."""
    score = next((r.score for r in reversed(replies) if r.score is not None), None)
    change = next((r.comparison for r in reversed(replies) if r.comparison is not None), None)
    return score, change


@dataclass(frozen=True, slots=True)
class Answers:
    """What a client answered to one check-in (or wrote in one message), the latest of
    each kind, and the most serious level among them."""

    score: int | None
    change: str | None
    areas: tuple[str, ...]
    words: str | None
    level: TriageLevel
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, replies: Sequence[Reply]) -> Answers:
        """The answers in ``replies`` (oldest first: one per step or edit)."""
        score, change = latest_answers(replies)
        areas = next((r.body_areas for r in reversed(replies) if r.body_areas), ())
        words = next((r.text for r in reversed(replies) if r.text and r.text.strip()), None)
        worst = max(replies, key=lambda r: level_rank(r.triage_level), default=None)
        if worst is None:
            return cls(score, change, areas, words, TriageLevel.NONE, ())
        return cls(score, change, areas, words, worst.triage_level, worst.triage_reasons)


def _point(checkin: CheckIn, replies: Sequence[Reply]) -> TrendPoint:
    """A check-in's point: its latest score and comparison, and its worst level."""
    answers = Answers.of(replies)
    return TrendPoint(checkin.due_at, checkin.day, answers.score, answers.change, answers.level)
