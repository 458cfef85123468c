"""Every message key the code can build exists in every catalog.

Keys written whole are found by the handlers' and services' own tests; a key built with
an f-string (``f"status.{appointment.status}"``) is only as good as the values that go
into it. Each such template in the source is listed here with every value it can take,
and a template the list does not know fails the test, so a new one cannot slip by.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import messages
from bot.domain.aftercare import BODY_AREAS, CHANGES, Snooze
from bot.domain.booking_input import InputProblem
from bot.domain.calendar_reads import CalendarProblem
from bot.domain.invites import InviteStatus
from bot.domain.models import AppointmentStatus, ClientStatus, TriageLevel
from bot.domain.roles import COMMANDS, Role
from bot.services.checkins.views import HEALING_REACTIONS

ROOT = Path(__file__).resolve().parents[2]
OPEN_SESSIONS = {
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
}


def _values(items: Iterable[object]) -> list[str]:
    return sorted(str(item) for item in items)


BUILT_KEYS: dict[str, list[str]] = {
    "booking_input.{}": _values(InputProblem),
    "checkin.change.{}": _values(CHANGES),
    "checkin.area.{}": _values(BODY_AREAS),
    "checkin.snooze.{}": _values(Snooze),
    "aftercare.{}": _values(HEALING_REACTIONS),
    "invite.revoke_{}": _values(set(InviteStatus) - {InviteStatus.USABLE, InviteStatus.UNKNOWN}),
    "invite.link_{}": _values(set(InviteStatus) - {InviteStatus.USABLE}),
    "checkins.{}": ["paused", "resumed"],
    "checkins.already_{}": ["paused", "resumed"],
    # A press on a session that is no longer open says what became of it.
    "session.now_{}": _values(set(AppointmentStatus) - OPEN_SESSIONS),
    "booking.client_{}": _values(set(ClientStatus) - {ClientStatus.ACTIVE}),
    "flag.level_{}": _values(TriageLevel),
    "flag.change_{}": _values(CHANGES),
    "flag.area_{}": _values(BODY_AREAS),
    "status.{}": _values(AppointmentStatus),
    "client_status.{}": _values(ClientStatus),
    # The events callers name: announce / tell_client, and _tell_practitioner.
    "session.client_{}": ["booked", "cancelled", "moved"],
    "session.practitioner_{}": ["cancelled", "confirmed", "reschedule_asked"],
    "next.{}": ["confirmed", "open"],
    "commands.{}": _values({name for names in COMMANDS.values() for name in names}),
    "start.{}": _values(Role),
    "help.{}": _values(Role),
    "calendar.problem_{}": _values(CalendarProblem),
    # Why a calendar event was not followed (bot/services/sessions/calendar_sync.py).
    "calendar.{}": ["not_booked", "not_moved"],
}


# Where a catalog key is given: the first argument of these calls (the third of reply).
KEY_ARGUMENT = {"Text": 0, "render": 0, "render_plain": 0, "reply": 2}


def _templates(path: Path) -> Iterator[str]:
    """Each f-string given as a catalog key in ``path``, with ``{}`` for its values."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            position = KEY_ARGUMENT.get(name or "")
            if position is not None and len(node.args) > position:
                yield from _fstrings(node.args[position])
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "key" for target in node.targets
        ):
            yield from _fstrings(node.value)


def _fstrings(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.IfExp):
        yield from _fstrings(node.body)
        yield from _fstrings(node.orelse)
    elif isinstance(node, ast.JoinedStr):
        yield "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
        )


def test_every_key_template_in_the_code_is_listed_here() -> None:
    found = {
        template
        for folder in ("bot", "handlers")
        for path in (ROOT / folder).rglob("*.py")
        for template in _templates(path)
    }
    assert found == set(BUILT_KEYS)


@pytest.mark.parametrize("locale", messages.available_locales())
@pytest.mark.parametrize("template", sorted(BUILT_KEYS))
def test_every_key_a_template_can_build_exists(template: str, locale: str) -> None:
    catalog = messages.catalog(locale)
    missing = [
        key
        for key in (template.format(value) for value in BUILT_KEYS[template])
        if key not in catalog and f"{key}.other" not in catalog
    ]
    assert missing == []
