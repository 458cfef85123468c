"""Raising a flag: what is stored, the alerts and their escalation, the client's words
quoted safely, and never twice for the same concern."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import FlagState, OutboxKind, TriageLevel
from bot.sandbox.text import message_text, utf16_length
from bot.services.delivery.outbox import decode
from bot.services.flags import lifecycle
from tests.unit.flags.support import (
    BACKUP,
    LATE_EVENING,
    NOW,
    PRACTITIONER,
    WORDS,
    Practice,
    audit,
    button_data,
    by_key,
    outbox_rows,
    raise_,
    rendered,
    stored_flag,
)


async def test_a_concern_is_stored_and_alerted_at_once_even_in_quiet_hours(
    practice: Practice,
) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice)
    assert flag is not None
    stored = await stored_flag(practice, flag.id)
    assert stored.state is FlagState.OPEN
    assert stored.level is TriageLevel.CONCERN
    assert stored.checkin_id == practice.checkin.id
    assert stored.reply_id == practice.reply.id
    assert stored.reasons == ("discomfort up by 4 points", "worse than before the session")
    [alert] = outbox_rows(practice)
    assert alert.kind is OutboxKind.FLAG_ALERT
    assert alert.chat_id == PRACTITIONER
    assert alert.due_at == LATE_EVENING  # never held by quiet hours
    assert alert.silent is False
    assert alert.priority == lifecycle.PRIORITY[TriageLevel.CONCERN]
    assert alert.dedup_key == f"flag:{flag.id}:alert"
    # An alert is about the client, not to them: their /stop must not cancel it.
    assert alert.client_id is None
    assert alert.practitioner_id == practice.practitioner.id
    message, _ = decode(alert)
    assert button_data(message) == [
        callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE),
        callbacks.flag(flag.id, FlagAction.REPLY),
        callbacks.flag(flag.id, FlagAction.HISTORY),
    ]


async def test_the_alert_names_the_client_level_reasons_score_change_and_quotes_the_words(
    practice: Practice,
) -> None:
    await raise_(practice)
    [alert] = outbox_rows(practice)
    html = rendered(alert)
    assert "Sample &lt;i&gt;Client&lt;/i&gt;" in html
    assert "Concern" in html
    assert "discomfort up by 4 points" in html
    assert "worse than before the session" in html
    assert "<b>7</b>/10, up from 3" in html
    assert "Compared with before the session: <b>worse</b>" in html
    assert (
        "<blockquote>It got &lt;b&gt;worse&lt;/b&gt; &amp; I &lt;/blockquote&gt; "
        "can't sleep</blockquote>" in html
    )
    text = message_text(html, "HTML").text  # Telegram's HTML rules accept it
    assert WORDS in text


async def test_four_thousand_emoji_are_shortened_to_fit_one_message(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, words="😭" * 4000, reasons=("r" * 500,) * 9)
    assert flag is not None
    for row in by_key(practice, f"flag:{flag.id}:"):
        shown_text = message_text(rendered(row), "HTML").text
        assert 0 < utf16_length(shown_text) <= 4096
    [alert] = by_key(practice, f"flag:{flag.id}:alert")
    assert "(shortened)" in rendered(alert)


async def test_an_open_flag_for_the_same_checkin_is_not_raised_twice(practice: Practice) -> None:
    first = await raise_(practice)
    assert first is not None
    assert await raise_(practice) is None  # same level
    assert len(outbox_rows(practice)) == 1
    urgent = await raise_(practice, TriageLevel.URGENT)  # higher: a new flag
    assert urgent is not None
    assert urgent.id != first.id
    assert await raise_(practice, TriageLevel.CONCERN) is None  # lower than the open urgent
    assert await raise_(practice, TriageLevel.URGENT) is None
    open_now = await practice.db.flags.open_for_practitioner(practice.practitioner.id)
    assert [f.id for f in open_now] == [first.id, urgent.id]


async def test_words_after_a_tap_reach_the_practitioner_of_the_open_flag(
    practice: Practice,
) -> None:
    tapped = await raise_(practice, words=None)  # a score alone raised it
    assert tapped is not None
    words = await practice.db.replies.add(
        dataclasses.replace(practice.reply, id=0, score=None, telegram_message_id=99)
    )
    practice.reply = words

    assert await raise_(practice) is None  # the same concern: no second flag

    [alert] = by_key(practice, f"flag:{tapped.id}:words:{words.id}")
    assert alert.kind is OutboxKind.FLAG_ALERT
    assert "&lt;b&gt;worse" in rendered(alert)
    assert callbacks.flag(tapped.id, FlagAction.ACKNOWLEDGE) in button_data(decode(alert)[0])


async def test_another_checkin_or_an_acknowledged_flag_does_not_block_a_new_one(
    practice: Practice,
) -> None:
    first = await raise_(practice)
    assert first is not None
    assert await raise_(practice, checkin_id=None) is not None  # free text, no check-in
    await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=first.id)
    assert await raise_(practice) is not None


async def test_level_none_raises_nothing(practice: Practice) -> None:
    assert await raise_(practice, TriageLevel.NONE) is None
    assert outbox_rows(practice) == []


async def test_an_urgent_flag_without_backup_is_repeated_after_15_minutes(
    practice: Practice,
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    rows = {r.dedup_key: r for r in outbox_rows(practice)}
    assert set(rows) == {f"flag:{flag.id}:alert", f"flag:{flag.id}:again"}
    again = rows[f"flag:{flag.id}:again"]
    assert again.kind is OutboxKind.FLAG_ALERT
    assert again.chat_id == PRACTITIONER
    assert again.due_at == NOW + timedelta(minutes=15)
    assert again.priority == lifecycle.PRIORITY[TriageLevel.URGENT] == 100
    assert "Still not acknowledged after 15 minutes" in rendered(again)
    assert "&lt;b&gt;worse" in rendered(again)
    assert callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE) in button_data(decode(again)[0])


async def test_an_urgent_flag_goes_to_the_backup_after_30_minutes_without_the_words(
    practice: Practice,
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    [backup] = by_key(practice, f"flag:{flag.id}:backup")
    assert backup.chat_id == BACKUP
    assert backup.kind is OutboxKind.FLAG_ALERT
    assert backup.due_at == NOW + timedelta(minutes=30)
    assert backup.client_id is None
    html = rendered(backup)
    assert "Sample &lt;i&gt;Client&lt;/i&gt;" in html
    assert "Urgent" in html
    assert "discomfort up by 4 points" in html
    assert "First &lt;Practitioner&gt; has not acknowledged" in html
    assert "sleep" not in html
    assert "sleep" not in json.dumps(backup.payload)
    assert decode(backup)[0].buttons == ()
    message_text(html, "HTML")


async def test_a_concern_has_no_repeat_and_no_backup(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.CONCERN, backup=BACKUP)
    assert flag is not None
    assert [r.dedup_key for r in outbox_rows(practice)] == [f"flag:{flag.id}:alert"]


async def test_the_audit_log_holds_ids_and_levels_never_words(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    [entry] = [e for e in audit(practice) if e.action == "flag.raised"]
    assert entry.subject_id == flag.id
    assert entry.detail["level"] == "urgent"
    assert entry.detail["client_id"] == practice.client.id
    assert entry.detail["escalations"] == ["again", "backup"]
    assert "sleep" not in json.dumps(entry.detail)
    assert "discomfort" not in json.dumps(entry.detail)


async def test_nothing_is_logged_with_the_clients_words(
    practice: Practice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="bot")
    await raise_(practice, TriageLevel.URGENT)
    assert "raised: level=urgent" in caplog.text
    assert "sleep" not in caplog.text
