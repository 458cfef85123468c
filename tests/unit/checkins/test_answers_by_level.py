"""A client's taps and words are triaged and answered by level: crisis resources for their
country and an alert, a note that the practitioner will see a concern, a kind word else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.callbacks import CheckInAction
from bot.domain.models import CheckInState, CheckInStep, OutboxState, TriageLevel
from bot.services.checkins import views
from messages import render_plain
from tests.fakes import FakeDatabase
from tests.unit.checkins.support import (
    GUEST,
    NOW,
    PRACTITIONER,
    add_checkin,
    alerts,
    button_data,
    flags_of,
    open_aftercare,
    press,
    replies_of,
    say,
    shown,
    stored_checkin,
)


async def test_words_of_crisis_get_resources_for_the_clients_country_and_alert_the_practitioner(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
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
    pending = [a for a in alerts(world) if a.state is OutboxState.PENDING]
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
    db: FakeDatabase, timezone: str, expected: tuple[str, ...]
) -> None:
    world = await open_aftercare(db, timezone=timezone)
    await add_checkin(world)
    text = shown(await say(world, "i wanna end it all tonight", 5))
    for part in expected:
        assert part in text


async def test_a_worrying_score_is_passed_on_and_the_conversation_goes_on(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
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


async def test_a_rise_against_the_previous_check_in_is_a_concern(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
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


async def test_a_concern_in_words_says_the_practitioner_will_see_it(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    await add_checkin(world)
    answer = await say(world, "The pain is much worse than before and getting worse", 7)
    assert answer is not None
    assert answer.text.key == "checkin.passed_on"
    [flag] = await flags_of(world)
    assert flag.level is TriageLevel.CONCERN


async def test_calm_words_while_a_question_waits_are_noted(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world)
    answer = await say(world, "slept really well", 8)
    assert answer is not None
    assert answer.text.key == "checkin.noted_open"
    stored = await stored_checkin(world, checkin.id)
    assert (stored.state, stored.step) == (CheckInState.ANSWERED, CheckInStep.SCORE)


async def test_words_without_any_check_in_are_logged_and_triaged(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
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
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    assert await say(world, "I want to die", 1, actor=GUEST) is None
    assert await say(world, "hello", 2, actor=PRACTITIONER) is None
    assert await replies_of(world) == []


async def test_empty_words_are_answered_kindly_and_not_stored(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    await add_checkin(world)
    answer = await say(world, "  \n ", 3)
    assert answer is not None
    assert answer.text.key == "checkin.empty"
    assert await replies_of(world) == []
