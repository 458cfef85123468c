"""The morning digest: every answer since the morning before (calm ones too) and the
check-ins left unanswered, one line each, with a button to each client's card."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.domain import callbacks
from bot.domain.models import CheckInState, TriageLevel
from bot.sandbox.text import message_text
from bot.services.delivery.outbox import decode
from tests.integration import records
from tests.unit.flags.support import MORNING, NOW, Practice, button_data, morning, rendered
from tests.unit.practice.support import answered_checkin

YESTERDAY_MORNING = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
THIS_MORNING = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


async def test_the_digest_lists_calm_answers_and_unanswered_check_ins(practice: Practice) -> None:
    calm = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="Calm Person", telegram_user_id=None)
    )
    await answered_checkin(practice, NOW + timedelta(hours=2), score=2, client=calm, text="fine")
    quiet = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="Quiet Person", telegram_user_id=None)
    )
    unanswered = await answered_checkin(practice, NOW, score=None, client=quiet, day=2)
    await practice.db.checkins.update(dataclasses.replace(unanswered, state=CheckInState.SENT))
    for reply in await practice.db.replies.for_checkin(unanswered.id):
        practice.db.replies.remove_rows([reply.id])

    [row] = await morning(practice, MORNING)

    assert row.template == "digest.digest"
    text = message_text(rendered(row), "HTML").text
    assert text.splitlines() == [
        "🌿 Answers since Tue 1 Dec, 08:00 (2 answered, 1 without an answer)",
        "• Calm Person · day 3 · 2/10 · “fine” · 🟢 No concern",
        "• Sample <i>Client</i> · day 1 · 7/10 · worse since the session · "
        "“It got <b>worse</b> & I </blockquote> can't sleep” · 🟠 Concern",
        "• Quiet Person · day 2 · no answer yet",
    ]
    message, _ = decode(row)
    assert button_data(message) == [
        callbacks.card(calm.id),
        callbacks.card(practice.client.id),
        callbacks.card(quiet.id),
    ]
    assert row.forget_after_send


async def test_each_answer_is_in_exactly_one_digest(practice: Practice) -> None:
    # The practice's answer came 08:55 yesterday; add one just before yesterday's morning,
    # one just before this morning's and one just after.
    for received in (
        YESTERDAY_MORNING - timedelta(minutes=1),
        THIS_MORNING - timedelta(minutes=1),
        THIS_MORNING + timedelta(minutes=1),
    ):
        await practice.db.replies.add(
            records.reply(
                practice.client.id, received_at=received, telegram_message_id=None, text="w"
            )
        )
    [row] = await morning(practice, MORNING)
    assert row.payload["params"]["counts"]["params"]["answered"] == 2  # and the one at 07:59
    [tomorrow] = [r for r in await morning(practice, MORNING + timedelta(days=1)) if r != row]
    assert tomorrow.payload["params"]["counts"]["params"]["answered"] == 1  # 08:01


async def test_a_long_digest_comes_in_pages_and_none_when_turned_off(practice: Practice) -> None:
    for number in range(40):
        someone = await practice.db.clients.add(
            records.client(
                practice.practitioner.id, full_name=f"Client {number:02}", telegram_user_id=None
            )
        )
        await answered_checkin(
            practice,
            NOW + timedelta(minutes=number),
            score=number % 11,
            client=someone,
            text="a long message " * 20,
            level=TriageLevel.NONE,
        )
    rows = await morning(practice, MORNING)
    key = f"morning:{practice.practitioner.id}:2026-12-02"
    assert [r.dedup_key for r in rows] == [key, f"{key}:2", f"{key}:3"]
    lines = 0
    for row in rows:
        text = message_text(rendered(row), "HTML").text
        assert len(text) <= 4096
        assert "(41 answered)" in text
        lines += sum(1 for line in text.splitlines() if line.startswith("• "))
    assert lines == 41
    assert "· 3 of 3" in message_text(rendered(rows[-1]), "HTML").text

    await practice.db.replies.add(
        records.reply(practice.client.id, received_at=MORNING, telegram_message_id=None)
    )
    await practice.db.practitioners.update(dataclasses.replace(practice.practitioner, digest=False))
    assert await morning(practice, MORNING + timedelta(days=1)) == rows  # nothing new
    await practice.db.practitioners.update(dataclasses.replace(practice.practitioner, digest=True))
    assert len(await morning(practice, MORNING + timedelta(days=2))) == len(rows)  # a new day
    assert len(await morning(practice, MORNING + timedelta(days=1, hours=1))) == len(rows) + 1
