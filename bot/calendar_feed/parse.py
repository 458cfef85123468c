"""Read the appointments of an iCalendar feed: the timed, busy, not cancelled occurrences
that start in a window from now.

What is read
------------
- Every ``VEVENT`` of the ``VCALENDAR`` (or of each, if there are several), a repeating
  one expanded (``RRULE``, ``RDATE``, ``EXDATE``, and occurrences changed or moved by
  ``RECURRENCE-ID``) by ``recurring-ical-events``: one :class:`CalendarEvent` for each
  occurrence, identified as ``bot/domain/calendar_events.py`` says.
- An occurrence is included when it *starts* in ``[now, now + days_ahead days)``; one
  already under way at ``now`` is not, so whoever compares the result with stored
  sessions should compare only sessions that start at or after ``now``.
- Left out: all-day events (``DATE`` values), free time (``TRANSP:TRANSPARENT``) and
  anything cancelled (``STATUS:CANCELLED``, on a whole event or on one occurrence of a
  series), and any event the file gets too wrong to read (no start, a start or
  ``RECURRENCE-ID`` that is not a time, a repeating rule that cannot be read).
- Times with a zone (a ``TZID`` the system knows or the file defines in a
  ``VTIMEZONE``, or UTC) keep their wall time across daylight saving changes. Google
  writes times in UTC and names the calendar's zone in ``X-WR-TIMEZONE``; such a
  calendar is first put into standard form by the ``x-wr-timezone`` package, so a weekly
  10:00 stays at 10:00 local time after the clocks change. Floating times (no zone) are
  read in the ``X-WR-TIMEZONE`` zone if there is one, else in ``default_timezone``.
- An event with no ``DTEND`` lasts its ``DURATION``, or 60 minutes without either.
- Titles, descriptions and places are the text as written (escapes undone), without
  surrounding white space.

How, quickly
------------
``icalendar`` reads about 20 µs a property line, a 2,000-event calendar in a third of a
second, and most of a calendar is history. So the text is read first
(``ics_text.py``): an event that does not repeat and does not start in the window (by
its date, with two days to spare for zones) is dropped, and in every other event only
the properties read here are kept. A plain appointment (one that does not repeat and
changes no occurrence of a series) in the window is then read straight from its lines,
its times and durations by ``icalendar``'s own value types; the rest (the calendar's
properties and time zones, and every series with its changed occurrences) is parsed by
``icalendar`` and expanded by ``recurring-ical-events`` (``expand.py``). Both ways give
the same events; ``tests/unit/calendar_feed`` holds them to that.

Errors
------
Bytes that are not an iCalendar (empty, a web page, anything without a ``VCALENDAR``)
raise :class:`CalendarFormatError` with a short reason for the practitioner. The
libraries' own errors never escape, and no error repeats the calendar's content, which
may name clients.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar

from bot.calendar_feed import ics_text
from bot.calendar_feed.expand import (
    DEFAULT_LENGTH,
    ExpansionError,
    is_wanted,
    occurrences,
    stand_in_uid,
    standard_form,
    to_utc,
)
from bot.domain.calendar_events import CalendarEvent

_TEXT_SLACK = timedelta(days=2)
# icalendar's readers of one value, as its parser calls them (they carry no types).
_read_time: Callable[..., object] = icalendar.vDDDTypes.from_ical
_read_duration: Callable[[str], object] = icalendar.vDuration.from_ical


class CalendarFormatError(ValueError):
    """The bytes are not an iCalendar that can be read; ``reason`` says why, in a few
    words for the practitioner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_calendar(
    data: bytes,
    *,
    now: datetime,
    days_ahead: int = 60,
    default_timezone: str = "UTC",
) -> list[CalendarEvent]:
    """The occurrences in ``data`` that start in ``[now, now + days_ahead days)``, sorted
    by start (then uid and recurrence id); each ``(uid, recurrence_id)`` appears once.

    ``now`` must be aware. ``default_timezone`` is an IANA zone name for floating times
    (an unknown name raises ``ZoneInfoNotFoundError``: it is configuration, not data).
    Raises :class:`CalendarFormatError` when ``data`` is not an iCalendar.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    default_zone = ZoneInfo(default_timezone)
    window_start = now.astimezone(UTC)
    window_end = window_start + timedelta(days=days_ahead)
    unfolded = ics_text.unfold(_decode(data))
    blocks = ics_text.event_blocks(unfolded)

    first_day = (window_start - _TEXT_SLACK).strftime("%Y%m%d")
    last_day = (window_end + _TEXT_SLACK).strftime("%Y%m%d")
    uids = Counter(block.uid for block in blocks)
    versions = Counter(block.uid for block in blocks if not block.changes_occurrence)
    one_calendar = ics_text.calendar_count(unfolded) == 1
    wanted: list[bool] = []
    plain: list[bool] = []
    for block in blocks:
        # Versions of one event (the same UID, no RECURRENCE-ID) are the library's to
        # choose between (by SEQUENCE), wherever they are.
        versioned = block.uid is not None and versions[block.uid] > 1
        wanted.append(versioned or block.may_start_between(first_day, last_day))
        plain.append(
            wanted[-1]
            and one_calendar
            and (block.uid is None or uids[block.uid] == 1)
            and block.plain
        )
    series = [block for block, w, p in zip(blocks, wanted, plain, strict=True) if w and not p]
    calendars = _series_calendars(unfolded, blocks, wanted, plain, series, lean=one_calendar)

    found: list[CalendarEvent] = []
    floating_zone: tzinfo = default_zone
    for calendar in calendars:
        standard, floating_zone = standard_form(calendar, default_zone)
        try:
            found.extend(occurrences(standard, window_start, window_end, floating_zone))
        except ExpansionError:
            raise CalendarFormatError("the calendar's repeating events cannot be read") from None
    for block, is_plain in zip(blocks, plain, strict=True):
        if is_plain:
            event = _plain_event(block, floating_zone)
            if event is not None and window_start <= event.starts_at < window_end:
                found.append(event)
    unique: dict[tuple[str, str], CalendarEvent] = {}
    for event in found:
        unique.setdefault(event.key, event)
    return sorted(unique.values(), key=lambda e: (e.starts_at, e.uid, e.recurrence_id))


def _decode(data: bytes) -> str:
    if not data.strip():
        raise CalendarFormatError("the calendar address returned nothing")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older exports in a Windows code page; the structure is ASCII either way.
        text = data.decode("cp1252", errors="replace")
    head = text.lstrip()[:200].lower()
    if head.startswith("<"):
        if "<html" in head or "<!doctype" in head:
            raise CalendarFormatError("the address shows a web page, not a calendar")
        raise CalendarFormatError("the address returns a document, not a calendar")
    if ics_text.calendar_count(text) == 0:
        raise CalendarFormatError("the address does not return a calendar (no VCALENDAR)")
    return text


def _series_calendars(
    unfolded: str,
    blocks: list[ics_text.EventBlock],
    wanted: list[bool],
    plain: list[bool],
    series: list[ics_text.EventBlock],
    *,
    lean: bool,
) -> list[icalendar.Calendar]:
    """The text parsed by icalendar without the plain appointments and what is not
    wanted; ``lean``, the words of each series event are left out of the text and set on
    the parsed event from its lines (a third fewer lines for icalendar to read). Should
    the parsed events not match the blocks one for one, the text is parsed whole."""

    def text(*, words: bool) -> str:
        return ics_text.replace_events(
            unfolded,
            blocks,
            lambda i: blocks[i].to_text(words=words) if wanted[i] and not plain[i] else "",
        )

    if lean and all(block.readable for block in series):
        calendars = _read_calendars(text(words=False))
        events = calendars[0].walk("VEVENT") if len(calendars) == 1 else []
        if len(events) == len(series) and all(
            str(event.get("UID")) == block.uid or (block.uid is None and "UID" not in event)
            for event, block in zip(events, series, strict=True)
        ):
            for event, block in zip(events, series, strict=True):
                for name in ics_text.WORDS:
                    prop = block.first(name)
                    if prop is not None:
                        event[name] = icalendar.vText(prop.text)
            return calendars
    return _read_calendars(text(words=True))


def _read_calendars(text: str) -> list[icalendar.Calendar]:
    try:
        components = icalendar.Calendar.from_ical(text, multiple=True)
    except ValueError:
        raise CalendarFormatError("the calendar file is damaged and cannot be read") from None
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if not calendars:
        raise CalendarFormatError("the address does not return a complete calendar")
    return calendars


def _plain_event(block: ics_text.EventBlock, floating_zone: tzinfo) -> CalendarEvent | None:
    """A plain appointment read from its lines, as the icalendar way would read it (an
    unreadable start drops it; an unreadable end or duration gives the default length);
    ``None`` if it is all day, free or cancelled."""
    start = _time(block.first("DTSTART"))
    if not isinstance(start, datetime):
        return None
    if not is_wanted(_word(block, "STATUS"), _word(block, "TRANSP")):
        return None
    end = _time(block.first("DTEND"))
    if not isinstance(end, datetime):
        end = start + (_duration(block.first("DURATION")) or DEFAULT_LENGTH)
    starts_at, ends_at = sorted((to_utc(start, floating_zone), to_utc(end, floating_zone)))
    title = _text(block, "SUMMARY")
    return CalendarEvent(
        uid=block.uid or stand_in_uid(start, title),
        recurrence_id="",
        starts_at=starts_at,
        ends_at=ends_at,
        title=title,
        description=_text(block, "DESCRIPTION"),
        location=_text(block, "LOCATION"),
        repeating=False,
    )


def _time(prop: ics_text.Property | None) -> date | None:
    if prop is None:
        return None
    if _VALUE_DATE.search(prop.params):
        return None  # all day, whatever else is written
    try:
        value = _read_time(prop.value.strip(), timezone=prop.tzid or None)
    except ValueError:
        return None
    return value if isinstance(value, date) else None


_VALUE_DATE = re.compile(r";VALUE=DATE(?:;|$)", re.IGNORECASE)


def _duration(prop: ics_text.Property | None) -> timedelta | None:
    if prop is None:
        return None
    try:
        value = _read_duration(prop.value.strip())
    except ValueError:
        return None
    return value if isinstance(value, timedelta) else None


def _word(block: ics_text.EventBlock, name: str) -> str:
    prop = block.first(name)
    return prop.text.strip().upper() if prop else ""


def _text(block: ics_text.EventBlock, name: str) -> str:
    prop = block.first(name)
    return prop.text.strip() if prop else ""
