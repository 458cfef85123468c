"""The reply log: an edit is a new version, never an overwrite; the same message delivered
twice is logged once; media during a check-in is logged without its content."""

from __future__ import annotations

import dataclasses

from bot.domain.models import CheckInStep, TriageLevel
from tests.fakes import FakeDatabase
from tests.unit.checkins.support import (
    CLIENT,
    add_checkin,
    flags_of,
    open_aftercare,
    replies_of,
    say,
    show_media,
)


async def test_an_edit_is_a_new_version_and_never_overwrites(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
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
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    await add_checkin(world)
    first = await say(world, "I want to die", 801)
    again = await say(world, "I want to die", 801)
    assert first is not None
    assert again is not None
    assert first.text.key == again.text.key == "crisis.urgent"
    assert len(await replies_of(world)) == 1
    assert len(await flags_of(world)) == 1


async def test_a_photo_during_a_check_in_gets_a_kind_ask_and_is_logged_without_content(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    assert await show_media(world, 1, "photo") is None
    checkin = await add_checkin(world)

    answer = await show_media(world, 2, "photo")

    assert answer is not None
    assert answer.text.key == "checkin.not_text"
    [entry] = [e for e in db.audit.entries if e.action == "checkin.not_text"]
    assert (entry.subject_type, entry.subject_id, entry.actor_telegram_id) == (
        "checkin",
        checkin.id,
        CLIENT,
    )
    assert entry.detail == {"client_id": world.client.id, "kind": "photo", "message_id": 2}
    assert await replies_of(world) == []
    # Once the check-in is done, media gets the general answer again.
    await db.checkins.update(dataclasses.replace(checkin, step=CheckInStep.DONE))
    assert await show_media(world, 3, "voice") is None
