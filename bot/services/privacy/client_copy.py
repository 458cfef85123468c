"""A client's own copy of everything kept about them (``/mydata``; GDPR Art. 15 and 20).

One JSON document, in the client's time zone: for each practitioner they are a client of,
their profile and consent, sessions, check-ins, every answer with its words and how it
was triaged, the flags raised on it, the messages sent to them or about them (which text,
what was filled into it, and when), invites, the events of their practitioner's calendar
taken as their sessions, and the record of what was done.
Values come out of the database decrypted, and only this person's. Sending a copy is
written to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.models import AuditEntry, Client, Practitioner
from bot.ports import UnitOfWork
from bot.services.context import UseCaseContext

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ClientCopy:
    """The copy (plain JSON values) and the time zone its times are in."""

    content: dict[str, Any]
    timezone: str

    def as_json(self) -> str:
        """The copy as a readable JSON document."""
        return json.dumps(self.content, ensure_ascii=False, indent=2) + "\n"


async def client_copy(ctx: UseCaseContext, telegram_user_id: int) -> ClientCopy | None:
    """Everything kept about this Telegram user as a client; ``None`` if nothing is."""
    async with ctx.uow() as uow:
        clients = await uow.clients.by_telegram_id(telegram_user_id)
        if not clients:
            return None
        return await _copy(
            uow, ctx.clock.now(), clients, "client.copy_sent", actor=telegram_user_id
        )


async def operator_copy(ctx: UseCaseContext, client_id: int) -> ClientCopy | None:
    """Everything kept about one client, for an operator's export; ``None`` if there is no
    such client."""
    async with ctx.uow() as uow:
        client = await uow.clients.get(client_id)
        if client is None:
            return None
        return await _copy(uow, ctx.clock.now(), [client], "client.exported", actor=None)


async def _copy(
    uow: UnitOfWork,
    now: datetime,
    clients: Sequence[Client],
    action: str,
    *,
    actor: int | None,
) -> ClientCopy:
    """The copy of ``clients`` (one person), each copy written to the audit log."""
    records = [await _record(uow, client) for client in clients]
    for client in clients:
        await uow.audit.record(
            now,
            action,
            actor_telegram_id=actor,
            subject_type="client",
            subject_id=client.id,
            detail={"format": "json"},
            client_id=client.id,
        )
    await uow.commit()
    zone = clients[0].timezone
    content = {
        "format": f"stillpoint-client-copy/{FORMAT_VERSION}",
        "made_at": _time(now, zone),
        "telegram_user_id": clients[0].telegram_user_id,
        "as_client_of": records,
    }
    return ClientCopy(content, zone)


async def _record(uow: UnitOfWork, client: Client) -> dict[str, Any]:
    zone = client.timezone
    practitioner = await uow.practitioners.get(client.practitioner_id)
    sessions = await uow.appointments.for_client(client.id)
    checkins = await uow.checkins.for_client(client.id)
    replies = await uow.replies.for_client(client.id)
    flags = await uow.flags.for_client(client.id)
    messages = await uow.outbox.about_client(client.id)
    invites = await uow.invites.for_client(client.id)
    actions = await uow.audit.about_client(client.id)
    calendar = await uow.calendars.entries_for_client(client.id)
    day_of = {checkin.id: checkin.day for checkin in checkins}
    return {
        "practitioner": _practitioner(practitioner),
        "profile": {
            "name": client.full_name,
            "status": str(client.status),
            "time_zone": client.timezone,
            "language": client.locale,
            "added_at": _time(client.created_at, zone),
            "checkins_paused": client.checkins_paused,
        },
        "consents": [
            {"to": "reminders, check-ins and keeping the answers", "given_at": _time(at, zone)}
            for at in (client.consented_at,)
            if at is not None
        ],
        "sessions": [
            {
                "starts_at": _time(s.starts_at, zone),
                "minutes": s.duration_minutes,
                "status": str(s.status),
                "booked_at": _time(s.created_at, zone),
                "changed_at": _time(s.updated_at, zone),
            }
            for s in sessions
        ],
        "checkins": [
            {
                "day_after_session": c.day,
                "due_at": _time(c.due_at, zone),
                "state": str(c.state),
                "answered_at": _time(c.answered_at, zone),
                "snoozed": c.snoozes,
            }
            for c in checkins
        ],
        "answers": [
            {
                "received_at": _time(r.received_at, zone),
                "checkin_day": day_of.get(r.checkin_id) if r.checkin_id is not None else None,
                "discomfort_0_to_10": r.score,
                "compared_with_before_the_session": r.comparison,
                "body_areas": list(r.body_areas),
                "words": r.text,
                "version": r.version,
                "triage_level": str(r.triage_level),
                "triage_reasons": list(r.triage_reasons),
            }
            for r in sorted(replies, key=lambda r: (r.received_at, r.version, r.id))
        ],
        "flags": [
            {
                "raised_at": _time(f.created_at, zone),
                "level": str(f.level),
                "reasons": list(f.reasons),
                "state": str(f.state),
                "acknowledged_at": _time(f.acknowledged_at, zone),
            }
            for f in flags
        ],
        "messages": [
            {
                "to": "you" if m.client_id == client.id else "your practitioner",
                "kind": str(m.kind),
                "due_at": _time(m.due_at, zone),
                "state": str(m.state),
                "sent_at": _time(m.sent_at, zone),
                # Which text, and what was filled into it (their words and name in an
                # alert, their practitioner's in a reply); empty once the text was cleared.
                "content": {"text": m.template, "values": m.payload.get("params", {})},
            }
            for m in messages
        ],
        "invites": [
            {
                "made_at": _time(i.created_at, zone),
                "expires_at": _time(i.expires_at, zone),
                "used_at": _time(i.used_at, zone),
                "revoked_at": _time(i.revoked_at, zone),
            }
            for i in invites
        ],
        "from_your_practitioners_calendar": [
            {"title": e.title, "starts_at": _time(e.starts_at, zone), "state": str(e.state)}
            for e in calendar
        ],
        "record_of_actions": _actions(actions, zone),
    }


def _practitioner(practitioner: Practitioner | None) -> dict[str, Any] | None:
    if practitioner is None:
        return None
    return {"name": practitioner.display_name or None, "location": practitioner.location}


def _actions(entries: Sequence[AuditEntry], zone: str) -> list[dict[str, Any]]:
    return [{"at": _time(entry.at, zone), "action": entry.action} for entry in entries]


def _time(value: datetime | None, zone: str) -> str | None:
    """ISO 8601 in the client's zone, to the second."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
