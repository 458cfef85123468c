"""Presses that cannot count: an old, cancelled or future check-in, a step already passed,
a forged argument, another client's check-in (audited), and a client who stopped (kept out,
except that words of crisis still alert their practitioner)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain.callbacks import CheckInAction
from bot.domain.models import CheckInState, CheckInStep, ClientStatus, OutboxKind, TriageLevel
from bot.services.checkins import views
from tests.fakes import FakeDatabase
from tests.unit.checkins.support import (
    NOW,
    OTHER_CLIENT,
    PRACTITIONER,
    add_checkin,
    flags_of,
    open_aftercare,
    outbox_rows,
    press,
    refusals,
    refused_key,
    replies_of,
    say,
    shown,
    stored_checkin,
)


async def test_a_score_on_an_old_check_in_is_refused_kindly(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    day_1 = await add_checkin(world, 1, due_at=NOW - timedelta(days=2))
    await add_checkin(world, 3)
    assert await refused_key(press(world, day_1, CheckInAction.SCORE, 4)) == "checkin.old"
    assert await replies_of(world) == []
    assert refusals(world) == []  # their own check-in: nothing to audit


async def test_a_cancelled_check_in_is_refused(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world, state=CheckInState.CANCELLED)
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 4)) == "checkin.cancelled"
    assert await replies_of(world) == []


async def test_two_answers_to_one_step_are_both_logged_and_the_conversation_goes_on(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world)
    first = await press(world, checkin, CheckInAction.SCORE, 3)
    second = await press(world, checkin, CheckInAction.SCORE, 5)  # from a message not redrawn yet
    assert first.text.key == second.text.key == "checkin.change_question"
    replies = await replies_of(world)
    assert [r.score for r in replies] == [3, 5]
    stored = await stored_checkin(world, checkin.id)
    assert (stored.step, stored.answered_at) == (CheckInStep.CHANGE, NOW)


async def test_a_press_for_a_step_no_longer_current_is_refused(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
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


async def test_a_forged_argument_is_refused_as_stale(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world)
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 11)) == "input.stale_button"
    assert await refused_key(press(world, checkin, CheckInAction.SNOOZE, 7)) == (
        "input.stale_button"
    )
    future = await add_checkin(world, 7, due_at=NOW + timedelta(days=4))
    assert await refused_key(press(world, future, CheckInAction.SCORE, 1)) == "input.stale_button"
    assert await replies_of(world) == []


async def test_another_clients_press_is_refused_and_audited(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    other = await open_aftercare(
        db, telegram_id=OTHER_CLIENT, practitioner_telegram_id=PRACTITIONER + 1
    )
    checkin = await add_checkin(world)
    await add_checkin(other)
    commits = db.commits

    key = await refused_key(press(world, checkin, CheckInAction.SCORE, 2, actor=OTHER_CLIENT))

    assert key == "access.not_found"
    [entry] = refusals(world)
    assert (entry.actor_telegram_id, entry.subject_type, entry.subject_id) == (
        OTHER_CLIENT,
        "checkin",
        checkin.id,
    )
    assert entry.detail["reason"] == "not their check-in"
    assert db.commits == commits + 1, "the refusal is committed"
    assert await replies_of(world) == []
    assert await replies_of(other) == []


async def test_a_client_who_stopped_is_kept_out_except_that_crisis_words_alert(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world)
    await db.clients.update(dataclasses.replace(world.client, status=ClientStatus.STOPPED))

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
    alerts = [r for r in outbox_rows(world) if r.kind is OutboxKind.FLAG_ALERT]
    assert alerts
    assert {r.chat_id for r in alerts} == {PRACTITIONER}
