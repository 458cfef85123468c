"""Domain records for tests, with sensible defaults and fixed times, and the policy most
tests follow."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CheckIn,
    CheckInState,
    Client,
    ClientStatus,
    Flag,
    FlagState,
    Invite,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWork
from bot.services.policy import Policy
from bot.triage_data import LoadedTriage

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# Larger than 2**32: Telegram ids do not fit in a 32-bit column.
BIG_TELEGRAM_ID = 7_123_456_789


def practitioner(telegram_user_id: int = BIG_TELEGRAM_ID, **changes: Any) -> Practitioner:
    values: dict[str, Any] = {
        "id": 0,
        "telegram_user_id": telegram_user_id,
        "display_name": "First Practitioner",
        "timezone": "Europe/Berlin",
        "locale": "en",
        "location": "Treatment room 2",
        "created_at": T0,
    }
    return Practitioner(**(values | changes))


def client(practitioner_id: int, **changes: Any) -> Client:
    values: dict[str, Any] = {
        "id": 0,
        "practitioner_id": practitioner_id,
        "full_name": "First Client",
        "status": ClientStatus.ACTIVE,
        "timezone": "Europe/Berlin",
        "locale": "de",
        "telegram_user_id": 8_000_000_001,
        "consented_at": T0,
        "checkins_paused": False,
        "created_at": T0,
    }
    return Client(**(values | changes))


def invite(practitioner_id: int, client_id: int, **changes: Any) -> Invite:
    values: dict[str, Any] = {
        "id": 0,
        "practitioner_id": practitioner_id,
        "client_id": client_id,
        "token_hash": "a" * 64,
        "expires_at": T0 + timedelta(days=7),
        "created_at": T0,
    }
    return Invite(**(values | changes))


def appointment(practitioner_id: int, client_id: int, **changes: Any) -> Appointment:
    values: dict[str, Any] = {
        "id": 0,
        "practitioner_id": practitioner_id,
        "client_id": client_id,
        "starts_at": T0 + timedelta(days=1),
        "duration_minutes": 60,
        "status": AppointmentStatus.BOOKED,
        "created_at": T0,
    }
    return Appointment(**(values | changes))


def outbox_message(chat_id: int = 8_000_000_001, **changes: Any) -> OutboxMessage:
    values: dict[str, Any] = {
        "id": 0,
        "chat_id": chat_id,
        "kind": OutboxKind.REMINDER,
        "template": "reminder.day_before",
        "payload": {"appointment": 1, "names": ["First Client"], "nested": {"ok": True, "n": 1.5}},
        "due_at": T0,
        "dedup_key": "reminder:1:day_before",
        "state": OutboxState.PENDING,
        "created_at": T0,
    }
    return OutboxMessage(**(values | changes))


def checkin(client_id: int, appointment_id: int, **changes: Any) -> CheckIn:
    values: dict[str, Any] = {
        "id": 0,
        "client_id": client_id,
        "appointment_id": appointment_id,
        "day": 1,
        "due_at": T0 + timedelta(days=2),
        "state": CheckInState.SCHEDULED,
        "created_at": T0,
    }
    return CheckIn(**(values | changes))


def reply(client_id: int, **changes: Any) -> Reply:
    values: dict[str, Any] = {
        "id": 0,
        "client_id": client_id,
        "received_at": T0 + timedelta(days=2, hours=1),
        "score": 3,
        "comparison": "better",
        "body_areas": ("neck", "lower_back"),
        "text": "Tired, a bit sore <b>but</b> fine",
        "telegram_message_id": 4242,
        "version": 1,
        "triage_level": TriageLevel.NONE,
        "triage_reasons": (),
    }
    return Reply(**(values | changes))


def flag(reply_id: int, client_id: int, practitioner_id: int, **changes: Any) -> Flag:
    values: dict[str, Any] = {
        "id": 0,
        "reply_id": reply_id,
        "client_id": client_id,
        "practitioner_id": practitioner_id,
        "level": TriageLevel.CONCERN,
        "reasons": ("worse", "new_symptom"),
        "state": FlagState.OPEN,
        "created_at": T0 + timedelta(days=2, hours=1),
    }
    return Flag(**(values | changes))


async def practitioner_and_client(
    uow: UnitOfWork, telegram_user_id: int = BIG_TELEGRAM_ID
) -> tuple[Practitioner, Client]:
    """Add a practitioner and one client of theirs (not committed)."""
    stored = await uow.practitioners.add(practitioner(telegram_user_id))
    return stored, await uow.clients.add(client(stored.id))


def policy(**changes: Any) -> Policy:
    """The rules most tests follow: quiet from 21:00 to 08:00, reminders a day and two hours
    ahead, invites valid a week, UTC by default, the shipped triage rules; ``changes``
    override any of them."""
    values: dict[str, Any] = {
        "quiet": QuietHours(time(21, 0), time(8, 0)),
        "reminder_offsets": (timedelta(hours=24), timedelta(hours=2)),
        "invite_ttl": timedelta(days=7),
        "default_timezone": "UTC",
        "triage": LoadedTriage(),
    }
    return Policy(**(values | changes))
