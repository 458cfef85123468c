"""Steps the client card, chart, export and digest tests share."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.models import AppointmentStatus, CheckIn, CheckInState, Client, TriageLevel
from bot.domain.outgoing import OutgoingMessage
from bot.sandbox.text import message_text
from tests.integration import records
from tests.unit.flags.support import Practice, shown


async def answered_checkin(
    practice: Practice,
    due_at: datetime,
    *,
    score: int | None,
    client: Client | None = None,
    day: int = 3,
    comparison: str | None = None,
    text: str | None = None,
    level: TriageLevel = TriageLevel.NONE,
    received_at: datetime | None = None,
    session_at: datetime | None = None,
) -> CheckIn:
    """A check-in after the client's first session (or a new one held at ``session_at``),
    answered ``received_at`` (its due time if not given)."""
    who = client or practice.client
    checkin = await practice.db.checkins.add(
        records.checkin(
            who.id,
            await _session_of(practice, who, session_at),
            day=day,
            due_at=due_at,
            state=CheckInState.ANSWERED,
        )
    )
    await practice.db.replies.add(
        records.reply(
            who.id,
            checkin_id=checkin.id,
            received_at=received_at or due_at,
            score=score,
            comparison=comparison,
            body_areas=(),
            text=text,
            telegram_message_id=None,
            triage_level=level,
            triage_reasons=("discomfort up",) if level is not TriageLevel.NONE else (),
        )
    )
    return checkin


async def _session_of(practice: Practice, client: Client, held_at: datetime | None) -> int:
    sessions = await practice.db.appointments.for_client(client.id)
    if sessions and held_at is None:
        return sessions[0].id
    added = await practice.db.appointments.add(
        records.appointment(
            practice.practitioner.id,
            client.id,
            starts_at=held_at or practice.clock.current - timedelta(days=2),
            status=AppointmentStatus.COMPLETED,
        )
    )
    return added.id


def plain(message: OutgoingMessage, locale: str = "en") -> str:
    """The message as the phone shows it: rendered, then its HTML read as Telegram does."""
    return message_text(shown(message, locale), "HTML").text
