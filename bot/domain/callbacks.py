"""The ``callback_data`` of every button, built and parsed in one place.

Telegram allows 64 bytes and a modified client can send anything, so the data
holds only ids (verified against the caller on every press) and, for a session,
its start in minutes since the epoch: a press on a button made before the session
moved no longer matches and is refused as stale.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime


class SessionAction(enum.StrEnum):
    """What a button on a session does. Client actions first, then the practitioner's."""

    CONFIRM = "ok"
    ASK_RESCHEDULE = "rs"
    ASK_CANCEL = "cx"
    CANCEL = "cxy"
    KEEP = "keep"
    MOVE = "mv"  # practitioner: pick a new day
    MOVE_DAY = "md"  # practitioner: a day was picked; pick a time
    MOVE_TO = "mt"  # practitioner: day and time picked
    PRACTITIONER_ASK_CANCEL = "pcx"
    PRACTITIONER_CANCEL = "pcxy"
    SHOW = "show"  # practitioner: the session's card with its buttons
    NO_SHOW = "ns"  # practitioner: the client did not come; no check-ins


CLIENT_ACTIONS = frozenset(
    {
        SessionAction.CONFIRM,
        SessionAction.ASK_RESCHEDULE,
        SessionAction.ASK_CANCEL,
        SessionAction.CANCEL,
        SessionAction.KEEP,
    }
)


@dataclass(frozen=True, slots=True)
class SessionPress:
    """A press on a session's button."""

    appointment_id: int
    version: int
    action: SessionAction
    argument: str = ""  # a day code, or a day and time code, for the move picker


_SESSION = re.compile(r"^ap:([0-9]{1,18}):([0-9]{1,12}):([a-z]+)(?::([0-9]{8}|[0-9]{12}))?$")
SESSION_PATTERN = _SESSION.pattern

_BOOK = re.compile(r"^bk:([0-9]{1,18})(?::([0-9]{8})(?::([0-9]{4})(?::([0-9]{1,3}))?)?)?$")
BOOK_PATTERN = _BOOK.pattern

CONSENT_PATTERN = r"^cs:[yn]:[A-Za-z0-9_-]{16,56}$"
INVITE_REVOKE_PATTERN = r"^iv:([0-9]{1,18}):rv$"


def session_version(starts_at: datetime) -> int:
    """The session's start in whole minutes since the epoch."""
    return int(starts_at.timestamp()) // 60


def session(
    appointment_id: int, starts_at: datetime, action: SessionAction, argument: str = ""
) -> str:
    """Data for a button acting on one session as it stands now."""
    tail = f":{argument}" if argument else ""
    return f"ap:{appointment_id}:{session_version(starts_at)}:{action}{tail}"


def parse_session(data: str) -> SessionPress | None:
    """The press, or ``None`` when the data is not a well-formed session button."""
    match = _SESSION.match(data)
    if match is None:
        return None
    try:
        action = SessionAction(match.group(3))
    except ValueError:
        return None
    return SessionPress(int(match.group(1)), int(match.group(2)), action, match.group(4) or "")


@dataclass(frozen=True, slots=True)
class BookPress:
    """A step of the guided booking: client picked, then a day, then a time."""

    client_id: int
    day_code: str = ""
    time_code: str = ""
    minutes: int | None = None


def book(
    client_id: int, day_code: str = "", time_code: str = "", minutes: int | None = None
) -> str:
    """Data for the next step of the guided booking."""
    parts = [f"bk:{client_id}"]
    if day_code:
        parts.append(day_code)
        if time_code:
            parts.append(time_code)
            if minutes is not None:
                parts.append(str(minutes))
    return ":".join(parts)


def parse_book(data: str) -> BookPress | None:
    """The booking step, or ``None`` when malformed."""
    match = _BOOK.match(data)
    if match is None:
        return None
    minutes = match.group(4)
    return BookPress(
        int(match.group(1)),
        match.group(2) or "",
        match.group(3) or "",
        int(minutes) if minutes else None,
    )


def consent(agree: bool, token: str) -> str:
    """Data for Agree / No thanks under the consent message."""
    return f"cs:{'y' if agree else 'n'}:{token}"


def parse_consent(data: str) -> tuple[bool, str] | None:
    """(agreed, token), or ``None`` when malformed."""
    if not re.match(CONSENT_PATTERN, data):
        return None
    return data[3] == "y", data[5:]


LIST_PAGE_PATTERN = r"^pg:([cut]):([0-9]{1,4})$"


class ListName(enum.StrEnum):
    """The practitioner's lists that come in pages."""

    CLIENTS = "c"
    TODAY = "t"
    UPCOMING = "u"


def list_page(name: ListName, page: int) -> str:
    """Data for the buttons that turn a list's pages (the first page is 0)."""
    return f"pg:{name}:{page}"


def parse_list_page(data: str) -> tuple[ListName, int] | None:
    """(which list, page), or ``None`` when malformed."""
    match = re.match(LIST_PAGE_PATTERN, data)
    return (ListName(match.group(1)), int(match.group(2))) if match else None


class CardAction(enum.StrEnum):
    """What a button on a client card (or naming a client) does."""

    SHOW = "s"  # the card as a new message, under a list or the digest that named them
    BACK = "b"  # the card again, in place of History
    CHART = "c"
    HISTORY = "h"
    EXPORT = "e"


_CARD = re.compile(r"^cl:([0-9]{1,18}):([a-z])$")
CARD_PATTERN = _CARD.pattern


def card(client_id: int, action: CardAction = CardAction.SHOW) -> str:
    """Data for a button opening client ``client_id``'s card, or acting on it."""
    return f"cl:{client_id}:{action}"


def parse_card(data: str) -> tuple[int, CardAction] | None:
    """(client id, action), or ``None`` when malformed."""
    match = _CARD.match(data)
    if match is None:
        return None
    try:
        return int(match.group(1)), CardAction(match.group(2))
    except ValueError:
        return None


def revoke_invite(invite_id: int) -> str:
    """Data for the Revoke button under an invite."""
    return f"iv:{invite_id}:rv"


def parse_revoke_invite(data: str) -> int | None:
    """The invite id, or ``None`` when malformed."""
    match = re.match(INVITE_REVOKE_PATTERN, data)
    return int(match.group(1)) if match else None


class CheckInAction(enum.StrEnum):
    """What a button under a check-in does."""

    SCORE = "s"  # argument: 0-10
    CHANGE = "c"  # argument: index into aftercare.CHANGES
    AREA = "a"  # argument: index into aftercare.BODY_AREAS; toggles it
    AREAS_DONE = "ad"
    SKIP = "k"  # skip the current step
    LATER = "z"  # show the snooze choices
    SNOOZE = "zz"  # argument: index into aftercare.Snooze


@dataclass(frozen=True, slots=True)
class CheckInPress:
    """A press on a check-in's button."""

    checkin_id: int
    action: CheckInAction
    argument: int | None = None


_CHECKIN = re.compile(r"^ci:([0-9]{1,18}):([a-z]{1,2})(?::([0-9]{1,2}))?$")
CHECKIN_PATTERN = _CHECKIN.pattern


def checkin(checkin_id: int, action: CheckInAction, argument: int | None = None) -> str:
    """Data for a button under check-in ``checkin_id``."""
    tail = "" if argument is None else f":{argument}"
    return f"ci:{checkin_id}:{action}{tail}"


def parse_checkin(data: str) -> CheckInPress | None:
    """The press, or ``None`` when malformed."""
    match = _CHECKIN.match(data)
    if match is None:
        return None
    try:
        action = CheckInAction(match.group(2))
    except ValueError:
        return None
    argument = match.group(3)
    return CheckInPress(int(match.group(1)), action, int(argument) if argument else None)


KEEP_CHECKINS_PATTERN = r"^kc:[yn]$"


def keep_checkins(keep: bool) -> str:
    """Data for the answer to "keep getting check-ins?"."""
    return f"kc:{'y' if keep else 'n'}"


class FlagAction(enum.StrEnum):
    """What a button under a flag alert does."""

    ACKNOWLEDGE = "ack"
    REPLY = "reply"
    HISTORY = "hist"


_FLAG = re.compile(r"^fl:([0-9]{1,18}):(ack|reply|hist)$")
FLAG_PATTERN = _FLAG.pattern


def flag(flag_id: int, action: FlagAction) -> str:
    """Data for a button under flag ``flag_id``."""
    return f"fl:{flag_id}:{action}"


def parse_flag(data: str) -> tuple[int, FlagAction] | None:
    """(flag id, action), or ``None`` when malformed."""
    match = _FLAG.match(data)
    return (int(match.group(1)), FlagAction(match.group(2))) if match else None


_DIGEST = re.compile(r"^st:digest:([yn])$")
DIGEST_PATTERN = _DIGEST.pattern


def digest(on: bool) -> str:
    """Data for the settings button that turns the daily digest on (or off)."""
    return f"st:digest:{'y' if on else 'n'}"


def parse_digest(data: str) -> bool | None:
    """Whether the press turns the digest on, or ``None`` when malformed."""
    match = _DIGEST.match(data)
    return match.group(1) == "y" if match else None


_CALENDAR_FILE = re.compile(r"^ics:([0-9]{1,18})$")
CALENDAR_FILE_PATTERN = _CALENDAR_FILE.pattern


def calendar_file(appointment_id: int) -> str:
    """Data for "Add to my calendar" / "Remove from my calendar" under a session's notice:
    the file is made for the session as it stands when pressed, so no version is needed."""
    return f"ics:{appointment_id}"


def parse_calendar_file(data: str) -> int | None:
    """The session's id, or ``None`` when malformed."""
    match = _CALENDAR_FILE.match(data)
    return int(match.group(1)) if match else None


CALENDAR_ANSWER_PATTERN = r"^cal:([0-9]{1,18}):([0-9]{1,18})$"


def calendar_answer(entry_id: int, client_id: int | None) -> str:
    """Data for the answer to "which client is this calendar event for?" (``None``: not
    a client's session)."""
    return f"cal:{entry_id}:{client_id or 0}"


def parse_calendar_answer(data: str) -> tuple[int, int | None] | None:
    """(entry id, client id or ``None``), or ``None`` when malformed."""
    match = re.match(CALENDAR_ANSWER_PATTERN, data)
    if match is None:
        return None
    client_id = int(match.group(2))
    return int(match.group(1)), client_id or None


CALENDAR_DISCONNECT = "cal:off"
