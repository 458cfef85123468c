"""Flags through the real application (offline Bot API, fake database): the buttons, Reply
and free text, flood control that still hears crisis words, and a client who blocked the
bot and comes back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

import messages
from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import ClientStatus, TriageLevel
from bot.services.privacy import rights
from tests.handlers.offline import BOT_USER
from tests.integration import records
from tests.integration.support import Bot
from tests.unit.flags.support import (
    CLIENT,
    FLOOD_BUDGET,
    GUEST,
    NOW,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    by_key,
    raise_,
    rendered,
)


async def test_reply_through_the_bot_and_free_text_otherwise(practice: Practice, bot: Bot) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    free_text = messages.render("input.free_text")
    assert await bot.send(PRACTITIONER, "just a note") == [free_text]
    [prompt] = await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.REPLY))
    assert "Write your message to" in prompt
    [confirmation] = await bot.send(PRACTITIONER, "I'll call you <now>")
    assert "on its way to" in confirmation
    [row] = by_key(practice, "flag-reply:")
    assert "I'll call you &lt;now&gt;" in rendered(row)
    assert await bot.send(PRACTITIONER, "another note") == [free_text]
    # A client's text is never taken as a reply (whatever else reads it).
    [to_client] = await bot.send(CLIENT, "hello")
    assert "on its way" not in to_client
    assert len(by_key(practice, "flag-reply:")) == 1


async def test_buttons_through_the_bot(practice: Practice, bot: Bot) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    [listed] = await bot.send(PRACTITIONER, "/flags")
    assert "Open flags" in listed
    [done] = await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE))
    assert "Acknowledged at 10:00" in done
    [again] = await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE))
    assert "already acknowledged" in again
    [history] = await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.HISTORY))
    assert "the last check-in" in history
    [refused] = await bot.press(OTHER_PRACTITIONER, callbacks.flag(flag.id, FlagAction.HISTORY))
    assert refused == messages.render("access.not_found")
    # The alert itself is never edited away.
    assert not [c for c in bot.request.calls if c.method.startswith("editMessage")]


async def test_a_reply_pending_for_a_client_who_erased_goes_to_nobody_else(
    practice: Practice, bot: Bot
) -> None:
    first = await raise_(practice, TriageLevel.URGENT)
    assert first is not None
    other = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="Second", telegram_user_id=OTHER_CLIENT)
    )
    reply = await practice.db.replies.add(records.reply(other.id, telegram_message_id=77))
    second = await practice.db.flags.add(
        records.flag(reply.id, other.id, practice.practitioner.id, level=TriageLevel.URGENT)
    )
    await bot.press(PRACTITIONER, callbacks.flag(first.id, FlagAction.REPLY))
    await bot.press(PRACTITIONER, callbacks.flag(second.id, FlagAction.REPLY))
    await rights.erase(practice.ctx, OTHER_CLIENT)
    answer = await bot.send(PRACTITIONER, "I am here for you")
    assert answer == [messages.render("input.free_text")]
    assert by_key(practice, "flag-reply:") == []


async def test_a_flooding_client_hears_slow_down_once_and_every_word_is_kept_and_triaged(
    practice: Practice, strict_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [await strict_bot.send(CLIENT, f"a bit tired, message {n}") for n in range(12)]
    assert all(len(a) == 1 for a in answers[:FLOOD_BUDGET])
    assert answers[FLOOD_BUDGET] == [messages.render("input.slow_down")]
    assert answers[FLOOD_BUDGET + 1 :] == [[]] * (12 - FLOOD_BUDGET - 1)
    # Crisis words during the flood still get their answer at once, and an alert.
    [crisis] = await strict_bot.send(CLIENT, "I want to kill myself")
    assert "Thank you for telling me" in crisis
    alerts = [r for r in by_key(practice, "flag:") if r.dedup_key.endswith(":alert")]
    assert any("Urgent" in rendered(alert) for alert in alerts)
    stored = await practice.db.replies.for_client(practice.client.id)
    words = {r.text for r in stored}
    assert {f"a bit tired, message {n}" for n in range(12)} <= words
    assert "I want to kill myself" in words
    warnings = [r for r in caplog.records if "updates in" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelname == "WARNING"
    assert "tired" not in caplog.text


async def test_a_flooding_stranger_is_ignored_and_others_are_answered(strict_bot: Bot) -> None:
    answers = [await strict_bot.send(GUEST, f"spam {n}") for n in range(FLOOD_BUDGET + 5)]
    assert all(len(a) == 1 for a in answers[:FLOOD_BUDGET])
    assert answers[FLOOD_BUDGET:] == [[]] * 5
    assert len(await strict_bot.send(PRACTITIONER, "/flags")) == 1
    assert len(await strict_bot.send(CLIENT, "feeling fine today")) == 1


async def _make_unreachable(practice: Practice) -> None:
    """A session in three days, and the client marked unreachable (they blocked the bot)."""
    await practice.db.appointments.add(
        records.appointment(
            practice.practitioner.id, practice.client.id, starts_at=NOW + timedelta(days=3)
        )
    )
    await practice.db.clients.update(
        dataclasses.replace(practice.client, status=ClientStatus.UNREACHABLE)
    )


async def test_unblocking_makes_a_client_reachable_again_with_their_reminders(
    practice: Practice, bot: Bot
) -> None:
    await _make_unreachable(practice)
    member = {
        "chat": {"id": CLIENT, "type": "private", "first_name": "U"},
        "from": {"id": CLIENT, "is_bot": False, "first_name": "U"},
        "date": 1_767_000_000,
        "old_chat_member": {"status": "kicked", "user": BOT_USER, "until_date": 0},
        "new_chat_member": {"status": "member", "user": BOT_USER},
    }
    await bot.feed({"my_chat_member": member})
    client = await practice.db.clients.get(practice.client.id)
    assert client is not None
    assert client.status is ClientStatus.ACTIVE
    assert by_key(practice, "reminder:")
    [notice] = by_key(practice, "reachable:")
    assert "can be reached on Telegram again" in rendered(notice)


async def test_an_unreachable_client_who_writes_is_heard_and_their_crisis_alerts(
    practice: Practice, bot: Bot
) -> None:
    await _make_unreachable(practice)
    [answer] = await bot.send(CLIENT, "I want to die")
    assert "Thank you for telling me" in answer
    assert "stopped" not in answer
    alerts = [r for r in by_key(practice, "flag:") if r.dedup_key.endswith(":alert")]
    assert any("Urgent" in rendered(alert) for alert in alerts)
    client = await practice.db.clients.get(practice.client.id)
    assert client is not None
    assert client.status is ClientStatus.ACTIVE
