"""A practice for the flag tests, on the in-memory fakes: one practitioner in Berlin (and
another), a joined client, a session two days ago with its answered day-1 check-in and a
worrying reply; the steps that raise, answer and list flags; and ways to read back what
was stored, from the fakes' own tables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

import messages
from bot.domain.models import (
    AppointmentStatus,
    AuditEntry,
    CheckIn,
    CheckInState,
    Client,
    Flag,
    OutboxMessage,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, SentMessage
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.outbox import decode
from bot.services.flags import lifecycle
from bot.services.incoming import Words, receive_words
from bot.services.policy import Policy
from bot.services.practice import morning_list
from tests.fakes import FakeDatabase, FixedClock
from tests.integration import records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday: 10:00 in Berlin
LATE_EVENING = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: quiet hours
MORNING = datetime(2026, 12, 2, 7, 5, tzinfo=UTC)  # 08:05 in Berlin, the next day
PRACTITIONER = 7_200_000_001
OTHER_PRACTITIONER = 7_200_000_002
CLIENT = 8_200_000_001
OTHER_CLIENT = 8_200_000_002
BACKUP = 7_200_000_999
OPERATOR = 7_200_000_555
GUEST = 8_200_000_777
BERLIN = "Europe/Berlin"
WORDS = "It got <b>worse</b> & I </blockquote> can't sleep"
THE_CHECKIN = -1  # raise_(): the practice's day-1 check-in
FLOOD_BUDGET = 5


def policy(backup: int | None = None) -> Policy:
    return records.policy(reminder_offsets=(timedelta(hours=24),), backup_contact_chat_id=backup)


@dataclass
class Practice:
    """One practitioner in Berlin, a joined client, a session, its day-1 check-in and a reply
    (and another practitioner, with no clients)."""

    db: FakeDatabase
    clock: FixedClock
    practitioner: Practitioner
    client: Client
    checkin: CheckIn
    reply: Reply

    @property
    def uow(self) -> UnitOfWorkFactory:
        """The fake database, as the use cases open it."""
        return self.db

    @property
    def ctx(self) -> UseCaseContext:
        """What the use cases work with here: the fake database, the clock, ``policy()``."""
        return UseCaseContext(self.db, self.clock, policy())


class Seeded(Protocol):
    """What the steps below need of a practice, on the fakes or on a database."""

    @property
    def uow(self) -> UnitOfWorkFactory: ...
    @property
    def clock(self) -> FixedClock: ...
    @property
    def practitioner(self) -> Practitioner: ...
    @property
    def client(self) -> Client: ...
    @property
    def checkin(self) -> CheckIn: ...
    @property
    def reply(self) -> Reply: ...
    @property
    def ctx(self) -> UseCaseContext: ...


async def seed(uow_factory: UnitOfWorkFactory) -> tuple[Practitioner, Client, CheckIn, Reply]:
    """Store the practice's people, session, check-in and reply, in one unit of work."""
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
    return practitioner, client, checkin, reply


async def open_practice() -> Practice:
    """The practice on a new fake database, its clock at ``NOW``."""
    db = FakeDatabase()
    return Practice(db, FixedClock(NOW), *await seed(db))


async def raise_(
    practice: Seeded,
    level: TriageLevel = TriageLevel.CONCERN,
    *,
    backup: int | None = None,
    words: str | None = WORDS,
    reasons: tuple[str, ...] = ("discomfort up by 4 points", "worse than before the session"),
    checkin_id: int | None = THE_CHECKIN,
) -> Flag | None:
    """Raise a flag on the practice's reply (score 7, up from 3, worse), and commit."""
    async with practice.uow() as uow:
        flag = await lifecycle.raise_flag(
            uow,
            practice.clock,
            policy(backup),
            client=practice.client,
            practitioner=practice.practitioner,
            reply=dataclasses.replace(
                practice.reply,
                checkin_id=practice.checkin.id if checkin_id == THE_CHECKIN else checkin_id,
                text=words,
                triage_level=level,
                triage_reasons=reasons,
            ),
            score=7,
            previous_score=3,
            change="worse",
        )
        await uow.commit()
    return flag


async def reply_with(
    practice: Seeded, text: str, message_id: int = 11, *, sender: int = PRACTITIONER
) -> OutgoingMessage | None:
    """A text from ``sender``, as the bot hears it; the answer it gets, if any."""
    heard = await receive_words(
        practice.ctx,
        sender=sender,
        named_practitioners=(),
        words=Words(message_id, text),
    )
    return heard.answer


async def morning(practice: Practice, at: datetime) -> list[OutboxMessage]:
    """Run the morning lists at ``at``; every morning list scheduled so far."""
    practice.clock.current = at
    await morning_list.morning_lists(practice.ctx)
    return by_key(practice, "morning:")


def outbox_rows(practice: Practice) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    rows = practice.db.outbox.rows
    return [rows[row_id] for row_id in sorted(rows)]


def by_key(practice: Practice, prefix: str) -> list[OutboxMessage]:
    return [r for r in outbox_rows(practice) if r.dedup_key.startswith(prefix)]


async def stored_flag(practice: Practice, flag_id: int) -> Flag:
    flag = await practice.db.flags.get(flag_id)
    assert flag is not None
    return flag


def audit(practice: Practice) -> list[AuditEntry]:
    """The audit log, oldest first."""
    return list(practice.db.audit.entries)


def rendered(row: OutboxMessage) -> str:
    """A scheduled row as its reader will get it (HTML)."""
    message, locale = decode(row)
    return messages.render(message.text.key, locale, **message.text.params)


def shown(message: OutgoingMessage, locale: str = "en") -> str:
    return messages.render(message.text.key, locale, **message.text.params)


def button_data(message: OutgoingMessage) -> list[str | None]:
    return [button.callback_data for row in message.buttons for button in row]


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


def escalating_dispatcher(practice: Practice, notifier: RefusingPractitioner) -> Dispatcher:
    """The dispatcher with a backup contact and an operator chat to escalate to."""
    return Dispatcher(
        practice.db,
        notifier,
        practice.clock,
        quiet=QuietHours(time(21, 0), time(8, 0)),
        backup_chat_id=BACKUP,
        operator_chat_id=OPERATOR,
    )
