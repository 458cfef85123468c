"""Flags on real databases: raising one (alerts, escalation, the words quoted safely),
Acknowledge, Reply, History, ``/flags`` and the morning list, and who may press what.

Every test reads back what was stored (flags, outbox rows, audit entries) rather than
trusting the answer alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import messages
from bot.db.mapping import to_domain
from bot.db.tables import OutboxRow
from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.delivery import MessageRejected, RecipientUnreachable
from bot.domain.models import (
    AppointmentStatus,
    AuditEntry,
    CheckIn,
    CheckInState,
    Client,
    ClientStatus,
    Flag,
    FlagState,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, SentMessage
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.runtime import Runtime
from bot.sandbox.text import message_text, utf16_length
from bot.services.access import Refused
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.outbox import decode
from bot.services.flags import lifecycle, replies
from bot.services.incoming import Words, receive_words
from bot.services.policy import Policy
from bot.services.practice import morning_list
from bot.services.privacy import rights
from bot.settings import load_settings
from bot.telegram import flag_jobs
from bot.triage_data import LoadedTriage
from tests.fakes import FixedClock
from tests.handlers.offline import BOT_USER, offline_application
from tests.integration import records
from tests.integration.support import Bot

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
LATE_EVENING = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: quiet hours
PRACTITIONER = 7_200_000_001
OTHER_PRACTITIONER = 7_200_000_002
CLIENT = 8_200_000_001
BACKUP = 7_200_000_999
GUEST = 8_200_000_777
OTHER_CLIENT = 8_200_000_002
BERLIN = "Europe/Berlin"
WORDS = "It got <b>worse</b> & I </blockquote> can't sleep"
THE_CHECKIN = -1  # raise_(): the practice's day-1 check-in


def policy(backup: int | None = None) -> Policy:
    return Policy(
        quiet=QuietHours(time(21, 0), time(8, 0)),
        reminder_offsets=(timedelta(hours=24),),
        invite_ttl=timedelta(days=7),
        default_timezone="UTC",
        triage=LoadedTriage(),
        backup_contact_chat_id=backup,
    )


@dataclass
class Practice:
    """One practitioner in Berlin, a joined client, a session, its day-1 check-in and a reply."""

    uow: UnitOfWorkFactory
    engine: AsyncEngine
    clock: FixedClock
    practitioner: Practitioner
    other: Practitioner
    client: Client
    checkin: CheckIn
    reply: Reply


@pytest.fixture
async def practice(uow_factory: UnitOfWorkFactory, engine: AsyncEngine) -> Practice:
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(
            records.practitioner(PRACTITIONER, display_name="First <Practitioner>", created_at=NOW)
        )
        other = await uow.practitioners.add(
            records.practitioner(OTHER_PRACTITIONER, display_name="Other", created_at=NOW)
        )
        client = await uow.clients.add(
            records.client(
                practitioner.id,
                full_name="Sample <i>Client</i>",
                telegram_user_id=CLIENT,
                locale="en",
                timezone=BERLIN,
            )
        )
        appointment = await uow.appointments.add(
            records.appointment(
                practitioner.id,
                client.id,
                starts_at=NOW - timedelta(days=2),
                status=AppointmentStatus.COMPLETED,
            )
        )
        checkin = await uow.checkins.add(
            records.checkin(
                client.id,
                appointment.id,
                due_at=NOW - timedelta(hours=1),
                state=CheckInState.ANSWERED,
            )
        )
        reply = await uow.replies.add(
            records.reply(
                client.id,
                checkin_id=checkin.id,
                received_at=NOW - timedelta(minutes=5),
                score=7,
                comparison="worse",
                body_areas=("neck", "head_jaw"),
                text=WORDS,
                triage_level=TriageLevel.CONCERN,
                triage_reasons=("discomfort up by 4 points",),
            )
        )
        await uow.commit()
    return Practice(
        uow_factory, engine, FixedClock(NOW), practitioner, other, client, checkin, reply
    )


async def raise_(
    practice: Practice,
    level: TriageLevel = TriageLevel.CONCERN,
    *,
    backup: int | None = None,
    words: str | None = WORDS,
    reasons: tuple[str, ...] = ("discomfort up by 4 points", "worse than before the session"),
    checkin_id: int | None = THE_CHECKIN,
) -> Flag | None:
    async with practice.uow() as uow:
        flag = await lifecycle.raise_flag(
            uow,
            practice.clock,
            policy(backup),
            client=practice.client,
            practitioner=practice.practitioner,
            reply=practice.reply,
            checkin_id=practice.checkin.id if checkin_id == THE_CHECKIN else checkin_id,
            level=level,
            reasons=reasons,
            score=7,
            previous_score=3,
            change="worse",
            words=words,
        )
        await uow.commit()
    return flag


async def outbox_rows(engine: AsyncEngine) -> list[OutboxMessage]:
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [to_domain(row, OutboxMessage) for row in rows]


async def by_key(engine: AsyncEngine, prefix: str) -> list[OutboxMessage]:
    return [r for r in await outbox_rows(engine) if r.dedup_key.startswith(prefix)]


async def stored_flag(practice: Practice, flag_id: int) -> Flag:
    async with practice.uow() as uow:
        flag = await uow.flags.get(flag_id)
    assert flag is not None
    return flag


async def audit(practice: Practice) -> list[AuditEntry]:
    async with practice.uow() as uow:
        return list(reversed(await uow.audit.recent(500)))


def rendered(row: OutboxMessage) -> str:
    message, locale = decode(row)
    return messages.render(message.text.key, locale, **message.text.params)


def shown(message: OutgoingMessage, locale: str = "en") -> str:
    return messages.render(message.text.key, locale, **message.text.params)


def button_data(message: OutgoingMessage) -> list[str | None]:
    return [button.callback_data for row in message.buttons for button in row]


# --- raising a flag ---------------------------------------------------------------------------


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
    [alert] = await outbox_rows(practice.engine)
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
    [alert] = await outbox_rows(practice.engine)
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
    for row in await by_key(practice.engine, f"flag:{flag.id}:"):
        shown_text = message_text(rendered(row), "HTML").text
        assert 0 < utf16_length(shown_text) <= 4096
    [alert] = await by_key(practice.engine, f"flag:{flag.id}:alert")
    assert "(shortened)" in rendered(alert)


async def test_an_open_flag_for_the_same_checkin_is_not_raised_twice(practice: Practice) -> None:
    first = await raise_(practice)
    assert first is not None
    assert await raise_(practice) is None  # same level
    assert len(await outbox_rows(practice.engine)) == 1
    urgent = await raise_(practice, TriageLevel.URGENT)  # higher: a new flag
    assert urgent is not None
    assert urgent.id != first.id
    assert await raise_(practice, TriageLevel.CONCERN) is None  # lower than the open urgent
    assert await raise_(practice, TriageLevel.URGENT) is None
    async with practice.uow() as uow:
        open_now = await uow.flags.open_for_practitioner(practice.practitioner.id)
    assert [f.id for f in open_now] == [first.id, urgent.id]


async def test_words_after_a_tap_reach_the_practitioner_of_the_open_flag(
    practice: Practice,
) -> None:
    tapped = await raise_(practice, words=None)  # a score alone raised it
    assert tapped is not None
    async with practice.uow() as uow:
        words = await uow.replies.add(
            dataclasses.replace(practice.reply, id=0, score=None, telegram_message_id=99)
        )
        await uow.commit()
    practice.reply = words

    assert await raise_(practice) is None  # the same concern: no second flag

    [alert] = await by_key(practice.engine, f"flag:{tapped.id}:words:{words.id}")
    assert alert.kind is OutboxKind.FLAG_ALERT
    assert "&lt;b&gt;worse" in rendered(alert)
    assert callbacks.flag(tapped.id, FlagAction.ACKNOWLEDGE) in button_data(decode(alert)[0])


async def test_another_checkin_or_an_acknowledged_flag_does_not_block_a_new_one(
    practice: Practice,
) -> None:
    first = await raise_(practice)
    assert first is not None
    assert await raise_(practice, checkin_id=None) is not None  # free text, no check-in
    await lifecycle.acknowledge(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=first.id)
    assert await raise_(practice) is not None


async def test_level_none_raises_nothing(practice: Practice) -> None:
    assert await raise_(practice, TriageLevel.NONE) is None
    assert await outbox_rows(practice.engine) == []


async def test_an_urgent_flag_without_backup_is_repeated_after_15_minutes(
    practice: Practice,
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    rows = {r.dedup_key: r for r in await outbox_rows(practice.engine)}
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
    [backup] = await by_key(practice.engine, f"flag:{flag.id}:backup")
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


class RefusingPractitioner:
    """Telegram refusing every send to one chat (the practitioner's) with ``failure``."""

    def __init__(self, refused: int, failure: Exception) -> None:
        self.refused = refused
        self.failure = failure
        self.sent: list[tuple[int, str]] = []

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        if chat_id == self.refused:
            raise self.failure
        self.sent.append(
            (chat_id, messages.render(message.text.key, locale, **message.text.params))
        )
        return SentMessage(chat_id, len(self.sent))


OPERATOR = 7_200_000_555


def escalating_dispatcher(practice: Practice, notifier: RefusingPractitioner) -> Dispatcher:
    """The dispatcher with a backup contact and an operator chat to escalate to."""
    return Dispatcher(
        practice.uow,
        notifier,
        practice.clock,
        quiet=QuietHours(time(21, 0), time(8, 0)),
        backup_chat_id=BACKUP,
        operator_chat_id=OPERATOR,
    )


@pytest.mark.parametrize(
    "failure",
    [
        RecipientUnreachable("Forbidden: bot was blocked by the user"),
        MessageRejected("Bad Request: chat not found"),
    ],
)
async def test_an_alert_the_practitioner_cannot_get_goes_to_backup_and_operator_at_once(
    practice: Practice, failure: Exception
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    notifier = RefusingPractitioner(PRACTITIONER, failure)
    dispatcher = escalating_dispatcher(practice, notifier)
    await dispatcher.dispatch_due()
    [to_backup] = [text for chat, text in notifier.sent if chat == BACKUP]
    assert "could not be delivered" in to_backup
    assert "Sample &lt;i&gt;Client&lt;/i&gt;" in to_backup
    assert "sleep" not in to_backup  # never the client's words
    [to_operator] = [text for chat, text in notifier.sent if chat == OPERATOR]
    assert "First &lt;Practitioner&gt;" in to_operator
    assert "Client" not in to_operator
    assert "discomfort" not in to_operator
    # The practitioner's later alerts are still planned, and the flag stays open.
    [again] = await by_key(practice.engine, f"flag:{flag.id}:again")
    assert again.state is OutboxState.PENDING
    assert (await stored_flag(practice, flag.id)).state is FlagState.OPEN
    # The alert 15 minutes on fails too: nobody is told twice.
    practice.clock.current += timedelta(minutes=15)
    await dispatcher.dispatch_due()
    assert len([c for c, _ in notifier.sent if c in (BACKUP, OPERATOR)]) == 2


async def test_an_acknowledged_flag_is_not_passed_on_when_a_late_alert_fails(
    practice: Practice,
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    async with practice.uow() as uow:
        await uow.flags.update(dataclasses.replace(flag, state=FlagState.ACKNOWLEDGED))
        await uow.commit()
    notifier = RefusingPractitioner(PRACTITIONER, RecipientUnreachable("Forbidden"))
    dispatcher = escalating_dispatcher(practice, notifier)
    await dispatcher.dispatch_due()
    assert notifier.sent == []


async def test_a_concern_has_no_repeat_and_no_backup(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.CONCERN, backup=BACKUP)
    assert flag is not None
    assert [r.dedup_key for r in await outbox_rows(practice.engine)] == [f"flag:{flag.id}:alert"]


async def test_the_audit_log_holds_ids_and_levels_never_words(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    [entry] = [e for e in await audit(practice) if e.action == "flag.raised"]
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


# --- Acknowledge --------------------------------------------------------------------------------


async def test_acknowledge_closes_the_flag_and_cancels_the_escalations(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    practice.clock.current = NOW + timedelta(minutes=4)
    answer = await lifecycle.acknowledge(
        practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id
    )
    assert "Acknowledged at 10:04" in shown(answer)
    assert callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE) not in button_data(answer)
    assert callbacks.flag(flag.id, FlagAction.REPLY) in button_data(answer)
    stored = await stored_flag(practice, flag.id)
    assert stored.state is FlagState.ACKNOWLEDGED
    assert stored.acknowledged_at == NOW + timedelta(minutes=4)
    states = {r.dedup_key.split("~")[0]: r.state for r in await outbox_rows(practice.engine)}
    assert states == {
        f"flag:{flag.id}:alert": OutboxState.CANCELLED,  # still pending in this test
        f"flag:{flag.id}:again": OutboxState.CANCELLED,
        f"flag:{flag.id}:backup": OutboxState.CANCELLED,
    }
    [entry] = [e for e in await audit(practice) if e.action == "flag.acknowledged"]
    assert entry.actor_telegram_id == PRACTITIONER
    assert entry.detail == {"client_id": practice.client.id, "level": "urgent", "cancelled": 3}


async def test_a_second_acknowledge_changes_nothing_and_says_when(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await lifecycle.acknowledge(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    before = await audit(practice)
    practice.clock.current = NOW + timedelta(hours=2)
    again = await lifecycle.acknowledge(
        practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id
    )
    assert again.text.key == "flag.already_acknowledged"
    assert "already acknowledged on Tue 1 Dec, 10:00" in shown(again)
    assert (await stored_flag(practice, flag.id)).acknowledged_at == NOW
    assert await audit(practice) == before


async def test_another_practitioner_cannot_acknowledge_and_is_audited(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    with pytest.raises(Refused) as refused:
        await lifecycle.acknowledge(
            practice.uow, practice.clock, actor=OTHER_PRACTITIONER, flag_id=flag.id
        )
    assert refused.value.answer.key == "access.not_found"
    assert (await stored_flag(practice, flag.id)).state is FlagState.OPEN
    assert all(r.state is OutboxState.PENDING for r in await outbox_rows(practice.engine))
    [entry] = [e for e in await audit(practice) if e.action == "access.refused"]
    assert entry.actor_telegram_id == OTHER_PRACTITIONER
    assert entry.subject_type == "flag"
    assert entry.subject_id == flag.id
    assert entry.detail == {"action": "flag.acknowledge", "reason": "not their flag"}


@pytest.mark.parametrize("press", [lifecycle.acknowledge, replies.ask_reply, lifecycle.history])
async def test_forged_presses_are_refused(practice: Practice, press: Any) -> None:
    flag = await raise_(practice)
    assert flag is not None
    with pytest.raises(Refused) as by_client:
        await press(practice.uow, practice.clock, actor=CLIENT, flag_id=flag.id)
    assert by_client.value.answer.key == "access.practitioners_only"
    with pytest.raises(Refused) as no_such:
        await press(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id + 1000)
    assert no_such.value.answer.key == "access.not_found"
    with pytest.raises(Refused):
        await press(practice.uow, practice.clock, actor=OTHER_PRACTITIONER, flag_id=flag.id)
    reasons = [e.detail["reason"] for e in await audit(practice) if e.action == "access.refused"]
    assert reasons == ["not a practitioner", "no such flag", "not their flag"]
    assert (await stored_flag(practice, flag.id)).state is FlagState.OPEN


# --- Reply --------------------------------------------------------------------------------------


async def reply_with(
    practice: Practice, text: str, message_id: int = 11, *, sender: int = PRACTITIONER
) -> OutgoingMessage | None:
    heard = await receive_words(
        practice.uow,
        practice.clock,
        policy(),
        sender=sender,
        named_practitioners=(),
        words=Words(message_id, text),
    )
    return heard.answer


async def test_reply_passes_the_next_text_to_the_client_once(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    prompt = await replies.ask_reply(
        practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id
    )
    assert "Write your message to <b>Sample &lt;i&gt;Client&lt;/i&gt;</b>" in shown(prompt)
    practice.clock.current = NOW + timedelta(minutes=3)
    sent = await reply_with(practice, "I'm here <b>for you</b> & will call at 11")
    assert sent is not None
    assert sent.text.key == "flag.reply_sent"
    [row] = await by_key(practice.engine, "flag-reply:")
    assert row.kind is OutboxKind.NOTICE
    assert row.chat_id == CLIENT
    assert row.client_id == practice.client.id
    assert row.priority == replies.REPLY_PRIORITY
    assert row.due_at == NOW + timedelta(minutes=3)
    html = rendered(row)
    assert "A message from First &lt;Practitioner&gt;" in html
    assert "I'm here &lt;b&gt;for you&lt;/b&gt; &amp; will call at 11" in html
    message_text(html, "HTML")
    entries = [e for e in await audit(practice) if e.action.startswith("flag.reply")]
    assert [e.action for e in entries] == ["flag.reply_requested", "flag.reply_sent"]
    assert entries[1].detail == {"client_id": practice.client.id, "outbox_id": row.id}
    assert "call" not in json.dumps([e.detail for e in entries])
    # The reply is closed: the next text is read as usual.
    assert await reply_with(practice, "note to self", message_id=12) is None
    assert len(await by_key(practice.engine, "flag-reply:")) == 1


async def test_text_without_a_pending_reply_is_left_alone(practice: Practice) -> None:
    assert await reply_with(practice, "hello") is None
    assert await reply_with(practice, "hi", 1, sender=GUEST) is None
    assert await outbox_rows(practice.engine) == []


async def test_a_pending_reply_lapses_after_its_window(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    practice.clock.current = NOW + replies.REPLY_WINDOW + timedelta(seconds=1)
    assert await reply_with(practice, "too late") is None


async def test_a_pending_reply_belongs_to_the_practitioner_who_pressed(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    assert await reply_with(practice, "not mine", 5, sender=OTHER_PRACTITIONER) is None
    assert await by_key(practice.engine, "flag-reply:") == []


async def test_a_reply_to_a_concern_waits_for_the_clients_quiet_hours(practice: Practice) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice, TriageLevel.CONCERN)
    assert flag is not None
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    queued = await reply_with(practice, "Sleep well, we talk tomorrow")
    assert queued is not None
    assert queued.text.key == "flag.reply_queued"
    assert "Wednesday 2 December at 08:00" in shown(queued)
    [row] = await by_key(practice.engine, "flag-reply:")
    assert row.due_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


async def test_a_reply_to_an_urgent_flag_goes_at_once_at_night(practice: Practice) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    sent = await reply_with(practice, "Calling you now")
    assert sent is not None
    assert sent.text.key == "flag.reply_sent"
    [row] = await by_key(practice.engine, "flag-reply:")
    assert row.due_at == LATE_EVENING


async def test_acknowledge_does_not_cancel_a_queued_reply(practice: Practice) -> None:
    practice.clock.current = LATE_EVENING
    flag = await raise_(practice, TriageLevel.CONCERN)
    assert flag is not None
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    await reply_with(practice, "Tomorrow morning then")
    await lifecycle.acknowledge(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    [row] = await by_key(practice.engine, "flag-reply:")
    assert row.state is OutboxState.PENDING


async def test_a_too_long_reply_is_refused_and_stays_pending(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    too_long = await reply_with(practice, "a" * (replies.REPLY_LIMIT + 1))
    assert too_long is not None
    assert too_long.text.key == "flag.reply_too_long"
    assert await by_key(practice.engine, "flag-reply:") == []
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
    await replies.ask_reply(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    async with practice.uow() as uow:  # the client stops after Reply was pressed
        await uow.clients.update(dataclasses.replace(practice.client, status=status))
        await uow.commit()
    answer = await reply_with(practice, "Are you ok?")
    assert answer is not None
    assert answer.text.key == key
    assert await by_key(practice.engine, "flag-reply:") == []
    assert await reply_with(practice, "another text", message_id=12) is None  # closed
    asked = await replies.ask_reply(
        practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id
    )
    assert asked.text.key == key


# --- History ------------------------------------------------------------------------------------


async def test_history_shows_the_last_due_checkins_with_their_answers(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    async with practice.uow() as uow:
        appointment_id = practice.checkin.appointment_id
        await uow.checkins.add(
            records.checkin(
                practice.client.id,
                appointment_id,
                day=3,
                due_at=NOW - timedelta(days=2),
                state=CheckInState.SENT,
            )
        )
        await uow.checkins.add(  # still ahead: not shown
            records.checkin(
                practice.client.id, appointment_id, day=7, due_at=NOW + timedelta(days=4)
            )
        )
        await uow.commit()
    answer = await lifecycle.history(
        practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id
    )
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
    [entry] = [e for e in await audit(practice) if e.action == "flag.history_viewed"]
    assert entry.detail["client_id"] == practice.client.id


async def test_history_shortens_long_words(practice: Practice) -> None:
    async with practice.uow() as uow:
        await uow.replies.add(
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
        await uow.commit()
    flag = await raise_(practice)
    assert flag is not None
    html = shown(
        await lifecycle.history(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    )
    assert "(shortened)" in html
    assert "long " * 60 not in html
    assert "Discomfort: <b>7</b>/10" in html  # the earlier step's score still counts


async def test_history_without_checkins_says_so(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    practice.clock.current = NOW - timedelta(hours=2)  # before the check-in was due
    answer = await lifecycle.history(
        practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id
    )
    assert answer.text.key == "flag.history_none"


# --- /flags -------------------------------------------------------------------------------------


async def test_flags_lists_open_flags_oldest_first_with_buttons(practice: Practice) -> None:
    assert (
        await lifecycle.open_flags(practice.uow, practice.clock, actor=PRACTITIONER)
    ).text.key == "flag.none_open"
    first = await raise_(practice)
    practice.clock.current = NOW + timedelta(hours=1)
    second = await raise_(practice, TriageLevel.URGENT)
    practice.clock.current = NOW + timedelta(hours=2)
    third = await raise_(practice, checkin_id=None)
    assert first
    assert second
    assert third
    await lifecycle.acknowledge(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=third.id)
    answer = await lifecycle.open_flags(practice.uow, practice.clock, actor=PRACTITIONER)
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
    other = await lifecycle.open_flags(practice.uow, practice.clock, actor=OTHER_PRACTITIONER)
    assert other.text.key == "flag.none_open"
    with pytest.raises(Refused):
        await lifecycle.open_flags(practice.uow, practice.clock, actor=CLIENT)


async def test_a_long_list_fits_one_message(practice: Practice) -> None:
    for n in range(lifecycle.LIST_LIMIT + 5):
        assert await raise_(practice, checkin_id=1000 + n, reasons=("x" * 300,) * 5)
    answer = await lifecycle.open_flags(practice.uow, practice.clock, actor=PRACTITIONER)
    text = message_text(shown(answer), "HTML").text
    assert utf16_length(text) <= 4096
    assert "and 5 more" in text
    assert len(answer.buttons) == lifecycle.LIST_LIMIT


# --- the morning list ---------------------------------------------------------------------------

MORNING = datetime(2026, 12, 2, 7, 5, tzinfo=UTC)  # 08:05 in Berlin, the next day


async def morning(practice: Practice, at: datetime) -> list[OutboxMessage]:
    practice.clock.current = at
    await morning_list.morning_lists(practice.uow, practice.clock, policy())
    return await by_key(practice.engine, "morning:")


async def test_a_flag_open_a_day_is_in_the_morning_list_once(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    assert await morning(practice, datetime(2026, 12, 2, 6, 59, tzinfo=UTC)) == []  # 07:59
    assert await morning(practice, MORNING) == []  # open 22 hours only, no sessions
    practice.clock.current = NOW - timedelta(hours=3)  # raise one that is old enough
    old = await raise_(practice, checkin_id=None)
    assert old is not None
    [row] = await morning(practice, MORNING)
    assert row.dedup_key == f"morning:{practice.practitioner.id}:2026-12-02"
    assert row.kind is OutboxKind.NOTICE
    assert row.chat_id == PRACTITIONER
    assert row.due_at == MORNING
    assert row.expires_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # local midnight
    html = rendered(row)
    assert "Flags still open after 24 hours</b> (1)" in html
    assert "Sample &lt;i&gt;Client&lt;/i&gt;" in html
    assert "Today's sessions" not in html
    message, _ = decode(row)
    assert button_data(message)[0] == callbacks.flag(old.id, FlagAction.ACKNOWLEDGE)
    message_text(html, "HTML")
    # Later runs that day add nothing; the next morning it comes again while still open.
    assert len(await morning(practice, MORNING + timedelta(minutes=30))) == 1
    assert len(await morning(practice, MORNING + timedelta(hours=2))) == 1
    assert len(await morning(practice, MORNING + timedelta(days=1))) == 2
    await lifecycle.acknowledge(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=old.id)
    await lifecycle.acknowledge(practice.uow, practice.clock, actor=PRACTITIONER, flag_id=flag.id)
    assert len(await morning(practice, MORNING + timedelta(days=2))) == 2  # nothing open


async def test_the_morning_list_lists_todays_sessions(practice: Practice) -> None:
    async with practice.uow() as uow:
        await uow.appointments.add(
            records.appointment(
                practice.practitioner.id,
                practice.client.id,
                starts_at=datetime(2026, 12, 2, 13, 0, tzinfo=UTC),
            )
        )
        await uow.appointments.add(
            records.appointment(
                practice.practitioner.id,
                practice.client.id,
                starts_at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
                status=AppointmentStatus.CANCELLED,
            )
        )
        await uow.commit()
    [row] = await morning(practice, MORNING)
    html = rendered(row)
    assert "Today's sessions</b> (1)" in html
    assert "14:00" in html
    assert "Flags still open" not in html
    assert decode(row)[0].buttons == ()


async def test_no_morning_list_outside_the_morning_or_with_nothing_to_list(
    practice: Practice,
) -> None:
    assert await morning(practice, MORNING) == []
    practice.clock.current = NOW - timedelta(days=2)
    await raise_(practice)
    assert await morning(practice, datetime(2026, 12, 2, 12, 0, tzinfo=UTC)) == []  # 13:00
    assert len(await morning(practice, MORNING + timedelta(days=1))) == 1


# --- through the handlers ---------------------------------------------------------------------


@pytest.fixture
async def bot(practice: Practice) -> AsyncIterator[Bot]:
    settings = load_settings(None, practitioner_ids=(PRACTITIONER,))
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.uow)
    )
    async with app:
        yield Bot(app, request)


FLOOD_BUDGET = 5


@pytest.fixture
async def strict_bot(practice: Practice) -> AsyncIterator[Bot]:
    """The bot with a small inbound budget (5 updates an hour) so a test can go over it."""
    settings = load_settings(
        None, practitioner_ids=(PRACTITIONER,), flood_updates=FLOOD_BUDGET, flood_window_s=3600
    )
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.uow)
    )
    async with app:
        yield Bot(app, request)


async def test_reply_through_the_bot_and_free_text_otherwise(practice: Practice, bot: Bot) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    free_text = messages.render("input.free_text")
    assert await bot.send(PRACTITIONER, "just a note") == [free_text]
    [prompt] = await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.REPLY))
    assert "Write your message to" in prompt
    [confirmation] = await bot.send(PRACTITIONER, "I'll call you <now>")
    assert "on its way to" in confirmation
    [row] = await by_key(practice.engine, "flag-reply:")
    assert "I'll call you &lt;now&gt;" in rendered(row)
    assert await bot.send(PRACTITIONER, "another note") == [free_text]
    # A client's text is never taken as a reply (whatever else reads it).
    [to_client] = await bot.send(CLIENT, "hello")
    assert "on its way" not in to_client
    assert len(await by_key(practice.engine, "flag-reply:")) == 1


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


async def test_the_morning_job_is_registered_once_and_runs_the_lists(
    practice: Practice, bot: Bot
) -> None:
    job_queue = bot.app.job_queue
    assert job_queue is not None
    await job_queue.start()
    try:
        flag_jobs.start_flag_jobs(bot.app)
        flag_jobs.start_flag_jobs(bot.app)  # a second start replaces, never doubles
        [job] = job_queue.get_jobs_by_name(flag_jobs.MORNING_JOB_ID)
        assert job.job.id == flag_jobs.MORNING_JOB_ID
        assert job.job.max_instances == 1
        assert job.job.coalesce is True
    finally:
        await job_queue.stop(wait=False)
    practice.clock.current = NOW - timedelta(days=2)
    await raise_(practice)
    practice.clock.current = MORNING
    await flag_jobs.morning_lists(SimpleNamespace(application=bot.app))  # type: ignore[arg-type]
    assert len(await by_key(practice.engine, "morning:")) == 1


async def test_erasing_the_client_cancels_alerts_that_would_quote_them(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=OTHER_PRACTITIONER)
    assert flag is not None

    await rights.erase(practice.uow, practice.clock, policy().quiet, CLIENT)

    rows = await outbox_rows(practice.engine)
    pending = [r for r in rows if r.state is OutboxState.PENDING]
    assert [r.template for r in pending] == ["erase.practitioner_notice"]
    assert WORDS not in str(pending[0].payload)


async def test_a_reply_pending_for_a_client_who_erased_goes_to_nobody_else(
    practice: Practice, bot: Bot
) -> None:
    first = await raise_(practice, TriageLevel.URGENT)
    assert first is not None
    async with practice.uow() as uow:
        other = await uow.clients.add(
            records.client(
                practice.practitioner.id, full_name="Second", telegram_user_id=OTHER_CLIENT
            )
        )
        reply = await uow.replies.add(records.reply(other.id, telegram_message_id=77))
        second = await uow.flags.add(
            records.flag(reply.id, other.id, practice.practitioner.id, level=TriageLevel.URGENT)
        )
        await uow.commit()
    await bot.press(PRACTITIONER, callbacks.flag(first.id, FlagAction.REPLY))
    await bot.press(PRACTITIONER, callbacks.flag(second.id, FlagAction.REPLY))
    await rights.erase(practice.uow, practice.clock, policy().quiet, OTHER_CLIENT)
    answer = await bot.send(PRACTITIONER, "I am here for you")
    assert answer == [messages.render("input.free_text")]
    assert await by_key(practice.engine, "flag-reply:") == []


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
    alerts = [r for r in await by_key(practice.engine, "flag:") if r.dedup_key.endswith(":alert")]
    assert any("Urgent" in rendered(alert) for alert in alerts)
    async with practice.uow() as uow:
        stored = await uow.replies.for_client(practice.client.id)
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


async def test_a_pending_reply_is_found_however_many_entries_others_add(
    practice: Practice, bot: Bot
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    await bot.press(PRACTITIONER, callbacks.flag(flag.id, FlagAction.REPLY))
    async with practice.uow() as uow:
        for n in range(600):  # strangers' refused commands, say
            await uow.audit.record(practice.clock.now(), "access.refused", actor_telegram_id=n)
        await uow.commit()
    [confirmation] = await bot.send(PRACTITIONER, "I'll call you in ten minutes")
    assert "on its way to" in confirmation
    [row] = await by_key(practice.engine, "flag-reply:")
    assert "I'll call you in ten minutes" in rendered(row)


async def _make_unreachable(practice: Practice) -> None:
    async with practice.uow() as uow:
        await uow.appointments.add(
            records.appointment(
                practice.practitioner.id, practice.client.id, starts_at=NOW + timedelta(days=3)
            )
        )
        await uow.clients.update(
            dataclasses.replace(practice.client, status=ClientStatus.UNREACHABLE)
        )
        await uow.commit()


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
    async with practice.uow() as uow:
        client = await uow.clients.get(practice.client.id)
    assert client is not None
    assert client.status is ClientStatus.ACTIVE
    assert await by_key(practice.engine, "reminder:")
    [notice] = await by_key(practice.engine, "reachable:")
    assert "can be reached on Telegram again" in rendered(notice)


async def test_an_unreachable_client_who_writes_is_heard_and_their_crisis_alerts(
    practice: Practice, bot: Bot
) -> None:
    await _make_unreachable(practice)
    [answer] = await bot.send(CLIENT, "I want to die")
    assert "Thank you for telling me" in answer
    assert "stopped" not in answer
    alerts = [r for r in await by_key(practice.engine, "flag:") if r.dedup_key.endswith(":alert")]
    assert any("Urgent" in rendered(alert) for alert in alerts)
    async with practice.uow() as uow:
        client = await uow.clients.get(practice.client.id)
    assert client is not None
    assert client.status is ClientStatus.ACTIVE
