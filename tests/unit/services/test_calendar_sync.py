"""Sessions follow the practitioner's calendar (on the fakes, with a scripted calendar):
connect, book what names a client, ask about the rest, move and cancel with the calendar,
never touch Stillpoint's own sessions, never bring back a cancelled one, and change
nothing while the calendar cannot be read."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.domain import callbacks
from bot.domain.calendar_reads import CalendarProblem
from bot.domain.models import AppointmentStatus, CalendarEntryState, OutboxKind, OutboxState
from bot.domain.outgoing import Text
from bot.domain.text_params import embed
from bot.services.access import Refused
from bot.services.privacy import client_copy
from bot.services.sessions import calendar_subscriptions as calendars
from bot.services.sessions.calendar_sync import NEW_EVENTS_A_TURN, REFUSALS_SHOWN
from bot.services.sessions.reminders import SESSIONS_A_NOTICE
from tests.unit.scripted_calendar import ScriptedCalendar, event
from tests.unit.services.support import (
    CLIENT,
    FRIDAY_ELEVEN,
    MONDAY_ELEVEN,
    NOW,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    add_client,
    add_session,
    notices_to,
    outbox_rows,
)

URL = "https://calendar.example/calendar/ical/secret-token-1234/basic.ics"


async def sessions(practice: Practice) -> list[tuple[datetime, AppointmentStatus]]:
    return [
        (a.starts_at, a.status)
        for a in await practice.db.appointments.for_client(practice.client.id)
    ]


async def poll(practice: Practice, source: ScriptedCalendar, *, after: timedelta) -> None:
    practice.clock.current += after
    await calendars.poll_due(practice.ctx, source)


async def failing_calendar(practice: Practice, title: str) -> ScriptedCalendar:
    """A calendar of one event, connected, then read once and failing."""
    source = ScriptedCalendar()
    source.events = [event(title, FRIDAY_ELEVEN)]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    source.problem = CalendarProblem.TIMEOUT
    await poll(practice, source, after=timedelta(hours=1))
    return source


def calendar_notices(practice: Practice) -> dict[str, OutboxState]:
    """The state of each calendar message, by its text."""
    rows = outbox_rows(practice)
    return {r.template: r.state for r in rows if r.template.startswith("calendar.")}


async def test_connecting_books_what_names_a_client_and_asks_about_the_rest(
    practice: Practice,
) -> None:
    source = ScriptedCalendar()
    source.events = [event("CST Sample Client", FRIDAY_ELEVEN), event("Team lunch", MONDAY_ELEVEN)]

    answer = await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    assert answer.text.key == "calendar.connected"
    assert (answer.text.params["count"], answer.text.params["sessions"]) == (2, 1)
    assert answer.text.params["address"] == "https://calendar.example/…1234"
    assert answer.text.params["removed"] == ""  # the message with the address is still there
    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.BOOKED)]
    reminders = [r for r in outbox_rows(practice) if r.kind is OutboxKind.REMINDER]
    assert reminders  # the same reminders as /book
    [question] = [r for r in outbox_rows(practice) if r.template == "calendar.which_client"]
    assert question.chat_id == PRACTITIONER
    [[client_button], [none_button]] = question.payload["buttons"]
    [entry] = [
        e for e in await practice.db.calendars.entries(1) if e.state is CalendarEntryState.ASKED
    ]
    assert client_button["data"] == callbacks.calendar_answer(entry.id, practice.client.id)
    assert none_button["data"] == callbacks.calendar_answer(entry.id, None)
    subscription = await practice.db.calendars.subscription_of(practice.practitioner.id)
    assert subscription is not None
    assert subscription.url == URL

    shown = await calendars.show(practice.ctx, actor=PRACTITIONER)
    assert shown.text.params["address"] == "https://calendar.example/…1234"
    assert URL not in str(shown.text.params)


async def test_the_calendar_moves_and_cancels_only_the_sessions_it_booked(
    practice: Practice,
) -> None:
    own = await add_session(practice.uow, practice.client, MONDAY_ELEVEN + timedelta(days=7))
    source = ScriptedCalendar()
    source.events = [event("Sample Client", FRIDAY_ELEVEN)]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    source.events = [event("Sample Client", FRIDAY_ELEVEN + timedelta(hours=3))]
    await poll(practice, source, after=timedelta(minutes=5))
    assert await sessions(practice) == [
        (FRIDAY_ELEVEN + timedelta(hours=3), AppointmentStatus.BOOKED),
        (own.starts_at, AppointmentStatus.BOOKED),
    ]

    source.events = []
    await poll(practice, source, after=timedelta(minutes=5))
    assert await sessions(practice) == [
        (FRIDAY_ELEVEN + timedelta(hours=3), AppointmentStatus.CANCELLED),
        (own.starts_at, AppointmentStatus.BOOKED),  # booked in Stillpoint: never touched
    ]
    [cancelled] = [e for e in practice.db.audit.entries if e.action == "appointment.cancelled"]
    assert cancelled.detail["by"] == "calendar"


async def test_an_answer_is_remembered_for_the_event_and_its_repeats(practice: Practice) -> None:
    source = ScriptedCalendar()
    weekly = [
        event(
            "Craniosacral",
            FRIDAY_ELEVEN + timedelta(days=7 * n),
            uid="weekly",
            recurrence_id=str(n),
        )
        for n in range(2)
    ]
    source.events = weekly[:1]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    [asked] = await practice.db.calendars.entries(1)

    with pytest.raises(Refused):  # someone else's calendar
        await calendars.answer(
            practice.ctx, actor=OTHER_PRACTITIONER, entry_id=asked.id, client_id=practice.client.id
        )
    done = await calendars.answer(
        practice.ctx, actor=PRACTITIONER, entry_id=asked.id, client_id=practice.client.id
    )
    assert done.text.key == "calendar.answered_client"
    again = await calendars.answer(
        practice.ctx, actor=PRACTITIONER, entry_id=asked.id, client_id=None
    )
    assert again.text.key == "calendar.already_answered"

    source.events = weekly
    await poll(practice, source, after=timedelta(minutes=5))
    assert [s for s, _ in await sessions(practice)] == [e.starts_at for e in weekly]
    assert len([r for r in outbox_rows(practice) if r.template == "calendar.which_client"]) == 1


async def test_an_answer_books_the_dates_that_fit_and_lists_those_that_clash(
    practice: Practice,
) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    week = timedelta(days=7)
    await add_session(practice.uow, other, FRIDAY_ELEVEN + week + timedelta(minutes=30))
    source = ScriptedCalendar()
    source.events = [
        event("Craniosacral", FRIDAY_ELEVEN + n * week, uid="weekly", recurrence_id=str(n))
        for n in range(3)
    ]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    first = (await practice.db.calendars.entries(1))[0]

    done = await calendars.answer(
        practice.ctx, actor=PRACTITIONER, entry_id=first.id, client_id=practice.client.id
    )

    params = done.text.params
    assert params["booked"] == embed(Text("calendar.answered_booked", {"count": 2}))
    assert params["not_booked"]["params"]["count"] == 1
    [line] = params["not_booked"]["params"]["events"]
    assert line["params"]["reason"]["$text"] == "calendar.clash"
    assert line["params"]["reason"]["params"]["client"] == "Maren Holt"
    assert [s for s, _ in await sessions(practice)] == [FRIDAY_ELEVEN, FRIDAY_ELEVEN + 2 * week]
    states = [(e.state, e.client_id) for e in await practice.db.calendars.entries(1)]
    assert states == [
        (CalendarEntryState.BOOKED, practice.client.id),
        (CalendarEntryState.NOT_BOOKED, practice.client.id),  # tried again if it moves
        (CalendarEntryState.BOOKED, practice.client.id),
    ]
    source.events[1] = event(
        "Craniosacral", FRIDAY_ELEVEN + week + timedelta(hours=3), uid="weekly", recurrence_id="1"
    )
    await poll(practice, source, after=timedelta(minutes=5))  # moved off the clash
    assert len(await sessions(practice)) == 3


async def test_an_answer_about_an_event_that_does_not_repeat_promises_no_repeats(
    practice: Practice,
) -> None:
    source = ScriptedCalendar()
    source.events = [event("Team lunch", FRIDAY_ELEVEN, uid="lunch")]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    [asked] = await practice.db.calendars.entries(1)
    done = await calendars.answer(
        practice.ctx, actor=PRACTITIONER, entry_id=asked.id, client_id=practice.client.id
    )
    assert (done.text.params["repeats"], done.text.params["not_booked"]) == ("", "")
    assert done.text.params["booked"] == embed(Text("calendar.answered_booked", {"count": 1}))


async def test_a_move_onto_another_session_is_not_made_and_the_practitioner_told_why(
    practice: Practice,
) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    await add_session(practice.uow, other, MONDAY_ELEVEN)
    source = ScriptedCalendar()
    source.events = [event("Sample Client", FRIDAY_ELEVEN, uid="cst")]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    source.events = [event("Sample Client", MONDAY_ELEVEN + timedelta(minutes=30), uid="cst")]

    await poll(practice, source, after=timedelta(minutes=5))

    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.BOOKED)]
    [told] = notices_to(outbox_rows(practice), PRACTITIONER, "calendar.not_moved")
    params = told.payload["params"]
    assert params["was"]["$datetime"] == FRIDAY_ELEVEN.isoformat()
    assert params["reason"]["$text"] == "calendar.clash"


async def test_disconnecting_withdraws_the_questions_and_news_not_yet_sent(
    practice: Practice,
) -> None:
    await failing_calendar(practice, "Team lunch")
    pending = {r.template for r in outbox_rows(practice) if r.state is OutboxState.PENDING}
    assert {"calendar.which_client", "calendar.failing"} <= pending

    await calendars.disconnect(practice.ctx, actor=PRACTITIONER)

    assert calendar_notices(practice) == {
        "calendar.which_client": OutboxState.CANCELLED,
        "calendar.failing": OutboxState.CANCELLED,
    }


async def test_not_a_client_session_is_never_asked_again(practice: Practice) -> None:
    source = ScriptedCalendar()
    source.events = [event("Yoga class", FRIDAY_ELEVEN, uid="yoga")]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    [asked] = await practice.db.calendars.entries(1)
    await calendars.answer(practice.ctx, actor=PRACTITIONER, entry_id=asked.id, client_id=None)
    source.events = [
        event("Yoga class", FRIDAY_ELEVEN, uid="yoga"),
        event("Yoga class", MONDAY_ELEVEN, uid="yoga", recurrence_id="2"),
    ]
    await poll(practice, source, after=timedelta(minutes=5))
    assert await sessions(practice) == []
    assert len([r for r in outbox_rows(practice) if r.template == "calendar.which_client"]) == 1
    states = {e.state for e in await practice.db.calendars.entries(1)}
    assert states == {CalendarEntryState.NOT_A_SESSION}


async def test_a_session_cancelled_here_is_not_brought_back_and_told_once(
    practice: Practice,
) -> None:
    source = ScriptedCalendar()
    source.events = [event("Sample Client", FRIDAY_ELEVEN)]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    async with practice.uow() as uow:  # the client cancels in Stillpoint
        [appointment] = await uow.appointments.for_client(practice.client.id)
        await uow.appointments.update(
            dataclasses.replace(appointment, status=AppointmentStatus.CANCELLED)
        )
        await uow.commit()
    for minutes in (5, 10):  # the calendar changes twice, still showing the event
        source.events = [*source.events, event(f"Note {minutes}", MONDAY_ELEVEN, uid=f"n{minutes}")]
        await poll(practice, source, after=timedelta(minutes=5))
    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.CANCELLED)]
    told = [r for r in outbox_rows(practice) if r.template == "calendar.cancelled_here"]
    assert len(told) == 1


async def test_a_failure_not_yet_told_when_the_calendar_works_again_is_never_told(
    practice: Practice,
) -> None:
    source = await failing_calendar(practice, "Sample Client")  # told, but held (quiet hours)
    source.problem = None
    await poll(practice, source, after=timedelta(hours=1))
    assert calendar_notices(practice) == {"calendar.failing": OutboxState.CANCELLED}
    subscription = await practice.db.calendars.subscription_of(practice.practitioner.id)
    assert subscription is not None
    assert (subscription.failures, subscription.failing_told) == (0, False)


async def test_a_calendar_that_cannot_be_read_changes_nothing_and_is_told_once(
    practice: Practice,
) -> None:
    source = ScriptedCalendar()
    source.events = [event("Sample Client", FRIDAY_ELEVEN)]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    source.problem = CalendarProblem.TIMEOUT
    for _ in range(3):
        await poll(practice, source, after=timedelta(hours=1))
    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.BOOKED)]
    subscription = await practice.db.calendars.subscription_of(practice.practitioner.id)
    assert subscription is not None
    assert subscription.failures == 3
    assert subscription.next_poll_at is not None
    assert subscription.next_poll_at - practice.clock.current == timedelta(minutes=40)  # backoff
    assert [r.template for r in outbox_rows(practice) if r.template.startswith("calendar.")] == [
        "calendar.failing"
    ]
    async with practice.uow() as uow:  # the news of it goes out
        for row in await uow.outbox.claim_due(practice.clock.now(), 100):
            await uow.outbox.mark_sent(
                row.id, sent_at=practice.clock.now(), telegram_message_id=row.id, lateness_ms=0
            )
        await uow.commit()
    source.problem = None
    await poll(practice, source, after=timedelta(hours=1))
    assert outbox_rows(practice)[-1].template == "calendar.working_again"
    reads = source.reads
    await poll(practice, source, after=timedelta(minutes=5))  # unchanged: one read, nothing new
    assert source.reads == reads + 1
    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.BOOKED)]


async def test_an_address_that_cannot_be_read_is_not_kept(practice: Practice) -> None:
    source = ScriptedCalendar()
    source.problem = CalendarProblem.NOT_A_CALENDAR
    removed: list[bool] = []

    async def remove_message() -> bool:
        removed.append(True)
        return True

    answer = await calendars.connect(
        practice.ctx, source, actor=PRACTITIONER, url=URL, remove_message=remove_message
    )
    assert removed == [True]
    assert answer.text.key == "calendar.connect_failed"
    assert answer.text.params["removed"] == embed(Text("calendar.address_removed_retry"))
    assert await practice.db.calendars.subscription_of(practice.practitioner.id) is None
    assert (await calendars.show(practice.ctx, actor=PRACTITIONER)).text.key == "calendar.usage"


async def test_clients_and_strangers_have_no_calendar(practice: Practice) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Other Person", telegram_id=8_100_000_077
    )
    source = ScriptedCalendar()
    for actor in (other.telegram_user_id or 0, 8_100_000_999):
        with pytest.raises(Refused) as refused:
            await calendars.show(practice.ctx, actor=actor)
        assert refused.value.answer.key == "access.practitioners_only"

        async def remove_message() -> bool:
            raise AssertionError("only a practitioner's message is taken out")

        with pytest.raises(Refused):
            await calendars.connect(
                practice.ctx, source, actor=actor, url=URL, remove_message=remove_message
            )
    assert source.reads == 0


async def test_questions_beyond_five_a_read_are_asked_on_the_next_reads(
    practice: Practice,
) -> None:
    source = ScriptedCalendar()
    source.events = [event(f"Meeting {n}", FRIDAY_ELEVEN + timedelta(hours=n)) for n in range(7)]
    answer = await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    assert answer.text.params["asked"]["params"]["count"] == 5
    assert answer.text.params["more"] == embed(Text("calendar.asked_more", {"count": 2}))

    def asked() -> list[str]:
        return [
            r.payload["params"]["title"]
            for r in outbox_rows(practice)
            if r.template == "calendar.which_client"
        ]

    assert asked() == [f"Meeting {n}" for n in range(5)]  # the soonest first
    subscription = await practice.db.calendars.subscription_of(practice.practitioner.id)
    assert subscription is not None
    assert subscription.etag is not None  # the next read is conditional, questions or not
    await poll(practice, source, after=timedelta(minutes=5))  # the calendar did not change
    assert asked() == [f"Meeting {n}" for n in range(7)]
    states = [e.state for e in await practice.db.calendars.entries(1)]
    assert states == [CalendarEntryState.ASKED] * 7
    await poll(practice, source, after=timedelta(minutes=5))
    assert len(asked()) == 7


async def test_a_repeating_event_is_asked_about_once(practice: Practice) -> None:
    source = ScriptedCalendar()
    source.events = [
        event("Supervision", FRIDAY_ELEVEN + timedelta(days=7 * n), uid="s", recurrence_id=str(n))
        for n in range(6)
    ]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    questions = [r for r in outbox_rows(practice) if r.template == "calendar.which_client"]
    assert len(questions) == 1
    [[client_button], _] = questions[0].payload["buttons"]
    entry_id = int(client_button["data"].split(":")[1])

    source.events.append(event("Supervision", MONDAY_ELEVEN, uid="s", recurrence_id="later"))
    await poll(practice, source, after=timedelta(minutes=5))  # a repeat added before the answer
    assert len([r for r in outbox_rows(practice) if r.template == "calendar.which_client"]) == 1

    done = await calendars.answer(
        practice.ctx, actor=PRACTITIONER, entry_id=entry_id, client_id=practice.client.id
    )
    assert done.text.params["booked"] == embed(Text("calendar.answered_booked", {"count": 7}))
    assert done.text.params["repeats"] == embed(Text("calendar.answered_repeats"))
    assert done.text.params["not_booked"] == ""
    assert len(await sessions(practice)) == 7


async def test_an_event_retitled_to_another_client_goes_to_that_client(
    practice: Practice,
) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    source = ScriptedCalendar()
    source.events = [event("Sample Client", FRIDAY_ELEVEN, uid="e")]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    source.events = [event("Massage", FRIDAY_ELEVEN, uid="e")]  # names no one: kept
    await poll(practice, source, after=timedelta(minutes=5))
    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.BOOKED)]

    source.events = [event("Massage Maren Holt", FRIDAY_ELEVEN, uid="e")]
    await poll(practice, source, after=timedelta(minutes=5))
    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.CANCELLED)]
    [theirs] = await practice.db.appointments.for_client(other.id)
    assert (theirs.starts_at, theirs.status) == (FRIDAY_ELEVEN, AppointmentStatus.BOOKED)
    [entry] = await practice.db.calendars.entries(1)
    assert (entry.client_id, entry.appointment_id) == (other.id, theirs.id)


async def test_an_event_not_booked_is_tried_again_when_it_changes(practice: Practice) -> None:
    await add_session(practice.uow, practice.client, FRIDAY_ELEVEN)  # booked in Stillpoint
    source = ScriptedCalendar()
    source.events = [
        event("Sample Client", FRIDAY_ELEVEN, uid="clash"),  # clashes with it: not booked
        event("Team meeting", MONDAY_ELEVEN, uid="asked"),
    ]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    assert len(await sessions(practice)) == 1
    told = [r for r in outbox_rows(practice) if r.template == "calendar.not_booked"]
    assert len(told) == 1

    source.events = [
        event("Sample Client", FRIDAY_ELEVEN + timedelta(hours=2), uid="clash"),  # moved off
        event("Team meeting with Sample Client", MONDAY_ELEVEN, uid="asked"),  # now named
    ]
    await poll(practice, source, after=timedelta(minutes=5))
    assert sorted(s for s, _ in await sessions(practice)) == [
        FRIDAY_ELEVEN,
        FRIDAY_ELEVEN + timedelta(hours=2),
        MONDAY_ELEVEN,
    ]
    states = {e.uid: e.state for e in await practice.db.calendars.entries(1)}
    assert states == {"clash": CalendarEntryState.BOOKED, "asked": CalendarEntryState.BOOKED}


async def test_a_clients_copy_holds_the_calendar_events_taken_as_their_sessions(
    practice: Practice,
) -> None:
    source = ScriptedCalendar()
    source.events = [event("CST Sample Client", FRIDAY_ELEVEN), event("Team lunch", MONDAY_ELEVEN)]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)
    copy = await client_copy.operator_copy(practice.ctx, practice.client.id)
    assert copy is not None
    [record] = copy.content["as_client_of"]
    assert [e["title"] for e in record["from_your_practitioners_calendar"]] == ["CST Sample Client"]


async def test_new_events_that_overlap_book_the_first_and_tell_about_the_other(
    practice: Practice,
) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    source = ScriptedCalendar()
    source.events = [
        event("Sample Client", FRIDAY_ELEVEN),
        event("Maren Holt", FRIDAY_ELEVEN + timedelta(minutes=30)),  # over the first
        event("Maren Holt", FRIDAY_ELEVEN + timedelta(hours=1), uid="after"),  # right after it
    ]

    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.BOOKED)]
    [theirs] = await practice.db.appointments.for_client(other.id)
    assert theirs.starts_at == FRIDAY_ELEVEN + timedelta(hours=1)
    [told] = [r for r in outbox_rows(practice) if r.template == "calendar.not_booked"]
    assert told.chat_id == PRACTITIONER
    reason = told.payload["params"]["reason"]
    assert (reason["$text"], reason["params"]["client"]) == ("calendar.clash", "Sample Client")
    states = {e.starts_at: (e.state, e.client_id) for e in await practice.db.calendars.entries(1)}
    assert states == {
        FRIDAY_ELEVEN: (CalendarEntryState.BOOKED, practice.client.id),
        FRIDAY_ELEVEN + timedelta(minutes=30): (CalendarEntryState.NOT_BOOKED, other.id),
        FRIDAY_ELEVEN + timedelta(hours=1): (CalendarEntryState.BOOKED, other.id),
    }


async def test_a_session_deleted_from_the_calendar_frees_its_time_in_the_same_read(
    practice: Practice,
) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    source = ScriptedCalendar()
    source.events = [event("Sample Client", FRIDAY_ELEVEN)]
    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    source.events = [event("Maren Holt", FRIDAY_ELEVEN)]  # the time given to someone else
    await poll(practice, source, after=timedelta(minutes=5))

    assert await sessions(practice) == [(FRIDAY_ELEVEN, AppointmentStatus.CANCELLED)]
    [theirs] = await practice.db.appointments.for_client(other.id)
    assert (theirs.starts_at, theirs.status) == (FRIDAY_ELEVEN, AppointmentStatus.BOOKED)
    assert not [r for r in outbox_rows(practice) if r.template == "calendar.not_booked"]


async def test_a_first_read_of_many_sessions_books_each_as_book_does(practice: Practice) -> None:
    source = ScriptedCalendar()
    starts = [FRIDAY_ELEVEN + timedelta(hours=8 * n) for n in range(3 * NEW_EVENTS_A_TURN)]
    source.events = [event("Sample Client", at, uid=f"weekly-{n}") for n, at in enumerate(starts)]

    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    booked = await practice.db.appointments.for_client(practice.client.id)
    assert [(s.starts_at, s.status) for s in booked] == [
        (at, AppointmentStatus.BOOKED) for at in starts
    ]
    entries = {e.uid: e for e in await practice.db.calendars.entries(1)}
    for n, session in enumerate(booked):  # each event holds its own session
        assert entries[f"weekly-{n}"].appointment_id == session.id
    offsets = practice.ctx.policy.reminder_offsets_for(practice.practitioner)
    for session in booked:
        rows = [r for r in outbox_rows(practice) if r.appointment_id == session.id]
        reminders = [r for r in rows if r.kind is OutboxKind.REMINDER]
        # Those still ahead, each before the session (moved out of quiet hours, maybe).
        assert len(reminders) == sum(session.starts_at - o > NOW for o in offsets) > 0
        assert all(NOW < r.due_at < session.starts_at for r in reminders)
    # The client is told of them together, SESSIONS_A_NOTICE a message, soonest first,
    # each session with its own calendar button.
    notices = notices_to(outbox_rows(practice), CLIENT)
    assert {n.template for n in notices} == {"session.client_booked_many"}
    assert len(notices) == len(booked) // SESSIONS_A_NOTICE
    listed = [
        line["params"]["when"]["$datetime"]
        for notice in sorted(notices, key=lambda n: n.id)
        for line in notice.payload["params"]["sessions"]
    ]
    assert listed == [s.starts_at.isoformat() for s in booked]
    buttons = [
        button["data"] for notice in notices for row in notice.payload["buttons"] for button in row
    ]
    assert sorted(buttons) == sorted(callbacks.calendar_file(s.id) for s in booked)
    audit = [e for e in practice.db.audit.entries if e.action == "appointment.booked"]
    assert sorted(e.subject_id or 0 for e in audit) == sorted(s.id for s in booked)


async def test_an_event_over_an_earlier_one_is_refused_whichever_is_written_first(
    practice: Practice,
) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    source = ScriptedCalendar()
    # Maren's sessions are written first (her first one is the soonest), the Sample
    # Client's, too many for the same unit of work, after them: the Friday 11:00 one,
    # earlier in the calendar, still wins over hers at 11:30.
    theirs = [FRIDAY_ELEVEN + timedelta(hours=8 * n) for n in range(NEW_EVENTS_A_TURN)]
    source.events = [
        event("Maren Holt", NOW + timedelta(hours=2), uid="maren-first"),
        event("Maren Holt", FRIDAY_ELEVEN + timedelta(minutes=30), uid="maren-over"),
        *(event("Sample Client", at, uid=f"sample-{n}") for n, at in enumerate(theirs)),
    ]

    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    assert [s.starts_at for s in await practice.db.appointments.for_client(other.id)] == [
        NOW + timedelta(hours=2)
    ]
    ours = await practice.db.appointments.for_client(practice.client.id)
    assert [s.starts_at for s in ours] == theirs
    [told] = [r for r in outbox_rows(practice) if r.template == "calendar.not_booked"]
    assert told.payload["params"]["reason"]["params"]["client"] == "Sample Client"


async def test_events_that_cannot_be_booked_are_told_in_one_message(practice: Practice) -> None:
    other = await add_client(
        practice.uow, practice.practitioner, "Maren Holt", telegram_id=OTHER_CLIENT
    )
    taken = [MONDAY_ELEVEN + timedelta(days=n) for n in range(REFUSALS_SHOWN + 2)]
    for at in taken:
        await add_session(practice.uow, practice.client, at)
    # Among many events that name no one, more than one unit of work writes.
    unnamed = [MONDAY_ELEVEN + timedelta(hours=2 * n + 1) for n in range(3 * NEW_EVENTS_A_TURN)]
    source = ScriptedCalendar()
    source.events = [
        *(
            event("Maren Holt", at + timedelta(minutes=15), uid=f"over-{n}")
            for n, at in enumerate(taken)
        ),
        *(event("Massage", at, uid=f"unnamed-{n}") for n, at in enumerate(unnamed)),
    ]

    await calendars.connect(practice.ctx, source, actor=PRACTITIONER, url=URL)

    assert await practice.db.appointments.for_client(other.id) == []
    [told] = notices_to(outbox_rows(practice), PRACTITIONER, "calendar.not_booked_many")
    assert told.forget_after_send  # it names several clients; its words go once sent
    params = told.payload["params"]
    assert params["count"] == len(taken)
    # The first few listed, the rest counted.
    assert len(params["events"]) == REFUSALS_SHOWN + 1
    assert params["events"][-1] == {"$text": "calendar.not_booked_more", "params": {"count": 2}}
    first = params["events"][0]["params"]
    assert first["when"]["$datetime"] == (taken[0] + timedelta(minutes=15)).isoformat()
    assert first["reason"]["$text"] == "calendar.clash"
    assert notices_to(outbox_rows(practice), PRACTITIONER, "calendar.not_booked") == []
    states = {e.uid: e.state for e in await practice.db.calendars.entries(1)}
    assert {states[f"over-{n}"] for n in range(len(taken))} == {CalendarEntryState.NOT_BOOKED}
