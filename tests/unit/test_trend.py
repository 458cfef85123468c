"""A client's trend: the points a chart plots come from their check-ins and answers."""

from datetime import UTC, datetime, timedelta

from bot.domain.models import AppointmentStatus, CheckIn, CheckInState, Reply, TriageLevel
from bot.domain.trend import TrendPoint, trend
from tests.integration import records

SESSION = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _checkin(checkin_id: int, day: int, state: CheckInState = CheckInState.ANSWERED) -> CheckIn:
    return records.checkin(1, 1, id=checkin_id, day=day, due_at=SESSION + day * DAY, state=state)


def _reply(reply_id: int, checkin_id: int | None, day: int, **answers: object) -> Reply:
    """One reply on ``day`` after the session: only the ``answers`` given."""
    values: dict[str, object] = {"score": None, "comparison": None, "text": None}
    return records.reply(
        1,
        id=reply_id,
        checkin_id=checkin_id,
        received_at=SESSION + day * DAY,
        **(values | answers),
    )


def test_each_asked_check_in_is_a_point_with_its_latest_answers_and_worst_level() -> None:
    checkins = [
        _checkin(1, 1),
        _checkin(2, 3, CheckInState.SENT),  # asked, never answered: a gap
        _checkin(3, 7),
        _checkin(4, 14, CheckInState.SCHEDULED),  # not asked yet: no point
        _checkin(5, 21, CheckInState.SKIPPED),  # never reached the client: no point
    ]
    replies = [
        _reply(1, 1, 1, score=6),
        _reply(2, 1, 1, comparison="worse"),
        _reply(3, 1, 1, text="my neck is worse", triage_level=TriageLevel.CONCERN),
        _reply(4, 3, 7, score=5),
        _reply(5, 3, 7, score=2),
        _reply(6, None, 8, text="thanks"),
    ]
    cancelled = records.appointment(
        1, 1, starts_at=SESSION + 20 * DAY, status=AppointmentStatus.CANCELLED
    )
    sessions = [records.appointment(1, 1, starts_at=SESSION), cancelled]

    result = trend(checkins, replies, sessions)

    assert result.points == (
        TrendPoint(SESSION + DAY, 1, 6, "worse", TriageLevel.CONCERN),
        TrendPoint(SESSION + 3 * DAY, 3, None, None, TriageLevel.NONE),
        TrendPoint(SESSION + 7 * DAY, 7, 2, None, TriageLevel.NONE),
    )
    assert result.sessions == (SESSION,)
    assert [p.answered for p in result.points] == [True, False, True]
    assert result.drawable


def test_fewer_than_two_scores_are_said_in_words_only() -> None:
    replies = [_reply(1, 1, 1, score=4)]
    result = trend([_checkin(1, 1), _checkin(2, 3)], replies, [])
    assert [p.score for p in result.scored] == [4]
    assert not result.drawable


def test_the_caption_counts_from_the_last_session_with_scores_after_it() -> None:
    second = SESSION + 10 * DAY
    checkins = [_checkin(1, 1), _checkin(2, 3), _checkin(3, 11), _checkin(4, 12)]
    replies = [
        _reply(n, n, day, score=score)
        for n, day, score in ((1, 1, 6), (2, 3, 4), (3, 11, 5), (4, 12, 3))
    ]
    sessions = [
        records.appointment(1, 1, starts_at=SESSION),
        records.appointment(1, 1, starts_at=second),
        records.appointment(1, 1, starts_at=second + 30 * DAY),  # ahead: nothing after it
    ]

    since, points = trend(checkins, replies, sessions).since_last_session()

    assert since == second
    assert [p.score for p in points] == [5, 3]
