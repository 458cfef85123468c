"""iCalendar at the level of its text: content lines, and each ``VEVENT`` as a block of
them, read without building any ``icalendar`` objects.

``icalendar`` spends about 20 µs on each property line, and a calendar exported from
Google holds every past appointment with its attendees and alarms. ``parse.py`` uses
these blocks to hand ``icalendar`` only what can matter for the window, in the form it
would read anyway.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# Once unfolded, every line ends in "\n" (a "\r" before it is dropped, as a line's end
# was read before). Each pattern below begins with that "\n" rather than "^": the
# engine then jumps from one line end to the next instead of trying every character,
# ten times faster on a calendar of a megabyte.
# Folding is a line break followed by one space or tab (RFC 5545, 3.1).
_FOLD = re.compile(r"\n[ \t]")
_EVENT_EDGE = re.compile(r"\n(BEGIN|END):VEVENT[ \t]*(?=\n|\Z)", re.IGNORECASE)
_CALENDAR = re.compile(r"\n[ \t]*BEGIN:VCALENDAR[ \t]*\r?(?=\n|\Z)", re.IGNORECASE)
# name, parameters (quoted values may hold ":" and ";"), value.
_CONTENT_LINE = re.compile(
    r'([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)*):(.*)',
    re.DOTALL,
)
_TZID = re.compile(r';TZID=(?:"([^"]*)"|([^;:]*))', re.IGNORECASE)
_ESCAPED = re.compile(r"\\([\\,;:nN])")
# A component inside an event (an alarm): its lines are not the event's.
_NESTED_BEGIN = re.compile(r"\nBEGIN:", re.IGNORECASE)
_NESTED = re.compile(
    r"\nBEGIN:([A-Za-z0-9-]+)[ \t]*\n.*?\nEND:\1[ \t]*(?=\n)", re.IGNORECASE | re.DOTALL
)
_UID_LINE = re.compile(r"\nUID(?:;[^:\r\n]*)?:([^\n]*)", re.IGNORECASE)
_REPEATS_LINE = re.compile(r"\n(?:RRULE|RDATE)[;:]", re.IGNORECASE)
_DATED_LINE = re.compile(r"\n(DTSTART|RECURRENCE-ID)((?:;[^:\r\n]*)?):([^\n]*)", re.IGNORECASE)
_RECURRENCE_ID_LINE = re.compile(r"\nRECURRENCE-ID[;:]", re.IGNORECASE)
_RDATE_LINE = re.compile(r"\nRDATE[;:]", re.IGNORECASE)
_RRULE_LINE = re.compile(r"\nRRULE(?:;[^:\r\n]*)?:([^\n]*)", re.IGNORECASE)
_UNTIL = re.compile(r"UNTIL=(\d{8})", re.IGNORECASE)

# The properties anything here is read for; everything else in an event is dropped.
READ_PROPERTIES = frozenset(
    {
        "UID",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "RECURRENCE-ID",
        "SEQUENCE",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
        "STATUS",
        "TRANSP",
    }
)
# What an event says in words, and whether it blocks time: read from the lines of any
# event, so icalendar need not parse them (``parse.py``).
WORDS = frozenset({"SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "TRANSP"})
_REPEATING = frozenset({"RRULE", "RDATE", "RECURRENCE-ID", "EXDATE"})
_ONCE = ("UID", "DTSTART", "DTEND", "DURATION")


@dataclass(frozen=True, slots=True)
class Property:
    """One content line: its raw parameters (``";TZID=Europe/Berlin"`` or ``""``) and
    its raw value."""

    params: str
    value: str

    @property
    def tzid(self) -> str | None:
        """The ``TZID`` parameter, if any."""
        found = _TZID.search(self.params)
        if found is None:
            return None
        return (found.group(1) if found.group(1) is not None else found.group(2)).strip()

    @property
    def text(self) -> str:
        """The value with backslash escapes undone, as ``icalendar`` reads it."""
        return _unescape(self.value)


class EventBlock:
    """One ``VEVENT`` as text, without the components inside it (alarms): what it says
    about its identity and date is read with a few searches, its lines only when asked
    for. ``body`` is its lines, each after a "\\n" and the last followed by one;
    ``start`` and ``end`` where the whole event, ``BEGIN`` to ``END``, is in the text."""

    def __init__(self, body: str, start: int, end: int) -> None:
        self.body = body
        self.start = start
        self.end = end

    @functools.cached_property
    def uid(self) -> str | None:
        """The ``UID`` as ``icalendar`` reads it, if the event has exactly one."""
        found = _UID_LINE.findall(self.body)
        return _unescape(found[0]) if len(found) == 1 else None

    @functools.cached_property
    def repeats(self) -> bool:
        """Whether it has a rule or dates of its own to repeat on."""
        return _REPEATS_LINE.search(self.body) is not None

    def may_start_between(self, first_day: str, last_day: str) -> bool:
        """False only if no occurrence of the event can start between the days
        ``first_day`` and ``last_day`` (``YYYYMMDD``, inclusive), by the dates written:

        - one that does not repeat: its ``DTSTART`` and ``RECURRENCE-ID`` fall outside,
          and it is no change reaching later occurrences (``RANGE=THISANDFUTURE``);
        - a series with rules only (no ``RDATE``, not itself a change): it starts after
          the last day, or every rule ends (``UNTIL``) before the first.
        """
        dated = _DATED_LINE.findall(self.body)
        if not dated or any("RANGE=" in params.upper() for _, params, _ in dated):
            return True
        days = [value.strip()[:8] for _, _, value in dated]
        if not all(day.isdigit() for day in days):
            return True
        if not self.repeats:
            return any(first_day <= day <= last_day for day in days)
        if _RDATE_LINE.search(self.body) or any(name.upper() != "DTSTART" for name, _, _ in dated):
            return True
        if min(days) > last_day:
            return False
        untils = [_UNTIL.search(rule) for rule in _RRULE_LINE.findall(self.body)]
        return not all(until is not None and until.group(1) < first_day for until in untils)

    @functools.cached_property
    def lines(self) -> tuple[str, ...]:
        """The content lines that are read, in their order."""
        return tuple(line for line in self.body.split("\n") if _name(line) in READ_PROPERTIES)

    @functools.cached_property
    def properties(self) -> Mapping[str, tuple[Property, ...]]:
        """The lines that are read and could be split into a name, parameters and a
        value, by name (upper case)."""
        found: dict[str, list[Property]] = {}
        for line in self.lines:
            match = _CONTENT_LINE.fullmatch(line.rstrip("\r"))
            if match is not None:
                found.setdefault(match.group(1).upper(), []).append(
                    Property(match.group(2), match.group(3))
                )
        return {name: tuple(props) for name, props in found.items()}

    @property
    def readable(self) -> bool:
        """Whether every line that is read could be split."""
        return sum(len(props) for props in self.properties.values()) == len(self.lines)

    def first(self, name: str) -> Property | None:
        """The first ``name`` property, if any."""
        found = self.properties.get(name)
        return found[0] if found else None

    @property
    def plain(self) -> bool:
        """Whether the event is one appointment that can be read from these lines alone:
        every line readable, no repetition or change of one, each of ``UID``,
        ``DTSTART``, ``DTEND`` and ``DURATION`` at most once, and a ``DTSTART``."""
        properties = self.properties
        return (
            not self.repeats
            and "DTSTART" in properties
            and not any(name in properties for name in _REPEATING)
            and all(len(properties.get(name, ())) <= 1 for name in _ONCE)
            and self.readable
        )

    @functools.cached_property
    def changes_occurrence(self) -> bool:
        """Whether it changes one occurrence of a series (has a ``RECURRENCE-ID``)."""
        return _RECURRENCE_ID_LINE.search(self.body) is not None

    def to_text(self, *, words: bool = True) -> str:
        """The block as iCalendar text, with only the lines that are read; without
        ``words``, also without the ``WORDS`` properties."""
        lines = self.lines if words else [line for line in self.lines if _name(line) not in WORDS]
        return "BEGIN:VEVENT\n" + "\n".join(lines) + "\nEND:VEVENT"


def unfold(text: str) -> str:
    """The text with folded content lines joined again, every line ending in "\\n"."""
    return _FOLD.sub("", text.replace("\r\n", "\n"))


def calendar_count(text: str) -> int:
    """How many ``VCALENDAR`` objects the text begins."""
    return len(_CALENDAR.findall("\n" + text))


def event_blocks(unfolded: str) -> list[EventBlock]:
    """Every ``VEVENT`` of the unfolded text, in order: from a ``BEGIN`` line to the
    first ``END`` line after it."""
    blocks: list[EventBlock] = []
    began: re.Match[str] | None = None
    # With "\n" before it, an event on the first line is found like any other.
    for edge in _EVENT_EDGE.finditer("\n" + unfolded):
        if edge.group(1).upper() == "BEGIN":
            began = began or edge
        elif began is not None:
            body = unfolded[began.end() - 1 : edge.start()]
            if _NESTED_BEGIN.search(body):
                body = _NESTED.sub("", body)
            blocks.append(EventBlock(body, began.start(), edge.end() - 1))
            began = None
    return blocks


def replace_events(
    unfolded: str, blocks: Sequence[EventBlock], replacement: Callable[[int], str]
) -> str:
    """The unfolded text with the event of ``blocks[i]`` replaced by ``replacement(i)``
    (``""`` leaves it out); ``blocks`` are the text's ``event_blocks``."""
    parts: list[str] = []
    at = 0
    for i, block in enumerate(blocks):
        parts += (unfolded[at : block.start], replacement(i))
        at = block.end
    parts.append(unfolded[at:])
    return "".join(parts)


def _name(line: str) -> str:
    return line.split(":", 1)[0].split(";", 1)[0].strip().upper()


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)
