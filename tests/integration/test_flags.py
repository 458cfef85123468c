"""Flags on real databases: which audit entry makes a practitioner's text a Reply to a flag.

A pending reply is found with ``audit.latest_by_actor``, a query no repository test holds:
these tests pin which entries it picks (the presser's own, within the window, among
hundreds of others) on SQLite and PostgreSQL. The rest of the flag use cases (raising,
alerts and escalation, Acknowledge, Reply, History, ``/flags``, the morning list, through
the handlers) run on the in-memory fakes, in ``tests/unit/flags/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import messages
from bot.db.mapping import to_domain
from bot.db.tables import OutboxRow
from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import (
    AppointmentStatus,
    CheckIn,
    CheckInState,
    Client,
    Flag,
    OutboxMessage,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.runtime import Runtime
from bot.services.delivery.outbox import decode
from bot.services.flags import lifecycle, replies
from bot.services.incoming import Words, receive_words
from bot.services.policy import Policy
from bot.settings import load_settings
from bot.triage_data import LoadedTriage
from tests.fakes import FixedClock
from tests.handlers.offline import offline_application
from tests.integration import records
from tests.integration.support import Bot

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
PRACTITIONER = 7_200_000_001
OTHER_PRACTITIONER = 7_200_000_002
CLIENT = 8_200_000_001
BERLIN = "Europe/Berlin"
WORDS = "It got <b>worse</b> & I </blockquote> can't sleep"
POLICY = Policy(
    quiet=QuietHours(time(21, 0), time(8, 0)),
    reminder_offsets=(timedelta(hours=24),),
    invite_ttl=timedelta(days=7),
    default_timezone="UTC",
    triage=LoadedTriage(),
)


@dataclass
class Practice:
    """One practitioner in Berlin, a joined client, a session, its day-1 check-in and a reply."""

    uow: UnitOfWorkFactory
    engine: AsyncEngine
    clock: FixedClock
    practitioner: Practitioner
    client: Client
    checkin: CheckIn
    reply: Reply


@pytest.fixture
async def practice(uow_factory: UnitOfWorkFactory, engine: AsyncEngine) -> Practice:
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(
            records.practitioner(PRACTITIONER, display_name="First <Practitioner>", created_at=NOW)
        )
        await uow.practitioners.add(
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
    return Practice(uow_factory, engine, FixedClock(NOW), practitioner, client, checkin, reply)


@pytest.fixture
async def bot(practice: Practice) -> AsyncIterator[Bot]:
    settings = load_settings(None, practitioner_ids=(PRACTITIONER,))
    app, request = offline_application(
        Runtime(settings=settings, clock=practice.clock, uow=practice.uow)
    )
    async with app:
        yield Bot(app, request)


async def raise_(practice: Practice, level: TriageLevel = TriageLevel.CONCERN) -> Flag | None:
    async with practice.uow() as uow:
        flag = await lifecycle.raise_flag(
            uow,
            practice.clock,
            POLICY,
            client=practice.client,
            practitioner=practice.practitioner,
            reply=dataclasses.replace(
                practice.reply,
                checkin_id=practice.checkin.id,
                text=WORDS,
                triage_level=level,
                triage_reasons=("discomfort up by 4 points", "worse than before the session"),
            ),
            score=7,
            previous_score=3,
            change="worse",
        )
        await uow.commit()
    return flag


async def reply_with(
    practice: Practice, text: str, message_id: int = 11, *, sender: int = PRACTITIONER
) -> OutgoingMessage | None:
    heard = await receive_words(
        practice.uow,
        practice.clock,
        POLICY,
        sender=sender,
        named_practitioners=(),
        words=Words(message_id, text),
    )
    return heard.answer


async def by_key(engine: AsyncEngine, prefix: str) -> list[OutboxMessage]:
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [
            message
            for message in (to_domain(row, OutboxMessage) for row in rows)
            if message.dedup_key.startswith(prefix)
        ]


def rendered(row: OutboxMessage) -> str:
    message, locale = decode(row)
    return messages.render(message.text.key, locale, **message.text.params)


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
