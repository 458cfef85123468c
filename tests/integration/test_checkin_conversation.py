"""The check-in conversation on real databases: taps and words logged as replies, triaged,
and answered by level; edits kept as versions; media, old and foreign presses, a client
who stopped; snoozing; and the question after several unanswered check-ins.

Every test reads back what was stored (replies, check-ins, flags, outbox rows, audit
entries) rather than trusting the answer alone.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application

from bot.crisis import load_crisis_table
from bot.domain import callbacks
from bot.domain.aftercare import BODY_AREAS
from bot.domain.callbacks import CheckInAction, CheckInPress
from bot.domain.models import (
    AppointmentStatus,
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    ClientStatus,
    Flag,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.runtime import Runtime
from bot.services.access import Refused
from bot.services.checkins import prompts, views
from bot.services.checkins.conversation import press_checkin, snooze_key
from bot.services.incoming import Words, receive_media, receive_words
from bot.services.policy import Policy
from bot.settings import load_settings
from bot.triage_data import LoadedTriage
from messages import render, render_plain
from tests.fakes import FixedClock
from tests.handlers.offline import Call, OfflineRequest, offline_application, process
from tests.integration import records
from tests.integration.journey_support import button_data, outbox_rows, refusals

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
POLICY = Policy(
    quiet=QuietHours(time(21, 0), time(8, 0)),
    reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
    invite_ttl=timedelta(days=7),
    default_timezone="UTC",
    triage=LoadedTriage(),
    crisis=load_crisis_table(),
)
PRACTITIONER = 7_200_000_001
CLIENT = 8_200_000_001
OTHER_CLIENT = 8_200_000_002
GUEST = 8_200_000_999
SENT = CheckInState.SENT


@dataclass(frozen=True)
class Aftercare:
    """A practitioner in Berlin, one client of theirs, a session two days ago."""

    uow: UnitOfWorkFactory
    engine: AsyncEngine
    clock: FixedClock
    client: Client
    appointment_id: int


async def open_aftercare(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    *,
    timezone: str = "Europe/Berlin",
    telegram_id: int = CLIENT,
    practitioner_telegram_id: int = PRACTITIONER,
) -> Aftercare:
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(
            records.practitioner(
                practitioner_telegram_id, display_name="First Practitioner", created_at=NOW
            )
        )
        client = await uow.clients.add(
            records.client(
                practitioner.id,
                full_name="Sam Client",
                telegram_user_id=telegram_id,
                timezone=timezone,
                locale="en",
                created_at=NOW,
            )
        )
        appointment = await uow.appointments.add(
            records.appointment(
                practitioner.id,
                client.id,
                starts_at=NOW - timedelta(days=2),
                status=AppointmentStatus.COMPLETED,
            )
        )
        await uow.commit()
    return Aftercare(uow_factory, engine, FixedClock(NOW), client, appointment.id)


async def add_checkin(
    world: Aftercare,
    day: int = 1,
    *,
    due_at: datetime | None = None,
    state: CheckInState = SENT,
    step: CheckInStep = CheckInStep.SCORE,
    appointment_id: int | None = None,
) -> CheckIn:
    async with world.uow() as uow:
        stored = await uow.checkins.add(
            records.checkin(
                world.client.id,
                appointment_id or world.appointment_id,
                day=day,
                due_at=due_at or NOW - timedelta(hours=1),
                state=state,
                step=step,
            )
        )
        await uow.commit()
    return stored


async def press(
    world: Aftercare,
    checkin: CheckIn,
    action: CheckInAction,
    argument: int | None = None,
    *,
    actor: int = CLIENT,
    ticked: Collection[int] = (),
) -> OutgoingMessage:
    return await press_checkin(
        world.uow,
        world.clock,
        POLICY,
        actor=actor,
        press=CheckInPress(checkin.id, action, argument),
        ticked=ticked,
    )


async def say(
    world: Aftercare, text: str, message_id: int, *, edited: bool = False, actor: int = CLIENT
) -> OutgoingMessage | None:
    heard = await receive_words(
        world.uow,
        world.clock,
        POLICY,
        sender=actor,
        named_practitioners=(),
        words=Words(message_id, text, edited),
    )
    return heard.answer


async def show_media(world: Aftercare, message_id: int, kind: str) -> OutgoingMessage | None:
    heard = await receive_media(
        world.uow,
        world.clock,
        sender=CLIENT,
        named_practitioners=(),
        message_id=message_id,
        kind=kind,
    )
    return heard.answer


async def refused_key(call: object) -> str:
    with pytest.raises(Refused) as refusal:
        await call  # type: ignore[misc]
    return refusal.value.answer.key


def picker_data(message: OutgoingMessage) -> list[str]:
    """The callback data of a picker's buttons: every one of them carries some."""
    data = button_data(message)
    found = [d for d in data if d is not None]
    assert len(found) == len(data), data
    return found


async def stored_checkin(world: Aftercare, checkin_id: int) -> CheckIn:
    async with world.uow() as uow:
        found = await uow.checkins.get(checkin_id)
    assert found is not None
    return found


async def replies_of(world: Aftercare, client_id: int | None = None) -> list[Reply]:
    """The client's replies, oldest first."""
    async with world.uow() as uow:
        return list(reversed(await uow.replies.for_client(client_id or world.client.id)))


async def flags_of(world: Aftercare) -> list[Flag]:
    async with world.uow() as uow:
        return list(await uow.flags.open_for_practitioner(world.client.practitioner_id))


async def alerts(world: Aftercare) -> list[OutboxMessage]:
    return [r for r in await outbox_rows(world.engine) if r.kind is OutboxKind.FLAG_ALERT]


def shown(message: OutgoingMessage | None) -> str:
    """The answer as an English reader sees it (proves its key and parameters fit)."""
    assert message is not None
    return render_plain(message.text.key, "en", **message.text.params)


# --- the conversation ---------------------------------------------------------------------------


async def test_a_calm_check_in_goes_step_by_step_and_ends_with_the_matching_note(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)

    change = await press(world, checkin, CheckInAction.SCORE, 2)
    assert change.text.key == "checkin.change_question"
    areas = await press(world, checkin, CheckInAction.CHANGE, 1)  # better
    assert areas.text.key == "checkin.areas_question"
    neck = BODY_AREAS.index("neck")
    ticked_once = await press(world, checkin, CheckInAction.AREA, neck)
    ticked = views.ticked_areas(checkin.id, picker_data(ticked_once))
    assert ticked == {neck}
    assert "✓ Neck" in [
        render_plain(b.label.key, "en", **b.label.params) for r in ticked_once.buttons for b in r
    ]
    both = await press(
        world, checkin, CheckInAction.AREA, BODY_AREAS.index("emotions"), ticked=ticked
    )
    ticked = views.ticked_areas(checkin.id, picker_data(both))
    untick = views.TICKED + neck
    only_emotions = await press(world, checkin, CheckInAction.AREA, untick, ticked=ticked)
    ticked = views.ticked_areas(checkin.id, picker_data(only_emotions))
    assert ticked == {BODY_AREAS.index("emotions")}
    words = await press(world, checkin, CheckInAction.AREAS_DONE, ticked=ticked)
    assert words.text.key == "checkin.text_question"

    thanks = await say(world, "Very tired today and a bit sore, but okay", 501)

    assert thanks is not None
    assert thanks.text.key == "checkin.thanks"
    text = shown(thanks)
    assert render_plain("aftercare.tired", "en") in text
    assert render_plain("aftercare.sore", "en") in text
    replies = await replies_of(world)
    assert [(r.score, r.comparison, r.body_areas, r.text) for r in replies] == [
        (2, None, (), None),
        (None, "better", (), None),
        (None, None, ("emotions",), None),
        (None, None, (), "Very tired today and a bit sore, but okay"),
    ]
    assert {r.checkin_id for r in replies} == {checkin.id}
    assert {r.triage_level for r in replies} == {TriageLevel.NONE}
    assert replies[-1].telegram_message_id == 501
    stored = await stored_checkin(world, checkin.id)
    assert (stored.state, stored.step, stored.answered_at) == (
        CheckInState.ANSWERED,
        CheckInStep.DONE,
        NOW,
    )
    assert await flags_of(world) == []
    assert await alerts(world) == []


async def test_every_step_can_be_skipped_and_the_thanks_has_the_general_note(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    keys = []
    for step in (CheckInStep.SCORE, CheckInStep.CHANGE, CheckInStep.AREAS, CheckInStep.TEXT):
        answer = await press(world, checkin, CheckInAction.SKIP, views.step_index(step))
        keys.append(answer.text.key)
    assert keys == [
        "checkin.change_question",
        "checkin.areas_question",
        "checkin.text_question",
        "checkin.thanks",
    ]
    assert render_plain("aftercare.generic", "en") in shown(answer)
    stored = await stored_checkin(world, checkin.id)
    assert (stored.state, stored.step, stored.answered_at) == (SENT, CheckInStep.DONE, None)
    assert await replies_of(world) == []


async def test_done_with_no_area_ticked_is_a_skip(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, step=CheckInStep.AREAS)
    answer = await press(world, checkin, CheckInAction.AREAS_DONE)
    assert answer.text.key == "checkin.text_question"
    assert await replies_of(world) == []
    assert (await stored_checkin(world, checkin.id)).step is CheckInStep.TEXT


async def test_a_check_in_just_sent_is_answerable_before_its_state_follows(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, state=CheckInState.SCHEDULED)
    async with world.uow() as uow:
        await uow.outbox.add(
            records.outbox_message(
                CLIENT,
                kind=OutboxKind.CHECKIN,
                dedup_key=f"checkin:{checkin.id}",
                state=OutboxState.SENT,
                template="checkin.score_question",
            )
        )
        await uow.commit()
    await say(world, "feeling calm", 9)
    [reply] = await replies_of(world)
    assert reply.checkin_id == checkin.id
    assert (await stored_checkin(world, checkin.id)).state is CheckInState.ANSWERED


# --- triage and what the client gets back -------------------------------------------------------


async def test_words_of_crisis_get_resources_for_the_clients_country_and_alert_the_practitioner(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, step=CheckInStep.TEXT)

    answer = await say(world, "I want to die", 601)

    assert answer is not None
    assert answer.text.key == "crisis.urgent"
    text = shown(answer)
    for expected in ("112", "TelefonSeelsorge", "0800 111 0 111", "First Practitioner"):
        assert expected in text
    [reply] = await replies_of(world)
    assert reply.triage_level is TriageLevel.URGENT
    assert reply.triage_reasons
    [flag] = await flags_of(world)
    assert (flag.level, flag.reply_id, flag.checkin_id, flag.client_id) == (
        TriageLevel.URGENT,
        reply.id,
        checkin.id,
        world.client.id,
    )
    pending = [a for a in await alerts(world) if a.state is OutboxState.PENDING]
    assert pending
    assert {a.chat_id for a in pending} == {PRACTITIONER}
    assert min(a.due_at for a in pending) == NOW  # the first alert goes at once
    assert (await stored_checkin(world, checkin.id)).step is CheckInStep.DONE


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("Australia/Sydney", ("000", "Lifeline", "13 11 14")),
        ("America/Toronto", ("911", "988")),
        ("Europe/London", ("999", "Samaritans", "116 123")),
        ("UTC", ("local emergency number", "https://findahelpline.com")),
    ],
)
async def test_crisis_resources_follow_the_clients_time_zone(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, timezone: str, expected: tuple[str, ...]
) -> None:
    world = await open_aftercare(uow_factory, engine, timezone=timezone)
    await add_checkin(world)
    text = shown(await say(world, "i wanna end it all tonight", 5))
    for part in expected:
        assert part in text


async def test_a_worrying_score_is_passed_on_and_the_conversation_goes_on(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)

    answer = await press(world, checkin, CheckInAction.SCORE, 9)

    assert answer.text.key == "checkin.note_then"
    assert "First Practitioner" in shown(answer)
    assert render_plain("checkin.change_question", "en") in shown(answer)
    assert button_data(answer) == button_data(views.change_question(checkin.id))
    [flag] = await flags_of(world)
    assert flag.level is TriageLevel.CONCERN
    # The next answers add nothing new: no second flag, and the end says it was passed on.
    await press(world, checkin, CheckInAction.CHANGE, 2)
    await press(world, checkin, CheckInAction.SKIP, views.step_index(CheckInStep.AREAS))
    end = await press(world, checkin, CheckInAction.SKIP, views.step_index(CheckInStep.TEXT))
    assert end.text.key == "checkin.passed_on"
    assert len(await flags_of(world)) == 1


async def test_a_rise_against_the_previous_check_in_is_a_concern(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    day_1 = await add_checkin(world, 1, due_at=NOW - timedelta(days=2))
    await press(world, day_1, CheckInAction.SCORE, 2)
    day_3 = await add_checkin(world, 3)

    await press(world, day_3, CheckInAction.SCORE, 6)

    replies = await replies_of(world)
    assert [(r.checkin_id, r.score, r.triage_level) for r in replies] == [
        (day_1.id, 2, TriageLevel.NONE),
        (day_3.id, 6, TriageLevel.CONCERN),
    ]
    [flag] = await flags_of(world)
    assert flag.checkin_id == day_3.id


async def test_a_concern_in_words_says_the_practitioner_will_see_it(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await add_checkin(world)
    answer = await say(world, "The pain is much worse than before and getting worse", 7)
    assert answer is not None
    assert answer.text.key == "checkin.passed_on"
    [flag] = await flags_of(world)
    assert flag.level is TriageLevel.CONCERN


async def test_calm_words_while_a_question_waits_are_noted(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    answer = await say(world, "slept really well", 8)
    assert answer is not None
    assert answer.text.key == "checkin.noted_open"
    stored = await stored_checkin(world, checkin.id)
    assert (stored.state, stored.step) == (CheckInState.ANSWERED, CheckInStep.SCORE)


async def test_words_without_any_check_in_are_logged_and_triaged(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    calm = await say(world, "hello, thanks for the session", 11)
    assert calm is not None
    assert calm.text.key == "input.free_text"
    urgent = await say(world, "I can't breathe and my chest hurts", 12)
    assert urgent is not None
    assert urgent.text.key == "crisis.urgent"
    replies = await replies_of(world)
    assert [(r.checkin_id, r.triage_level) for r in replies] == [
        (None, TriageLevel.NONE),
        (None, TriageLevel.URGENT),
    ]
    [flag] = await flags_of(world)
    assert flag.checkin_id is None


async def test_words_from_someone_who_is_not_a_client_are_left_to_the_fallbacks(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    assert await say(world, "I want to die", 1, actor=GUEST) is None
    assert await say(world, "hello", 2, actor=PRACTITIONER) is None
    assert await replies_of(world) == []


async def test_empty_words_are_answered_kindly_and_not_stored(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await add_checkin(world)
    answer = await say(world, "  \n ", 3)
    assert answer is not None
    assert answer.text.key == "checkin.empty"
    assert await replies_of(world) == []


async def test_the_longest_message_is_stored_whole(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await add_checkin(world, step=CheckInStep.TEXT)
    text = "😌" * 2048  # 4096 UTF-16 units, Telegram's limit
    await say(world, text, 4)
    [reply] = await replies_of(world)
    assert reply.text == text


# --- the reply log: edits, repeats, media -------------------------------------------------------


async def test_an_edit_is_a_new_version_and_never_overwrites(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, step=CheckInStep.TEXT)
    first = await say(world, "a bit sore", 701)
    assert first is not None
    assert first.text.key == "checkin.thanks"

    worse = await say(world, "actually I want to kill myself", 701, edited=True)
    calmer = await say(world, "a bit sore, sorry, all fine", 701, edited=True)

    assert worse is not None
    assert worse.text.key == "crisis.urgent"
    assert calmer is None  # logged, nothing more to say
    replies = await replies_of(world)
    assert [(r.telegram_message_id, r.version, r.text, r.checkin_id) for r in replies] == [
        (701, 1, "a bit sore", checkin.id),
        (701, 2, "actually I want to kill myself", checkin.id),
        (701, 3, "a bit sore, sorry, all fine", checkin.id),
    ]
    assert [r.triage_level for r in replies] == [
        TriageLevel.NONE,
        TriageLevel.URGENT,
        TriageLevel.NONE,
    ]
    [flag] = await flags_of(world)
    assert flag.reply_id == replies[1].id


async def test_the_same_message_delivered_twice_is_logged_once_and_answered_again(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await add_checkin(world)
    first = await say(world, "I want to die", 801)
    again = await say(world, "I want to die", 801)
    assert first is not None
    assert again is not None
    assert first.text.key == again.text.key == "crisis.urgent"
    assert len(await replies_of(world)) == 1
    assert len(await flags_of(world)) == 1


async def test_a_photo_during_a_check_in_gets_a_kind_ask_and_is_logged_without_content(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    assert await show_media(world, 1, "photo") is None
    checkin = await add_checkin(world)

    answer = await show_media(world, 2, "photo")

    assert answer is not None
    assert answer.text.key == "checkin.not_text"
    async with world.uow() as uow:
        [entry] = [e for e in await uow.audit.recent() if e.action == "checkin.not_text"]
    assert (entry.subject_type, entry.subject_id, entry.actor_telegram_id) == (
        "checkin",
        checkin.id,
        CLIENT,
    )
    assert entry.detail == {"client_id": world.client.id, "kind": "photo", "message_id": 2}
    assert await replies_of(world) == []
    # Once the check-in is done, media gets the general answer again.
    async with world.uow() as uow:
        await uow.checkins.update(dataclasses.replace(checkin, step=CheckInStep.DONE))
        await uow.commit()
    assert await show_media(world, 3, "voice") is None


# --- presses that cannot count ------------------------------------------------------------------


async def test_a_score_on_an_old_check_in_is_refused_kindly(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    day_1 = await add_checkin(world, 1, due_at=NOW - timedelta(days=2))
    await add_checkin(world, 3)
    assert await refused_key(press(world, day_1, CheckInAction.SCORE, 4)) == "checkin.old"
    assert await replies_of(world) == []
    assert await refusals(world.uow) == []  # their own check-in: nothing to audit


async def test_a_cancelled_check_in_is_refused(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, state=CheckInState.CANCELLED)
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 4)) == "checkin.cancelled"
    assert await replies_of(world) == []


async def test_two_answers_to_one_step_are_both_logged_and_the_conversation_goes_on(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    first = await press(world, checkin, CheckInAction.SCORE, 3)
    second = await press(world, checkin, CheckInAction.SCORE, 5)  # from a message not redrawn yet
    assert first.text.key == second.text.key == "checkin.change_question"
    replies = await replies_of(world)
    assert [r.score for r in replies] == [3, 5]
    stored = await stored_checkin(world, checkin.id)
    assert (stored.step, stored.answered_at) == (CheckInStep.CHANGE, NOW)


async def test_a_press_for_a_step_no_longer_current_is_refused(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    score_skip = views.step_index(CheckInStep.SCORE)
    await press(world, checkin, CheckInAction.SKIP, score_skip)
    assert await refused_key(press(world, checkin, CheckInAction.SKIP, score_skip)) == (
        "checkin.step_passed"
    )
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 4)) == (
        "checkin.step_passed"
    )
    assert await refused_key(press(world, checkin, CheckInAction.AREA, 0)) == (
        "checkin.step_passed"
    )
    assert await replies_of(world) == []
    assert (await stored_checkin(world, checkin.id)).step is CheckInStep.CHANGE


async def test_a_forged_argument_is_refused_as_stale(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 11)) == "input.stale_button"
    assert await refused_key(press(world, checkin, CheckInAction.SNOOZE, 7)) == (
        "input.stale_button"
    )
    future = await add_checkin(world, 7, due_at=NOW + timedelta(days=4))
    assert await refused_key(press(world, future, CheckInAction.SCORE, 1)) == "input.stale_button"
    assert await replies_of(world) == []


async def test_another_clients_press_is_refused_and_audited(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    other = await open_aftercare(
        uow_factory,
        engine,
        telegram_id=OTHER_CLIENT,
        practitioner_telegram_id=PRACTITIONER + 1,
    )
    checkin = await add_checkin(world)
    await add_checkin(other)

    key = await refused_key(press(world, checkin, CheckInAction.SCORE, 2, actor=OTHER_CLIENT))

    assert key == "access.not_found"
    [entry] = await refusals(world.uow)
    assert (entry.actor_telegram_id, entry.subject_type, entry.subject_id) == (
        OTHER_CLIENT,
        "checkin",
        checkin.id,
    )
    assert entry.detail["reason"] == "not their check-in"
    assert await replies_of(world) == []
    assert await replies_of(other) == []


async def test_a_client_who_stopped_is_kept_out_except_that_crisis_words_alert(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    async with world.uow() as uow:
        await uow.clients.update(dataclasses.replace(world.client, status=ClientStatus.STOPPED))
        await uow.commit()

    refused = await refused_key(press(world, checkin, CheckInAction.SCORE, 2))
    calm = await say(world, "feeling fine", 1)
    crisis = await say(world, "I want to die", 2)

    assert refused == "checkin.client_stopped"
    assert calm is not None
    assert calm.text.key == "checkin.client_stopped"
    assert crisis is not None
    assert crisis.text.key == "crisis.urgent"  # resources, and their practitioner knows
    assert "TelefonSeelsorge" in shown(crisis)
    [kept] = await replies_of(world)  # only the words of crisis are kept
    assert kept.text == "I want to die"
    assert kept.triage_level is TriageLevel.URGENT
    [flag] = await flags_of(world)
    assert flag.level is TriageLevel.URGENT
    alerts = [r for r in await outbox_rows(world.engine) if r.kind is OutboxKind.FLAG_ALERT]
    assert alerts
    assert {r.chat_id for r in alerts} == {PRACTITIONER}


# --- remind me later ----------------------------------------------------------------------------


async def test_later_offers_choices_and_a_snooze_asks_the_current_step_again(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world)
    await press(world, checkin, CheckInAction.SCORE, 3)

    later = await press(world, checkin, CheckInAction.LATER)
    assert later.text.key == "checkin.later_question"
    assert button_data(later) == [
        callbacks.checkin(checkin.id, CheckInAction.SNOOZE, i) for i in range(3)
    ]
    snoozed = await press(world, checkin, CheckInAction.SNOOZE, 0)  # in an hour
    again = await press(world, checkin, CheckInAction.SNOOZE, 2)  # tomorrow, 10:00 Berlin

    assert snoozed.text.key == "checkin.snoozed"
    assert "Wednesday 2 December at 10:00" in shown(again)
    rows = [r for r in await outbox_rows(world.engine) if r.kind is OutboxKind.CHECKIN]
    assert [(r.dedup_key.split("~")[0], r.state, r.due_at, r.template) for r in rows] == [
        (
            snooze_key(checkin.id, 1),
            OutboxState.CANCELLED,
            NOW + timedelta(hours=1),
            "checkin.change_question",
        ),
        (
            snooze_key(checkin.id, 2),
            OutboxState.PENDING,
            NOW + timedelta(days=1),
            "checkin.change_question",
        ),
    ]
    assert rows[1].payload["buttons"] == [
        [
            {
                "label": b.label.key,
                "label_params": dict(b.label.params),
                "data": b.callback_data,
                "url": None,
            }
            for b in row
        ]
        for row in views.change_question(checkin.id).buttons
    ]
    assert (rows[1].chat_id, rows[1].client_id, rows[1].expires_at) == (
        CLIENT,
        world.client.id,
        NOW + timedelta(days=1) + POLICY.checkin_max_age,
    )
    stored = await stored_checkin(world, checkin.id)
    assert (stored.snoozes, stored.step) == (2, CheckInStep.CHANGE)


async def test_a_finished_check_in_cannot_be_snoozed(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, step=CheckInStep.DONE)
    assert await refused_key(press(world, checkin, CheckInAction.LATER)) == "checkin.finished"
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 2)) == "checkin.finished"


# --- several unanswered check-ins ---------------------------------------------------------------


async def unanswered_checkins(world: Aftercare, count: int) -> list[CheckIn]:
    """``count`` sent, unanswered check-ins, a day apart, the newest just sent."""
    return [
        await add_checkin(world, day, due_at=NOW - timedelta(days=count - day))
        for day in range(1, count + 1)
    ]


async def ask(world: Aftercare) -> None:
    async with world.uow() as uow:
        client = await uow.clients.get(world.client.id)
        assert client is not None
        await prompts.ask_keep_or_stop(uow, world.clock, POLICY, client)
        await uow.commit()


async def client_now(world: Aftercare) -> Client:
    async with world.uow() as uow:
        client = await uow.clients.get(world.client.id)
    assert client is not None
    return client


def keep_questions(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    return [r for r in rows if r.template == "checkin.keep_question"]


async def test_after_three_unanswered_check_ins_the_client_is_asked_once(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await unanswered_checkins(world, 3)  # the third was just sent: two count so far
    await ask(world)
    assert keep_questions(await outbox_rows(world.engine)) == []

    world.clock.current = NOW + timedelta(days=1)
    await add_checkin(world, 4, due_at=world.clock.current)
    await ask(world)
    world.clock.current += timedelta(hours=1)
    await ask(world)

    [question] = keep_questions(await outbox_rows(world.engine))
    assert (question.chat_id, question.kind, question.state) == (
        CLIENT,
        OutboxKind.CHECKIN,
        OutboxState.PENDING,
    )
    assert [row[0]["data"] for row in question.payload["buttons"]] == [
        callbacks.keep_checkins(True)
    ]
    assert (await client_now(world)).checkin_prompt_at == NOW + timedelta(days=1)


async def test_no_pauses_check_ins_and_cancels_the_queued_ones(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkins = await unanswered_checkins(world, 4)
    await ask(world)
    async with world.uow() as uow:
        await uow.outbox.add(
            records.outbox_message(
                CLIENT,
                kind=OutboxKind.CHECKIN,
                dedup_key="checkin:99",
                client_id=world.client.id,
                due_at=NOW + timedelta(days=2),
            )
        )
        await uow.commit()

    answer = await prompts.answer_keep_checkins(world.uow, world.clock, actor=CLIENT, keep=False)

    assert answer.text.key == "checkin.keep_no"
    client = await client_now(world)
    assert (client.checkins_paused, client.checkin_prompt_at) == (True, None)
    rows = [r for r in await outbox_rows(world.engine) if r.kind is OutboxKind.CHECKIN]
    assert {r.state for r in rows} == {OutboxState.CANCELLED}
    assert len(checkins) == 4


async def test_yes_keeps_them_and_an_answer_counts_as_yes(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkins = await unanswered_checkins(world, 4)
    await ask(world)
    answer = await prompts.answer_keep_checkins(world.uow, world.clock, actor=CLIENT, keep=True)
    assert answer.text.key == "checkin.keep_yes"
    client = await client_now(world)
    assert (client.checkins_paused, client.checkin_prompt_at) == (False, None)

    async with world.uow() as uow:
        await uow.clients.update(dataclasses.replace(client, checkin_prompt_at=NOW))
        await uow.commit()
    await press(world, checkins[-1], CheckInAction.SCORE, 1)
    assert (await client_now(world)).checkin_prompt_at is None


async def test_silence_after_the_question_pauses_check_ins_after_three_days(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await unanswered_checkins(world, 4)
    await ask(world)

    async def pause_silent() -> list[Client]:
        async with world.uow() as uow:
            paused = await prompts.pause_silent_clients(uow, world.clock, POLICY)
            await uow.commit()
        return paused

    world.clock.current = NOW + timedelta(days=2, hours=23)
    assert await pause_silent() == []
    world.clock.current = NOW + timedelta(days=3)
    [paused] = await pause_silent()
    assert await pause_silent() == []

    assert paused.id == world.client.id
    client = await client_now(world)
    assert (client.checkins_paused, client.checkin_prompt_at) == (True, None)
    rows = await outbox_rows(world.engine)
    [notice] = [r for r in rows if r.template == "checkin.paused_silent"]
    assert (notice.chat_id, notice.state) == (CLIENT, OutboxState.PENDING)
    [question] = keep_questions(rows)
    assert question.state is OutboxState.CANCELLED  # never sent? then it never will be


# --- through the handlers: what reaches the conversation ----------------------------------------


class Bot:
    """The real application over this test's database, with an offline Bot API."""

    def __init__(self, app: Application, request: OfflineRequest) -> None:  # type: ignore[type-arg]
        self.app = app
        self.request = request
        self._ids = itertools.count(1)

    async def feed(self, payload: dict[str, Any]) -> list[Call]:
        before = len(self.request.calls)
        update = Update.de_json({"update_id": next(self._ids), **payload}, self.app.bot)
        await process(self.app, update)
        return self.request.calls[before:]


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Sam", "language_code": "en"}


def message(user_id: int, message_id: int, **content: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": 1_767_000_000,
        "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
        "from": user(user_id),
        **content,
    }


@pytest.fixture
async def bot(uow_factory: UnitOfWorkFactory) -> AsyncIterator[Bot]:
    settings = load_settings(None)
    app, request = offline_application(
        Runtime(settings=settings, clock=FixedClock(NOW), uow=uow_factory)
    )
    async with app:
        yield Bot(app, request)


async def test_a_clients_words_and_edits_reach_the_conversation_and_others_the_fallbacks(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, bot: Bot
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await add_checkin(world)

    [calm] = await bot.feed({"message": message(CLIENT, 41, text="feeling sleepy")})
    [crisis] = await bot.feed(
        {"edited_message": {**message(CLIENT, 41, text="I want to die"), "edit_date": 1}}
    )
    [guest] = await bot.feed({"message": message(GUEST, 42, text="I am so tired")})
    assert (
        await bot.feed({"edited_message": {**message(GUEST, 42, text="x"), "edit_date": 1}}) == []
    )

    assert calm.params["text"] == render("checkin.noted_open")
    assert crisis.method == "sendMessage"
    assert "TelefonSeelsorge" in crisis.params["text"]
    assert crisis.params["parse_mode"] == "HTML"
    assert guest.params["text"] == render("input.free_text_guest")
    assert [(r.telegram_message_id, r.version) for r in await replies_of(world)] == [
        (41, 1),
        (41, 2),
    ]


async def test_a_press_edits_the_check_in_in_place_and_media_gets_a_kind_ask(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, bot: Bot
) -> None:
    world = await open_aftercare(uow_factory, engine)
    checkin = await add_checkin(world, step=CheckInStep.AREAS)
    picker = views.areas_question(checkin.id, {0})
    keyboard = [
        [{"text": "area", "callback_data": b.callback_data} for b in row] for row in picker.buttons
    ]
    done = callbacks.checkin(checkin.id, CheckInAction.AREAS_DONE)
    sent = message(CLIENT, 51, text="Where?", reply_markup={"inline_keyboard": keyboard})
    sent["from"] = {"id": 7000, "is_bot": True, "first_name": "Stillpoint"}

    calls = await bot.feed(
        {
            "callback_query": {
                "id": "q1",
                "chat_instance": "c",
                "data": done,
                "from": user(CLIENT),
                "message": sent,
            }
        }
    )
    [photo] = await bot.feed(
        {
            "message": message(
                CLIENT, 52, photo=[{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
            )
        }
    )

    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    assert calls[1].params["text"] == render("checkin.text_question")
    [reply] = await replies_of(world)
    assert reply.body_areas == (BODY_AREAS[0],)
    assert photo.params["text"] == render("checkin.not_text")


async def test_a_caption_is_read_as_words_and_crisis_words_in_it_get_their_answer_and_alert(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, bot: Bot
) -> None:
    world = await open_aftercare(uow_factory, engine)
    await add_checkin(world, step=CheckInStep.TEXT)
    photo = [{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
    [crisis] = await bot.feed(
        {"message": message(CLIENT, 61, photo=photo, caption="I want to die, this is me tonight")}
    )
    assert "TelefonSeelsorge" in crisis.params["text"]
    # An edited caption is a new version of the words (answered only if more worrying).
    edit = message(CLIENT, 61, photo=photo, caption="sorry, feeling a bit calmer now")
    assert await bot.feed({"edited_message": {**edit, "edit_date": 1}}) == []
    stored = await replies_of(world)
    assert [(r.telegram_message_id, r.version, r.triage_level) for r in stored] == [
        (61, 1, TriageLevel.URGENT),
        (61, 2, TriageLevel.NONE),
    ]
    async with uow_factory() as uow:
        assert await uow.flags.open_for_practitioner(world.client.practitioner_id)
