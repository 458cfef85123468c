"""A client's session as a calendar file: the buttons under the notices that offer it, the
file read back with icalendar (one event, its UID kept, its SEQUENCE rising with each
move and the cancel, METHOD:CANCEL once cancelled, nothing clinical), and who may have it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from icalendar import Calendar, Event

from bot.domain import callbacks
from bot.domain.callbacks import SessionAction
from bot.domain.models import Appointment, ClientStatus
from bot.domain.outgoing import OutgoingMessage, Text
from bot.services.sessions import calendar_file
from bot.services.sessions.calendar_file import CalendarFile
from messages import render_plain
from tests.unit.services.support import (
    CLIENT,
    FRIDAY_ELEVEN,
    GUEST,
    MONDAY_ELEVEN,
    NOW,
    OTHER_CLIENT,
    Practice,
    add_client,
    book,
    button_data,
    client_press,
    later,
    move_to_monday,
    notices_to,
    outbox_rows,
    payload_data,
    practitioner_press,
    refusals,
    refused,
    session,
    shown,
)

EVENT_PROPERTIES = {
    "UID",
    "SEQUENCE",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "STATUS",
    "TRANSP",
}
"""Everything the event may say: who, when, where, how to change it. Nothing clinical."""


def render(text: Text, locale: str) -> str:
    return render_plain(text.key, locale, **text.params)


async def press(practice: Practice, appointment: Appointment, actor: int = CLIENT) -> CalendarFile:
    return await calendar_file.calendar_file(
        practice.ctx, actor=actor, appointment_id=appointment.id, render=render
    )


def read(found: CalendarFile) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(found.document)
    [event] = calendar.walk("VEVENT")
    assert isinstance(event, Event)
    return calendar, event


def value(component: Any, name: str) -> Any:
    return component.decoded(name)


def labels(rows: list[list[dict[str, Any]]]) -> list[str]:
    return [button["label"] for row in rows for button in row]


async def test_the_booking_notice_offers_the_file_and_it_reads_back_as_the_session(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    [notice] = notices_to(outbox_rows(practice), CLIENT, "session.client_booked")
    assert payload_data(notice)[-1] == callbacks.calendar_file(appointment.id)
    assert labels(notice.payload["buttons"])[-1] == "calendar_file.button_add"

    found = await press(practice, appointment)

    calendar, event = read(found)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(event["UID"]) == f"appointment-{appointment.id}@stillpoint"
    assert value(event, "DTSTART") == FRIDAY_ELEVEN
    assert value(event, "DTSTART").utcoffset() == timedelta(0)
    for line in (
        b"DTSTART:20261204T100000Z",
        b"DTEND:20261204T110000Z",
        b"DTSTAMP:20261201T090000Z",
    ):
        assert line in found.document
    assert value(event, "DTEND") == FRIDAY_ELEVEN + timedelta(minutes=60)
    assert value(event, "DTSTAMP") == NOW
    assert value(event, "SEQUENCE") == 0
    assert str(event["SUMMARY"]) == "Session with Sixth Client"
    assert str(event["LOCATION"]) == "Treatment room 2"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["DESCRIPTION"]) == render_plain("calendar_file.description", "en")
    assert set(event.keys()) <= EVENT_PROPERTIES
    assert b"Sample Client" not in found.document  # not even the client's own name
    assert found.file_name == "stillpoint-session-2026-12-04.ics"
    assert found.caption.key == "calendar_file.caption"
    assert "Sixth Client" in render(found.caption, "en")
    async with practice.uow() as uow:
        [entry] = await uow.audit.recent(1)
    assert (entry.action, entry.subject_id, entry.client_id) == (
        "appointment.calendar_file",
        appointment.id,
        practice.client.id,
    )
    assert entry.detail == {"client_id": practice.client.id, "method": "PUBLISH", "sequence": 0}


async def test_a_move_gives_the_same_uid_at_the_new_time_with_a_higher_sequence(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    _, before = read(await press(practice, appointment))
    later(practice)

    await move_to_monday(practice, appointment)

    [notice] = notices_to(outbox_rows(practice), CLIENT, "session.client_moved")
    assert payload_data(notice)[-1] == callbacks.calendar_file(appointment.id)
    calendar, after = read(await press(practice, appointment))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(after["UID"]) == str(before["UID"])
    assert value(after, "DTSTART") == MONDAY_ELEVEN
    assert value(after, "SEQUENCE") == 1
    assert value(after, "DTSTAMP") > value(before, "DTSTAMP")

    moved = await session(practice.uow, appointment.id)
    later(practice)
    await practitioner_press(practice, moved, SessionAction.MOVE_TO, "202612041100")
    _, back = read(await press(practice, appointment))
    assert (value(back, "DTSTART"), value(back, "SEQUENCE")) == (FRIDAY_ELEVEN, 2)


async def test_confirming_changes_no_version_of_the_event(practice: Practice) -> None:
    appointment = await book(practice)
    await client_press(practice, appointment, SessionAction.CONFIRM)

    _, event = read(await press(practice, appointment))

    assert value(event, "SEQUENCE") == 0


async def test_a_cancel_gives_a_cancelling_file_under_the_notice_and_the_old_buttons(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    await move_to_monday(practice, appointment)
    moved = await session(practice.uow, appointment.id)
    _, before = read(await press(practice, appointment))

    await practitioner_press(practice, moved, SessionAction.PRACTITIONER_CANCEL)

    [notice] = notices_to(outbox_rows(practice), CLIENT, "session.client_cancelled")
    assert payload_data(notice) == [callbacks.calendar_file(appointment.id)]
    assert labels(notice.payload["buttons"]) == ["calendar_file.button_remove"]
    found = await press(practice, appointment)  # the same data as under the booking notice
    calendar, event = read(found)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == str(before["UID"])
    assert value(event, "SEQUENCE") == 2 > value(before, "SEQUENCE")
    assert value(event, "DTSTART") == MONDAY_ELEVEN
    assert set(event.keys()) <= EVENT_PROPERTIES
    assert found.caption.key == "calendar_file.caption_cancelled"
    assert shown(OutgoingMessage(found.caption))


async def test_the_clients_own_cancel_offers_to_remove_it(practice: Practice) -> None:
    appointment = await book(practice)

    answer = await client_press(practice, appointment, SessionAction.CANCEL)

    assert answer.text.key == "session.cancelled"
    assert button_data(answer) == [callbacks.calendar_file(appointment.id)]
    assert [b.label.key for row in answer.buttons for b in row] == ["calendar_file.button_remove"]
    calendar, event = read(await press(practice, appointment))
    assert (str(calendar["METHOD"]), value(event, "SEQUENCE")) == ("CANCEL", 1)


async def test_the_file_speaks_the_clients_language_and_leaves_out_an_unknown_place(
    practice: Practice,
) -> None:
    async with practice.uow() as uow:
        await uow.practitioners.update(dataclasses.replace(practice.practitioner, location=None))
        await uow.clients.update(
            dataclasses.replace(practice.client, locale="de", timezone="America/New_York")
        )
        await uow.commit()
    appointment = await book(practice)

    found = await press(practice, appointment)

    _, event = read(found)
    assert str(event["SUMMARY"]) == "Sitzung bei Sixth Client"
    assert "LOCATION" not in event
    assert value(event, "DTSTART") == FRIDAY_ELEVEN  # UTC, whatever the reader's zone
    assert found.file_name == "stillpoint-session-2026-12-04.ics"


async def test_another_clients_press_is_refused_and_audited(practice: Practice) -> None:
    appointment = await book(practice)
    await add_client(practice.uow, practice.practitioner, "Other Client", OTHER_CLIENT)

    for actor in (OTHER_CLIENT, GUEST):
        answer = await refused(press(practice, appointment, actor))
        assert answer.key == "access.not_found"

    found = await refusals(practice.uow)
    assert [(e.actor_telegram_id, e.detail["action"]) for e in found] == [
        (GUEST, "appointment.calendar_file"),
        (OTHER_CLIENT, "appointment.calendar_file"),
    ]
    assert {e.subject_id for e in found} == {appointment.id}
    async with practice.uow() as uow:
        actions = [e.action for e in await uow.audit.recent()]
    assert "appointment.calendar_file" not in actions


async def test_a_stopped_client_gets_what_the_sessions_other_buttons_give(
    practice: Practice,
) -> None:
    appointment = await book(practice)
    async with practice.uow() as uow:
        await uow.clients.update(dataclasses.replace(practice.client, status=ClientStatus.STOPPED))
        await uow.commit()

    answer = await refused(press(practice, appointment))
    other = await refused(client_press(practice, appointment, SessionAction.CONFIRM))

    assert answer == other == Text("session.client_not_active")
