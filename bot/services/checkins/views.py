"""How a check-in looks: the question of each step and its buttons, and what the client
reads back (thanks with a healing-reaction note, a concern passed on, crisis resources).

Every text is a catalog key with JSON parameters, so a question keeps in an outbox row.

The body-area picker keeps its ticks in its own buttons: an area's button carries the
area's index to tick it, or ``TICKED + index`` once ticked (a press then unticks it). A
press reads the ticks from the keyboard of the message it came from, so nothing about an
unfinished picker is stored, and any bot process can take the next press.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain import callbacks
from bot.domain.aftercare import BODY_AREAS, CHANGES, STEP_ORDER, Snooze
from bot.domain.callbacks import CheckInAction
from bot.domain.models import CheckInStep
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.services.policy import CrisisLine

SCORES = range(11)
SCORES_PER_ROW = 6
AREAS_PER_ROW = 2
TICKED = len(BODY_AREAS)
"""An area button's argument is its index to tick it, ``TICKED + index`` to untick it."""
SNOOZES = tuple(Snooze)
"""The snooze choices in button order; a snooze press carries an index into this."""

HEALING_REACTIONS = (
    "tired",
    "sore",
    "emotional",
    "dreams",
    "headache",
    "flare",
    "lightheaded",
    "nausea",
    "tingling",
    "lighter",
)
"""Triage reaction ids (``TriageResult.reactions``) that have a note in ``[aftercare]``."""
MAX_NOTES = 2
"""At most this many healing-reaction notes in one answer: a short message is read."""

Rows = tuple[tuple[Button, ...], ...]
Name = str | dict[str, Any]
"""A person's name as a ``Text`` parameter: plain text, or an embedded catalog text."""


def step_index(step: CheckInStep) -> int:
    """The step's position in the conversation, as carried by its Skip button."""
    return STEP_ORDER.index(step)


def _skip_and_later(checkin_id: int, step: CheckInStep) -> tuple[Button, ...]:
    return (
        Button(
            Text("button.skip"),
            callbacks.checkin(checkin_id, CheckInAction.SKIP, step_index(step)),
        ),
        Button(Text("button.later"), callbacks.checkin(checkin_id, CheckInAction.LATER)),
    )


def score_question(checkin_id: int) -> OutgoingMessage:
    """ "How is your body feeling today?" with 0-10, Skip and Remind me later."""
    scores = [
        Button(
            Text("button.score", {"score": n}),
            callbacks.checkin(checkin_id, CheckInAction.SCORE, n),
        )
        for n in SCORES
    ]
    return OutgoingMessage(
        Text("checkin.score_question"),
        (
            tuple(scores[:SCORES_PER_ROW]),
            tuple(scores[SCORES_PER_ROW:]),
            _skip_and_later(checkin_id, CheckInStep.SCORE),
        ),
    )


def change_question(checkin_id: int) -> OutgoingMessage:
    """ "Compared with before the session?": much better ... much worse, Skip, Later."""
    choices = [
        Button(
            Text(f"checkin.change.{change}"),
            callbacks.checkin(checkin_id, CheckInAction.CHANGE, index),
        )
        for index, change in enumerate(CHANGES)
    ]
    return OutgoingMessage(
        Text("checkin.change_question"),
        (
            tuple(choices[:2]),
            (choices[2],),
            tuple(choices[3:]),
            _skip_and_later(checkin_id, CheckInStep.CHANGE),
        ),
    )


def areas_question(checkin_id: int, ticked: Collection[int] = ()) -> OutgoingMessage:
    """The body-area picker: each area toggles (✓ when ticked), then Done, Skip, Later."""
    areas = [_area_button(checkin_id, index, index in ticked) for index in range(TICKED)]
    rows = tuple(
        tuple(areas[start : start + AREAS_PER_ROW]) for start in range(0, TICKED, AREAS_PER_ROW)
    )
    done = Button(
        Text("checkin.button.done"), callbacks.checkin(checkin_id, CheckInAction.AREAS_DONE)
    )
    return OutgoingMessage(
        Text("checkin.areas_question"),
        (*rows, (done,), _skip_and_later(checkin_id, CheckInStep.AREAS)),
    )


def _area_button(checkin_id: int, index: int, ticked: bool) -> Button:
    name = Text(f"checkin.area.{BODY_AREAS[index]}")
    label = Text("checkin.area_ticked", {"name": embed(name)}) if ticked else name
    argument = TICKED + index if ticked else index
    return Button(label, callbacks.checkin(checkin_id, CheckInAction.AREA, argument))


def text_question(checkin_id: int) -> OutgoingMessage:
    """ "Anything you'd like to share?": the client writes, or taps Skip or Later."""
    return OutgoingMessage(
        Text("checkin.text_question"), (_skip_and_later(checkin_id, CheckInStep.TEXT),)
    )


def question(checkin_id: int, step: CheckInStep, ticked: Collection[int] = ()) -> OutgoingMessage:
    """The question of ``step`` (not ``DONE``, which has none)."""
    match step:
        case CheckInStep.SCORE:
            return score_question(checkin_id)
        case CheckInStep.CHANGE:
            return change_question(checkin_id)
        case CheckInStep.AREAS:
            return areas_question(checkin_id, ticked)
        case CheckInStep.TEXT:
            return text_question(checkin_id)
    raise ValueError(f"step {step} asks nothing")


def later_question(checkin_id: int) -> OutgoingMessage:
    """ "When shall I ask again?": in an hour, this evening, tomorrow."""
    return OutgoingMessage(
        Text("checkin.later_question"),
        (
            tuple(
                Button(
                    Text(f"checkin.snooze.{choice}"),
                    callbacks.checkin(checkin_id, CheckInAction.SNOOZE, index),
                )
                for index, choice in enumerate(SNOOZES)
            ),
        ),
    )


def snoozed(at: datetime, timezone: str) -> OutgoingMessage:
    """The pressed message once snoozed: when the question comes again."""
    return OutgoingMessage(Text("checkin.snoozed", {"when": when(at, timezone)}))


def ticked_areas(checkin_id: int, keyboard: Iterable[str]) -> frozenset[int]:
    """The areas ticked on a picker, read from its buttons' ``callback_data``.

    Buttons of another check-in, other actions and malformed data are ignored.
    """
    ticked = set()
    for data in keyboard:
        press = callbacks.parse_checkin(data)
        if (
            press is not None
            and press.checkin_id == checkin_id
            and press.action is CheckInAction.AREA
            and press.argument is not None
            and TICKED <= press.argument < 2 * TICKED
        ):
            ticked.add(press.argument - TICKED)
    return frozenset(ticked)


def area_toggle(argument: int | None) -> tuple[int, bool] | None:
    """(area index, whether the press ticks it) for an area button's argument; ``None``
    when the argument is not an area's."""
    if argument is None or not 0 <= argument < 2 * TICKED:
        return None
    return argument % TICKED, argument < TICKED


def with_note(note: Text, message: OutgoingMessage) -> OutgoingMessage:
    """``message`` (a question, with its buttons) after a short note above it."""
    return OutgoingMessage(
        Text("checkin.note_then", {"line": embed(note), "text": embed(message.text)}),
        message.buttons,
    )


def healing_notes(reactions: Sequence[str]) -> list[dict[str, Any] | str]:
    """The ``[aftercare]`` notes for what the client mentioned (at most ``MAX_NOTES``;
    feeling better last), or the general one; a blank line between two notes."""
    known = [r for r in dict.fromkeys(reactions) if r in HEALING_REACTIONS]
    known.sort(key=lambda reaction: reaction == "lighter")
    chosen = known[:MAX_NOTES] or ["generic"]
    notes = [embed(Text(f"aftercare.{reaction}")) for reaction in chosen]
    return [part for note in notes for part in ("", note)][1:]


def thanks(reactions: Sequence[str]) -> OutgoingMessage:
    """The end of a calm check-in: thanks, and a note on the healing reactions mentioned."""
    return OutgoingMessage(Text("checkin.thanks", {"lines": healing_notes(reactions)}))


def noted(reactions: Sequence[str]) -> OutgoingMessage:
    """Calm words outside a check-in's questions: thanks, and the matching note."""
    return OutgoingMessage(Text("checkin.noted", {"lines": healing_notes(reactions)}))


def noted_during_question() -> OutgoingMessage:
    """Calm words while a question still waits for its tap."""
    return OutgoingMessage(Text("checkin.noted_open"))


def passed_on(practitioner: Name) -> OutgoingMessage:
    """A concern: thanks, and their practitioner will see it."""
    return OutgoingMessage(Text("checkin.passed_on", {"practitioner": practitioner}))


def passed_on_note(practitioner: Name) -> Text:
    """A short line above the next question after a worrying tap (a high score)."""
    return Text("checkin.passed_on_short", {"practitioner": practitioner})


def crisis(line: CrisisLine, practitioner: Name | None) -> OutgoingMessage:
    """Words of crisis: a calm message with the emergency number and a crisis line of the
    client's country, and (unless ``practitioner`` is ``None``) that they have been alerted."""
    lines = [
        embed(Text("crisis.emergency", {"number": line.emergency}))
        if line.emergency
        else embed(Text("crisis.emergency_local"))
    ]
    if line.helpline and line.number:
        lines.append(embed(Text("crisis.helpline", {"name": line.helpline, "number": line.number})))
    elif line.helpline and line.url:
        lines.append(embed(Text("crisis.helpline_web", {"name": line.helpline, "link": line.url})))
    if practitioner is None:
        return OutgoingMessage(Text("crisis.urgent_alone", {"lines": lines}), urgent=True)
    return OutgoingMessage(
        Text("crisis.urgent", {"lines": lines, "practitioner": practitioner}), urgent=True
    )


def keep_question() -> OutgoingMessage:
    """After several unanswered check-ins: keep getting them?"""
    return OutgoingMessage(
        Text("checkin.keep_question"),
        (
            (
                Button(Text("checkin.button.keep_yes"), callbacks.keep_checkins(True)),
                Button(Text("checkin.button.keep_no"), callbacks.keep_checkins(False)),
            ),
        ),
    )
