"""Reply: the practitioner's next text after pressing it goes to the client, once, in the
client's waking hours unless the flag is urgent; a client who cannot get it is not written
to. (Which audit entry makes a reply pending is held on the databases, in
``tests/integration/test_flags.py``.)"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.models import ClientStatus, OutboxKind, OutboxState, TriageLevel
from bot.sandbox.text import message_text
from bot.services.flags import lifecycle, replies
from tests.unit.flags.support import (
    CLIENT,
    GUEST,
    LATE_EVENING,
    NOW,
    PRACTITIONER,
    Practice,
    audit,
    by_key,
    outbox_rows,
    raise_,
    rendered,
    reply_with,
    shown,
)


async def test_reply_passes_the_next_text_to_the_client_once(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    prompt = await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    assert "Write your message to <b>Sample &lt;i&gt;Client&lt;/i&gt;</b>" in shown(prompt)
    practice.clock.current = NOW + timedelta(minutes=3)
    sent = await reply_with(practice, "I'm here <b>for you</b> & will call at 11")
    assert sent is not None
    assert sent.text.key == "flag.reply_sent"
    [row] = by_key(practice, "flag-reply:")
    assert row.kind is OutboxKind.NOTICE
    assert row.chat_id == CLIENT
    assert row.client_id == practice.client.id
    assert row.priority == replies.REPLY_PRIORITY
    assert row.due_at == NOW + timedelta(minutes=3)
    html = rendered(row)
    assert "A message from First &lt;Practitioner&gt;" in html
    assert "I'm here &lt;b&gt;for you&lt;/b&gt; &amp; will call at 11" in html
    message_text(html, "HTML")
    entries = [e for e in audit(practice) if e.action.startswith("flag.reply")]
    assert [e.action for e in entries] == ["flag.reply_requested", "flag.reply_sent"]
    assert entries[1].detail == {"client_id": practice.client.id, "outbox_id": row.id}
    assert "call" not in json.dumps([e.detail for e in entries])
    # The reply is closed: the next text is read as usual.
    assert await reply_with(practice, "note to self", message_id=12) is None
    assert len(by_key(practice, "flag-reply:")) == 1


async def test_text_without_a_pending_reply_is_left_alone(practice: Practice) -> None:
    assert await reply_with(practice, "hello") is None
    assert await reply_with(practice, "hi", 1, sender=GUEST) is None
    assert outbox_rows(practice) == []


async def test_a_reply_to_a_concern_waits_for_the_clients_quiet_hours(practice: Practice) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice, TriageLevel.CONCERN)
    assert flag is not None
    await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    queued = await reply_with(practice, "Sleep well, we talk tomorrow")
    assert queued is not None
    assert queued.text.key == "flag.reply_queued"
    assert "Wednesday 2 December at 08:00" in shown(queued)
    [row] = by_key(practice, "flag-reply:")
    assert row.due_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


async def test_a_reply_to_an_urgent_flag_goes_at_once_at_night(practice: Practice) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    sent = await reply_with(practice, "Calling you now")
    assert sent is not None
    assert sent.text.key == "flag.reply_sent"
    [row] = by_key(practice, "flag-reply:")
    assert row.due_at == LATE_EVENING


async def test_acknowledge_does_not_cancel_a_queued_reply(practice: Practice) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice, TriageLevel.CONCERN)
    assert flag is not None
    await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    await reply_with(practice, "Tomorrow morning then")
    await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    [row] = by_key(practice, "flag-reply:")
    assert row.state is OutboxState.PENDING


async def test_a_too_long_reply_is_refused_and_stays_pending(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    too_long = await reply_with(practice, "a" * (replies.REPLY_LIMIT + 1))
    assert too_long is not None
    assert too_long.text.key == "flag.reply_too_long"
    assert by_key(practice, "flag-reply:") == []
    sent = await reply_with(practice, "shorter", message_id=12)
    assert sent is not None
    assert sent.text.key == "flag.reply_sent"


@pytest.mark.parametrize(
    ("status", "key"),
    [
        (ClientStatus.STOPPED, "flag.reply_client_stopped"),
        (ClientStatus.UNREACHABLE, "flag.reply_client_unreachable"),
    ],
)
async def test_no_reply_to_a_client_who_cannot_get_it(
    practice: Practice, status: ClientStatus, key: str
) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    # The client stops after Reply was pressed.
    await practice.db.clients.update(dataclasses.replace(practice.client, status=status))
    answer = await reply_with(practice, "Are you ok?")
    assert answer is not None
    assert answer.text.key == key
    assert by_key(practice, "flag-reply:") == []
    assert await reply_with(practice, "another text", message_id=12) is None  # closed
    asked = await replies.ask_reply(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    assert asked.text.key == key
