from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.delivery_rules import RetryPolicy, place, quiet_end_after
from bot.domain.models import OutboxKind, OutboxMessage, OutboxState
from bot.domain.timing import QuietHours

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours.parse("21:00-08:00")


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def row(
    due_at: datetime, kind: OutboxKind = OutboxKind.CHECKIN, deadline: datetime | None = None
) -> OutboxMessage:
    return OutboxMessage(
        id=1,
        chat_id=9000,
        kind=kind,
        template="stop.done",
        payload={},
        due_at=due_at.astimezone(UTC),
        dedup_key="m",
        state=OutboxState.PENDING,
        expires_at=deadline,
    )


def placed(
    local: datetime,
    *,
    kind: OutboxKind = OutboxKind.CHECKIN,
    deadline: datetime | None = None,
    timezone: str = "Europe/Berlin",
) -> tuple[datetime, bool]:
    """When the row goes, and whether silently."""
    result = place(row(local, kind, deadline), timezone=timezone, quiet=NIGHT)
    return result.due_at, result.silent


def test_daytime_messages_go_as_planned() -> None:
    assert placed(berlin(2026, 5, 4, 10, 0)) == (berlin(2026, 5, 4, 10, 0), False)


def test_a_late_evening_message_waits_for_the_morning() -> None:
    assert placed(berlin(2026, 5, 4, 23, 15)) == (berlin(2026, 5, 5, 8, 0), False)


def test_an_early_morning_message_waits_for_eight() -> None:
    assert placed(berlin(2026, 5, 4, 3, 0)) == (berlin(2026, 5, 4, 8, 0), False)


def test_the_quiet_end_itself_is_not_quiet() -> None:
    assert placed(berlin(2026, 5, 4, 8, 0)) == (berlin(2026, 5, 4, 8, 0), False)


def test_a_reminder_that_would_be_too_late_goes_silently_on_time() -> None:
    session = berlin(2026, 5, 5, 7, 30)
    planned = berlin(2026, 5, 5, 5, 30)
    assert placed(planned, kind=OutboxKind.REMINDER, deadline=session.astimezone(UTC)) == (
        planned,
        True,
    )


def test_alerts_are_never_delayed() -> None:
    assert placed(berlin(2026, 5, 4, 3, 0), kind=OutboxKind.FLAG_ALERT) == (
        berlin(2026, 5, 4, 3, 0),
        False,
    )


def test_the_recipients_zone_decides() -> None:
    # 22:00 in Berlin is 13:00 in Honolulu: daytime there.
    planned = berlin(2026, 5, 4, 22, 0)
    assert placed(planned, timezone="Pacific/Honolulu") == (planned, False)


def test_spring_forward_night_ends_at_eight_summer_time() -> None:
    # Clocks jump from 02:00 to 03:00 on 29 March 2026 in Berlin.
    due_at, _ = placed(berlin(2026, 3, 28, 22, 0))
    assert due_at.astimezone(BERLIN) == berlin(2026, 3, 29, 8, 0)
    assert due_at == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_fall_back_night_ends_at_eight_winter_time() -> None:
    # Clocks go from 03:00 back to 02:00 on 25 October 2026 in Berlin.
    due_at, _ = placed(berlin(2026, 10, 24, 22, 0))
    assert due_at == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_a_quiet_end_inside_the_gap_moves_to_the_change() -> None:
    end = quiet_end_after(berlin(2026, 3, 29, 1, 0), time(2, 30), BERLIN)
    assert end == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 summer time


def test_a_repeated_quiet_end_is_its_first_occurrence() -> None:
    end = quiet_end_after(berlin(2026, 10, 25, 1, 0), time(2, 30), BERLIN)
    assert end == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


ZONES = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
)
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
WALL_TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(INSTANTS, ZONES, WALL_TIMES, WALL_TIMES)
def test_a_moved_message_lands_at_the_quiet_end_never_earlier(
    due: datetime, zone: str, start: time, end: time
) -> None:
    if start == end:
        return
    quiet = QuietHours(start, end)
    result = place(row(due), timezone=zone, quiet=quiet)
    assert not result.silent
    assert result.due_at >= due
    assert result.due_at - due <= timedelta(days=1, hours=1)
    local = result.due_at.astimezone(ZoneInfo(zone))
    if result.due_at != due:
        assert not quiet.contains(local.time()) or local.time() >= end


@given(INSTANTS, ZONES)
def test_a_deadline_never_makes_a_message_late(due: datetime, zone: str) -> None:
    deadline = due + timedelta(hours=1)
    result = place(row(due, OutboxKind.REMINDER, deadline), timezone=zone, quiet=NIGHT)
    assert result.due_at < deadline


def test_retries_wait_longer_each_time_then_stop() -> None:
    policy = RetryPolicy(
        max_attempts=5, first_wait=timedelta(seconds=2), longest_wait=timedelta(seconds=10)
    )
    waits = [policy.wait_after(n) for n in range(1, 6)]
    assert waits == [timedelta(seconds=s) for s in (2, 4, 8, 10)] + [None]


@pytest.mark.parametrize("attempts", [0, 1])
def test_the_first_retry_waits_the_first_wait(attempts: int) -> None:
    assert RetryPolicy().wait_after(attempts) == timedelta(seconds=2)
