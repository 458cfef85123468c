"""After several unanswered check-ins the client is asked, once, whether to keep them: "no"
pauses them, "yes" or any answer goes on, and silence pauses them after three days."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain import callbacks
from bot.domain.callbacks import CheckInAction
from bot.domain.models import Client, OutboxKind, OutboxState
from bot.services.checkins import prompts
from bot.services.context import UseCaseContext
from tests.fakes import FakeDatabase
from tests.integration import records
from tests.unit.checkins.support import (
    CLIENT,
    NOW,
    POLICY,
    add_checkin,
    ask,
    client_now,
    keep_questions,
    open_aftercare,
    outbox_rows,
    press,
    unanswered_checkins,
)


async def test_after_three_unanswered_check_ins_the_client_is_asked_once(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    await unanswered_checkins(world, 3)  # the third was just sent: two count so far
    await ask(world)
    assert keep_questions(outbox_rows(world)) == []

    world.clock.current = NOW + timedelta(days=1)
    await add_checkin(world, 4, due_at=world.clock.current)
    await ask(world)
    world.clock.current += timedelta(hours=1)
    await ask(world)

    [question] = keep_questions(outbox_rows(world))
    assert (question.chat_id, question.kind, question.state) == (
        CLIENT,
        OutboxKind.CHECKIN,
        OutboxState.PENDING,
    )
    assert [row[0]["data"] for row in question.payload["buttons"]] == [
        callbacks.keep_checkins(True)
    ]
    assert (await client_now(world)).checkin_prompt_at == NOW + timedelta(days=1)


async def test_no_pauses_check_ins_and_cancels_the_queued_ones(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkins = await unanswered_checkins(world, 4)
    await ask(world)
    await db.outbox.add(
        records.outbox_message(
            CLIENT,
            kind=OutboxKind.CHECKIN,
            dedup_key="checkin:99",
            client_id=world.client.id,
            due_at=NOW + timedelta(days=2),
        )
    )

    answer = await prompts.answer_keep_checkins(
        UseCaseContext(db, world.clock, records.policy()), actor=CLIENT, keep=False
    )

    assert answer.text.key == "checkin.keep_no"
    client = await client_now(world)
    assert (client.checkins_paused, client.checkin_prompt_at) == (True, None)
    rows = [r for r in outbox_rows(world) if r.kind is OutboxKind.CHECKIN]
    assert {r.state for r in rows} == {OutboxState.CANCELLED}
    assert len(checkins) == 4


async def test_yes_keeps_them_and_an_answer_counts_as_yes(db: FakeDatabase) -> None:
    world = await open_aftercare(db)
    checkins = await unanswered_checkins(world, 4)
    await ask(world)
    answer = await prompts.answer_keep_checkins(
        UseCaseContext(db, world.clock, records.policy()), actor=CLIENT, keep=True
    )
    assert answer.text.key == "checkin.keep_yes"
    client = await client_now(world)
    assert (client.checkins_paused, client.checkin_prompt_at) == (False, None)

    await db.clients.update(dataclasses.replace(client, checkin_prompt_at=NOW))
    await press(world, checkins[-1], CheckInAction.SCORE, 1)
    assert (await client_now(world)).checkin_prompt_at is None


async def test_silence_after_the_question_pauses_check_ins_after_three_days(
    db: FakeDatabase,
) -> None:
    world = await open_aftercare(db)
    await unanswered_checkins(world, 4)
    await ask(world)

    async def pause_silent() -> list[Client]:
        async with db() as uow:
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
    rows = outbox_rows(world)
    [notice] = [r for r in rows if r.template == "checkin.paused_silent"]
    assert (notice.chat_id, notice.state) == (CLIENT, OutboxState.PENDING)
    [question] = keep_questions(rows)
    assert question.state is OutboxState.CANCELLED  # never sent? then it never will be
