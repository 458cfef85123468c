"""The check-in conversation step by step: a score, a comparison, body areas and words,
each logged as a reply; skipping; a check-in just sent; and "remind me later"."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import callbacks
from bot.domain.aftercare import BODY_AREAS
from bot.domain.callbacks import CheckInAction
from bot.domain.models import CheckInState, CheckInStep, OutboxKind, OutboxState, TriageLevel
from bot.services.checkins import views
from bot.services.checkins.conversation import snooze_key
from messages import render_plain
from tests.fakes import FakeDatabase
from tests.integration import records
from tests.unit.checkins.support import (
    CLIENT,
    NOW,
    POLICY,
    SENT,
    add_checkin,
    alerts,
    button_data,
    flags_of,
    open_aftercare,
    outbox_rows,
    picker_data,
    press,
    refused_key,
    replies_of,
    say,
    shown,
    stored_checkin,
)


async def test_a_calm_check_in_goes_step_by_step_and_ends_with_the_matching_note(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
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
    # Two notes are two paragraphs on the phone, not one run-on block.
    notes = (render_plain("aftercare.tired", "en"), render_plain("aftercare.sore", "en"))
    assert "\n\n".join(notes) in text  # in the order mentioned
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
    assert alerts(world) == []


async def test_every_step_can_be_skipped_and_the_thanks_has_the_general_note(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
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


async def test_done_with_no_area_ticked_is_a_skip(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world, step=CheckInStep.AREAS)
    answer = await press(world, checkin, CheckInAction.AREAS_DONE)
    assert answer.text.key == "checkin.text_question"
    assert await replies_of(world) == []
    assert (await stored_checkin(world, checkin.id)).step is CheckInStep.TEXT


async def test_a_check_in_just_sent_is_answerable_before_its_state_follows(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world, state=CheckInState.SCHEDULED)
    await db.outbox.add(
        records.outbox_message(
            CLIENT,
            kind=OutboxKind.CHECKIN,
            dedup_key=f"checkin:{checkin.id}",
            state=OutboxState.SENT,
            template="checkin.score_question",
        )
    )
    await say(world, "feeling calm", 9)
    [reply] = await replies_of(world)
    assert reply.checkin_id == checkin.id
    assert (await stored_checkin(world, checkin.id)).state is CheckInState.ANSWERED


# --- remind me later ----------------------------------------------------------------------------


async def test_later_offers_choices_and_a_snooze_asks_the_current_step_again(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
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
    rows = [r for r in outbox_rows(world) if r.kind is OutboxKind.CHECKIN]
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


async def test_a_finished_check_in_cannot_be_snoozed(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world, step=CheckInStep.DONE)
    assert await refused_key(press(world, checkin, CheckInAction.LATER)) == "checkin.finished"
    assert await refused_key(press(world, checkin, CheckInAction.SCORE, 2)) == "checkin.finished"
