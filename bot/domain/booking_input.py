"""Booking input: parse what a practitioner types or taps, in their local time, into sessions.

Pure rules. A problem with the input raises ``BookingInputError`` carrying a
machine-readable ``InputProblem`` and string parameters; the words shown to the
practitioner live in the message catalogs, never here.

Two ways in:

- one line, ``/book <client name...> <YYYY-MM-DD> <HH:MM> [minutes]`` and
  ``/reschedule <client name...> <YYYY-MM-DD> <HH:MM>``, read from the right so
  a name may have several words;
- a few taps: ``bookable_days`` and ``free_slots`` build the pickers, and the
  ``*_code`` helpers keep ``callback_data`` short (Telegram allows 64 bytes).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

MIN_MINUTES = 15
MAX_MINUTES = 480
DEFAULT_MINUTES = 60
BOOKABLE_YEARS = 2
"""How far ahead a session can be booked."""

# ASCII digits only (re.ASCII): int() would also read Arabic-Indic or full-width digits.
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_TIME = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)
_MINUTES = re.compile(r"(\d{1,6})\s*(?:m|min)?", re.ASCII | re.IGNORECASE)
_DAY_CODE = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_TIME_CODE = re.compile(r"(\d{2})(\d{2})", re.ASCII)

# Loose shapes, used only to decide which token is meant to be what in a /book line.
_DATE_SHAPED = re.compile(r"\d+[-./]\d+[-./]\d+", re.ASCII)
_TIME_SHAPED = re.compile(r".*:.*|\d{1,2}[.h]\d{2}", re.ASCII | re.IGNORECASE | re.DOTALL)


class InputProblem(enum.StrEnum):
    """What is wrong with booking input; the catalog key of the text that explains it."""

    MISSING_PARTS = "missing_parts"
    """The command lacks a client name, a date or a time."""
    BAD_DATE = "bad_date"
    """Not a date written as YYYY-MM-DD (or a malformed day code)."""
    NO_SUCH_DATE = "no_such_date"
    """Shaped like a date but not on the calendar (2026-02-31, month 13), or out of range."""
    BAD_TIME = "bad_time"
    """Not a 24-hour time written as HH:MM or H:MM (or a malformed time code)."""
    TIME_GAP = "time_gap"
    """The local time is skipped by a daylight-saving change in that zone."""
    IN_PAST = "in_past"
    """The session would start at or before now."""
    TOO_FAR = "too_far"
    """The session would start more than BOOKABLE_YEARS ahead."""
    BAD_DURATION = "bad_duration"
    """Not a whole number of minutes between MIN_MINUTES and MAX_MINUTES."""


class BookingInputError(ValueError):
    """Booking input that cannot be used: a ``problem`` and the ``params`` its text needs.

    ``params`` hold strings only (``value`` is usually the offending token), so a
    handler can pass them straight to the message catalog.
    """

    def __init__(self, problem: InputProblem, **params: str) -> None:
        self.problem = problem
        self.params: dict[str, str] = dict(params)
        detail = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        super().__init__(f"{problem.value}({detail})" if detail else problem.value)


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A parsed ``/book`` line: who (a name to look up), when (local), and how long."""

    client_query: str
    day: date
    at: time
    minutes: int


# --- single values -----------------------------------------------------------------------------


def parse_day(text: str) -> date:
    """Parse ``YYYY-MM-DD`` (month and day may have one digit) into a ``date``.

    Raises ``BAD_DATE`` for another shape and ``NO_SUCH_DATE`` for a day not on the
    calendar, such as 2026-02-31 or 2026-13-01.
    """
    match = _DAY.fullmatch(text.strip())
    if match is None:
        raise BookingInputError(InputProblem.BAD_DATE, value=text)
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise BookingInputError(InputProblem.NO_SUCH_DATE, value=text) from None


def parse_time_of_day(text: str) -> time:
    """Parse a 24-hour ``HH:MM`` or ``H:MM`` into a ``time``; refuse ``24:00`` and ``12:60``."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise BookingInputError(InputProblem.BAD_TIME, value=text)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise BookingInputError(InputProblem.BAD_TIME, value=text)
    return time(hours, minutes)


def parse_minutes(text: str) -> int:
    """Parse a session length: ``90``, ``90m`` or ``90min``, within MIN_MINUTES..MAX_MINUTES."""
    match = _MINUTES.fullmatch(text.strip())
    if match is not None:
        minutes = int(match.group(1))
        if MIN_MINUTES <= minutes <= MAX_MINUTES:
            return minutes
    raise BookingInputError(
        InputProblem.BAD_DURATION, value=text, min=str(MIN_MINUTES), max=str(MAX_MINUTES)
    )


# --- whole commands ----------------------------------------------------------------------------


def _words(args: Sequence[str]) -> list[str]:
    return " ".join(args).split()


def _has_minutes(words: Sequence[str]) -> bool:
    """Whether the last word of a /book line is meant as the length, not as the time.

    Only the shapes count, so a mistyped time or date is still reported as one:
    ``... 2026-11-24 9.30 90`` is a bad time with a length, ``... 2026-11-24 0930``
    a bad time without one.
    """
    if len(words) < 3:
        return False
    last = words[-1]
    if _TIME_SHAPED.fullmatch(last) or _DATE_SHAPED.fullmatch(last):
        return False
    return bool(_DATE_SHAPED.fullmatch(words[-3]) or _TIME_SHAPED.fullmatch(words[-2]))


def _name_day_time(words: Sequence[str]) -> tuple[str, date, time]:
    """Split ``<name...> <date> <time>`` from the right and parse the date and the time."""
    if len(words) < 3 or _DATE_SHAPED.fullmatch(words[-1]):
        # A date as the last word: the time is missing, whatever comes before it.
        raise BookingInputError(InputProblem.MISSING_PARTS)
    day = parse_day(words[-2])
    at = parse_time_of_day(words[-1])
    return " ".join(words[:-2]), day, at


def parse_book_args(args: Sequence[str], default_minutes: int = DEFAULT_MINUTES) -> BookingRequest:
    """Parse the words after ``/book``: ``<client name...> <YYYY-MM-DD> <HH:MM> [minutes]``.

    The line is read from the right, so the name may have several words. A missing
    name, date or time raises ``MISSING_PARTS``; then the date, the time and the
    length are checked in that order (``BAD_DATE``, ``NO_SUCH_DATE``, ``BAD_TIME``,
    ``BAD_DURATION``). Without a length, ``default_minutes`` is used.
    """
    if not MIN_MINUTES <= default_minutes <= MAX_MINUTES:
        raise ValueError(f"default_minutes must be in {MIN_MINUTES}..{MAX_MINUTES}")
    words = _words(args)
    length_word: str | None = None
    if _has_minutes(words):
        length_word = words.pop()
    name, day, at = _name_day_time(words)
    minutes = default_minutes if length_word is None else parse_minutes(length_word)
    return BookingRequest(client_query=name, day=day, at=at, minutes=minutes)


def parse_move_args(args: Sequence[str]) -> tuple[str, date, time]:
    """Parse the words after ``/reschedule``: ``<client name...> <YYYY-MM-DD> <HH:MM>``.

    Same rules as ``parse_book_args``, without a length. Returns the name query,
    the local day and the local time.
    """
    return _name_day_time(_words(args))


# --- time zones --------------------------------------------------------------------------------


def local_to_utc(day: date, at: time, timezone: str) -> datetime:
    """The aware UTC instant of a wall-clock ``day`` and ``at`` in the IANA zone ``timezone``.

    A time skipped by a daylight-saving change raises ``TIME_GAP``; a time that
    happens twice (the autumn change) is the earlier instant. A moment outside the
    range ``datetime`` can hold raises ``NO_SUCH_DATE``. An unknown zone name is a
    configuration error and raises ``zoneinfo.ZoneInfoNotFoundError``.
    """
    zone = ZoneInfo(timezone)
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    try:
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        back = instant.astimezone(zone).replace(tzinfo=None, fold=0)
    except OverflowError:
        raise BookingInputError(InputProblem.NO_SUCH_DATE, value=day.isoformat()) from None
    if back != wall:
        raise BookingInputError(
            InputProblem.TIME_GAP,
            day=day.isoformat(),
            time=f"{at:%H:%M}",
            timezone=timezone,
        )
    return instant


def require_bookable_day(day: date, now: datetime) -> None:
    """Raise ``IN_PAST`` for a day before yesterday and ``TOO_FAR`` for one more than
    :data:`BOOKABLE_YEARS` ahead (a day from a forged button, say): a day whose times
    could not even be computed near the ends of the calendar."""
    today = now.date()
    if day < today - timedelta(days=1):
        raise BookingInputError(InputProblem.IN_PAST, starts_at=day.isoformat())
    if day > today + timedelta(days=366 * BOOKABLE_YEARS):
        raise BookingInputError(InputProblem.TOO_FAR, years=str(BOOKABLE_YEARS))


def require_bookable(starts_at: datetime, now: datetime) -> None:
    """Raise ``IN_PAST`` unless the aware ``starts_at`` is strictly after the aware ``now``,
    and ``TOO_FAR`` when it is more than :data:`BOOKABLE_YEARS` ahead (a typo, or a date
    whose reminders and check-ins would fall off the calendar)."""
    if starts_at <= now:
        raise BookingInputError(InputProblem.IN_PAST, starts_at=starts_at.isoformat())
    if starts_at > now + timedelta(days=366 * BOOKABLE_YEARS):
        raise BookingInputError(InputProblem.TOO_FAR, years=str(BOOKABLE_YEARS))


# --- finding a client by name ------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize_name(name: str) -> str:
    """A name as compared: case-folded, accents removed (NFKD), whitespace collapsed.

    ``"  Noël   CLIENT "`` becomes ``"noel client"``.
    """
    return " ".join(_fold(name).split())


def _name_words(normalized: str) -> set[str]:
    """The words a query word may start: each word, and each part of a hyphenated one."""
    words = set(normalized.split())
    return words | {part for word in words for part in word.split("-") if part}


def match_by_name(query: str, items: Sequence[T], name: Callable[[T], str]) -> list[T]:
    """The items whose ``name`` the practitioner's ``query`` means, in input order.

    If some names equal the query (after ``normalize_name``), exactly those: two
    clients may share a name, and the caller asks which one. Otherwise every item
    whose name has, for each query word, a word starting with it (``"sam"`` finds
    "Sample Client", and so does ``"client sample"``; ``"second"`` finds "Sample-Second").
    An empty query matches nothing.
    """
    wanted = normalize_name(query)
    if not wanted:
        return []
    names = [normalize_name(name(item)) for item in items]
    exact = [item for item, normalized in zip(items, names, strict=True) if normalized == wanted]
    if exact:
        return exact
    query_words = wanted.split()
    matches: list[T] = []
    for item, normalized in zip(items, names, strict=True):
        words = _name_words(normalized)
        if all(any(word.startswith(part) for word in words) for part in query_words):
            matches.append(item)
    return matches


# --- pickers -----------------------------------------------------------------------------------


def bookable_days(today: date, count: int = 14) -> list[date]:
    """``today`` and the ``count - 1`` days after it (fewer at the end of the calendar)."""
    count = min(count, (date.max - today).days + 1)
    return [today + timedelta(days=offset) for offset in range(count)]


def overlaps(
    start: datetime, minutes: int, busy: Sequence[tuple[datetime, datetime]]
) -> tuple[datetime, datetime] | None:
    """The first ``busy`` interval that ``[start, start + minutes)`` overlaps, else ``None``.

    Intervals are half-open: a session may start the moment another ends.
    """
    end = start + timedelta(minutes=minutes)
    for interval in busy:
        busy_start, busy_end = interval
        if start < busy_end and busy_start < end:
            return interval
    return None


def _seconds(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


def free_slots(
    day: date,
    timezone: str,
    *,
    now: datetime,
    busy: Sequence[tuple[datetime, datetime]],
    minutes: int = DEFAULT_MINUTES,
    first: time = time(8, 0),
    last: time = time(20, 0),
    step_minutes: int = 30,
) -> list[time]:
    """Local start times on ``day`` in ``timezone`` still open for a session of ``minutes``.

    Candidates run from ``first`` to ``last`` inclusive, every ``step_minutes``.
    Skipped: times a daylight-saving change removes, starts at or before ``now``,
    and slots ``[start, start + minutes)`` that overlap a ``busy`` (aware, UTC)
    interval. A time that happens twice is taken at its earlier instant.
    """
    if step_minutes <= 0:
        raise ValueError("step_minutes must be positive")
    slots: list[time] = []
    for offset in range(_seconds(first), _seconds(last) + 1, step_minutes * 60):
        hours, rest = divmod(offset, 3600)
        at = time(hours, rest // 60, rest % 60)
        try:
            starts_at = local_to_utc(day, at, timezone)
        except BookingInputError:
            continue
        if starts_at > now and overlaps(starts_at, minutes, busy) is None:
            slots.append(at)
    return slots


# --- callback data -----------------------------------------------------------------------------


def day_code(day: date) -> str:
    """A day as eight digits for ``callback_data``: 2026-11-24 is ``"20261124"``."""
    return f"{day.year:04}{day.month:02}{day.day:02}"


def parse_day_code(code: str) -> date:
    """Read a ``day_code``; anything else raises ``BAD_DATE``."""
    match = _DAY_CODE.fullmatch(code)
    if match is None:
        raise BookingInputError(InputProblem.BAD_DATE, value=code)
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise BookingInputError(InputProblem.BAD_DATE, value=code) from None


def time_code(at: time) -> str:
    """A time to the minute as four digits for ``callback_data``: 09:30 is ``"0930"``."""
    return f"{at.hour:02}{at.minute:02}"


def parse_time_code(code: str) -> time:
    """Read a ``time_code``; anything else raises ``BAD_TIME``."""
    match = _TIME_CODE.fullmatch(code)
    if match is None:
        raise BookingInputError(InputProblem.BAD_TIME, value=code)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise BookingInputError(InputProblem.BAD_TIME, value=code)
    return time(hours, minutes)
