"""History (the client's last check-ins with their answers) and ``/flags`` (the open flags,
oldest first), each fitting one message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import CheckInState, TriageLevel
from bot.sandbox.text import message_text, utf16_length
from bot.services.access import Refused
from bot.services.flags import lifecycle
from tests.integration import records
from tests.unit.flags.support import (
    CLIENT,
    NOW,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    audit,
    button_data,
    raise_,
    shown,
)

# --- History ------------------------------------------------------------------------------------


async def test_history_shows_the_last_due_checkins_with_their_answers(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    appointment_id = practice.checkin.appointment_id
    await practice.db.checkins.add(
        records.checkin(
            practice.client.id,
            appointment_id,
            day=3,
            due_at=NOW - timedelta(days=2),
            state=CheckInState.SENT,
        )
    )
    await practice.db.checkins.add(  # still ahead: not shown
        records.checkin(practice.client.id, appointment_id, day=7, due_at=NOW + timedelta(days=4))
    )
    answer = await lifecycle.history(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    html = shown(answer)
    assert "the last 2 check-ins, newest first" in html
    assert "Discomfort: <b>7</b>/10" in html
    assert "Compared with before the session: <b>worse</b>" in html
    assert "Body areas: neck, head &amp; jaw" in html
    assert "<blockquote>It got &lt;b&gt;worse&lt;/b&gt;" in html
    assert "Concern" in html
    assert "no answer" in html
    assert html.index("Tue 1 Dec") < html.index("Sun 29 Nov")  # newest first
    message_text(html, "HTML")
    [entry] = [e for e in audit(practice) if e.action == "flag.history_viewed"]
    assert entry.detail["client_id"] == practice.client.id


async def test_history_shortens_long_words(practice: Practice) -> None:
    await practice.db.replies.add(
        records.reply(
            practice.client.id,
            checkin_id=practice.checkin.id,
            received_at=NOW - timedelta(minutes=1),
            telegram_message_id=4243,
            score=None,
            comparison=None,
            body_areas=(),
            text="long " * 400,
        )
    )
    flag = await raise_(practice)
    assert flag is not None
    html = shown(
        await lifecycle.history(
            practice.ctx,
            actor=PRACTITIONER,
            flag_id=flag.id,
        )
    )
    assert "(shortened)" in html
    assert "long " * 60 not in html
    assert "Discomfort: <b>7</b>/10" in html  # the earlier step's score still counts


async def test_history_without_checkins_says_so(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    practice.clock.current = NOW - timedelta(hours=2)  # before the check-in was due
    answer = await lifecycle.history(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    assert answer.text.key == "flag.history_none"


# --- /flags -------------------------------------------------------------------------------------


async def test_flags_lists_open_flags_oldest_first_with_buttons(practice: Practice) -> None:
    assert (
        await lifecycle.open_flags(practice.ctx, actor=PRACTITIONER)
    ).text.key == "flag.none_open"
    first = await raise_(practice)
    practice.clock.current = NOW + timedelta(hours=1)
    second = await raise_(practice, TriageLevel.URGENT)
    practice.clock.current = NOW + timedelta(hours=2)
    third = await raise_(practice, checkin_id=None)
    assert first
    assert second
    assert third
    await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=third.id)
    answer = await lifecycle.open_flags(practice.ctx, actor=PRACTITIONER)
    html = shown(answer)
    assert "<b>Open flags</b> (2)" in html
    assert html.index("1. 🟠 Concern") < html.index("2. 🔴 Urgent")
    assert button_data(answer) == [
        callbacks.flag(first.id, FlagAction.ACKNOWLEDGE),
        callbacks.flag(first.id, FlagAction.REPLY),
        callbacks.flag(first.id, FlagAction.HISTORY),
        callbacks.flag(second.id, FlagAction.ACKNOWLEDGE),
        callbacks.flag(second.id, FlagAction.REPLY),
        callbacks.flag(second.id, FlagAction.HISTORY),
    ]
    message_text(html, "HTML")
    other = await lifecycle.open_flags(practice.ctx, actor=OTHER_PRACTITIONER)
    assert other.text.key == "flag.none_open"
    with pytest.raises(Refused):
        await lifecycle.open_flags(practice.ctx, actor=CLIENT)


async def test_a_long_list_fits_one_message(practice: Practice) -> None:
    for n in range(lifecycle.LIST_LIMIT + 5):
        assert await raise_(practice, checkin_id=1000 + n, reasons=("x" * 300,) * 5)
    answer = await lifecycle.open_flags(practice.ctx, actor=PRACTITIONER)
    text = message_text(shown(answer), "HTML").text
    assert utf16_length(text) <= 4096
    assert "and 5 more" in text
    assert len(answer.buttons) == lifecycle.LIST_LIMIT
