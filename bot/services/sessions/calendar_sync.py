"""Sessions follow the practitioner's own calendar: what one read of it changes.

An event naming one client is that client's session: new, it is booked; moved, the
session moves; gone or cancelled, the session is cancelled, each through the same
journey as ``/book``, ``/reschedule`` and ``/cancel`` (reminders, the client's notice,
the audit, quiet hours). An event naming no client or several is asked about once, with
a button per client and "not a client session"; the answer holds for the event and its
repeats. Sessions booked in Stillpoint itself are never touched: a sync changes only the
sessions it booked. A session cancelled in Stillpoint is not brought back; the
practitioner is told once. A failed read changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import callbacks
from bot.domain.booking_input import MAX_MINUTES, MIN_MINUTES
from bot.domain.calendar_events import CalendarEvent
from bot.domain.calendar_match import clients_named
from bot.domain.models import (
    AppointmentStatus,
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    Client,
    ClientStatus,
    Practitioner,
)
from bot.domain.outgoing import Button, Text
from bot.domain.text_params import embed, when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused
from bot.services.delivery.outbox import notify_practitioner
from bot.services.flags.views import shorten
from bot.services.policy import Policy
from bot.services.sessions.booking import add_session
from bot.services.sessions.calendar import OPEN_STATUSES
from bot.services.sessions.changes import cancel_session, move_session
from bot.services.sessions.views import SessionParties

_log = logging.getLogger(__name__)

WINDOW = timedelta(days=60)
"""How far ahead a calendar is read."""
QUESTIONS_PER_SYNC = 5
"""New questions asked in one sync; the rest wait for the next (no flood of messages)."""
CLIENT_BUTTONS = 8
TITLE_SHOWN = 120


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one read of a calendar found and did."""

    ahead: int
    sessions: int
    """Events ahead that are a client's session (booked now or before)."""
    booked: int = 0
    moved: int = 0
    cancelled: int = 0
    asked: int = 0
    waiting: int = 0
    """Events to ask about beyond this read's questions: the next read asks them."""


@dataclass(slots=True)
class _Sync:
    uow: UnitOfWork
    clock: Clock
    policy: Policy
    practitioner: Practitioner
    subscription: CalendarSubscription
    clients: list[Client]
    booked: int = 0
    moved: int = 0
    cancelled: int = 0
    asked: int = 0
    waiting: int = 0

    @property
    def now(self) -> datetime:
        return self.clock.now()


async def apply_events(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    subscription: CalendarSubscription,
    events: Sequence[CalendarEvent],
) -> SyncResult:
    """Bring the practitioner's sessions in line with ``events`` (the calendar from now
    to :data:`WINDOW` ahead), committing as it goes."""
    practitioner = await uow.practitioners.get(subscription.practitioner_id)
    if practitioner is None:
        return SyncResult(0, 0)
    clients = list(await uow.clients.for_practitioner(practitioner.id))
    sync = _Sync(uow, clock, policy, practitioner, subscription, clients)
    known = {(e.uid, e.recurrence_id): e for e in await uow.calendars.entries(subscription.id)}
    now = clock.now()
    ahead = [e for e in events if now <= e.starts_at < now + WINDOW]
    for event in ahead:
        entry = known.pop(event.key, None)
        if entry is None:
            await _new_event(sync, event)
        else:
            await _known_event(sync, entry, event)
    for entry in known.values():
        if now < entry.starts_at < now + WINDOW:
            await _gone(sync, entry)
    await uow.commit()
    entries = await uow.calendars.entries(subscription.id)
    sessions = sum(
        1 for e in entries if e.state is CalendarEntryState.BOOKED and e.starts_at >= now
    )
    return SyncResult(
        len(ahead), sessions, sync.booked, sync.moved, sync.cancelled, sync.asked, sync.waiting
    )


async def _new_event(sync: _Sync, event: CalendarEvent) -> None:
    choice = await sync.uow.calendars.choice(sync.subscription.id, event.uid)
    if choice is not None:
        client = next((c for c in sync.clients if c.id == choice.client_id), None)
        if choice.client_id is None or client is None:
            await _store(sync, event, CalendarEntryState.NOT_A_SESSION)
            return
        await _book(sync, event, client)
        return
    active = [c for c in sync.clients if c.status is ClientStatus.ACTIVE]
    named = clients_named(f"{event.title}\n{event.description}", active, lambda c: c.full_name)
    if len(named) == 1:
        await _book(sync, event, named[0])
    elif sync.asked < QUESTIONS_PER_SYNC:
        await _ask(sync, event, named or active)
    else:
        sync.waiting += 1


async def _known_event(sync: _Sync, entry: CalendarEntry, event: CalendarEvent) -> None:
    moved = (entry.starts_at, entry.ends_at) != (event.starts_at, event.ends_at)
    changed = moved or entry.title != event.title
    if changed and entry.state in _TRY_AGAIN:
        client = await _client_now(sync, entry, event)
        if client is not None:  # the event now names its client, or moved off a clash
            await sync.uow.calendars.remove_entry(entry.id)
            await _book(sync, event, client)
            return
    if entry.state is CalendarEntryState.BOOKED and entry.appointment_id is not None:
        appointment = await sync.uow.appointments.get(entry.appointment_id)
        client = next((c for c in sync.clients if c.id == entry.client_id), None)
        if appointment is None or client is None:
            return
        if appointment.status is AppointmentStatus.CANCELLED:
            await _cancelled_in_stillpoint(sync, entry, client)
            return
        if moved and appointment.status in OPEN_STATUSES:
            minutes = session_minutes(event.starts_at, event.ends_at)
            try:
                await move_session(
                    sync.uow,
                    sync.clock,
                    sync.policy,
                    SessionParties(appointment, client, sync.practitioner),
                    starts_at=event.starts_at,
                    minutes=minutes,
                )
            except Refused as refusal:
                await _tell(sync, entry, "not_moved", refusal.answer, event.starts_at)
                return
            sync.moved += 1
    if changed:
        await sync.uow.calendars.update_entry(
            dataclasses.replace(
                entry, starts_at=event.starts_at, ends_at=event.ends_at, title=event.title
            )
        )


_TRY_AGAIN = frozenset({CalendarEntryState.ASKED, CalendarEntryState.NOT_BOOKED})
"""Events that were not booked, tried again when they change in the calendar."""


async def _client_now(sync: _Sync, entry: CalendarEntry, event: CalendarEvent) -> Client | None:
    """Whose session a changed event is now: the client it could not be booked for, or
    the one client its new title names."""
    if entry.state is CalendarEntryState.NOT_BOOKED:
        return next((c for c in sync.clients if c.id == entry.client_id), None)
    active = [c for c in sync.clients if c.status is ClientStatus.ACTIVE]
    named = clients_named(f"{event.title}\n{event.description}", active, lambda c: c.full_name)
    return named[0] if len(named) == 1 else None


async def _gone(sync: _Sync, entry: CalendarEntry) -> None:
    """The event left the calendar (deleted, or cancelled there): its session goes too."""
    if entry.state is CalendarEntryState.BOOKED and entry.appointment_id is not None:
        appointment = await sync.uow.appointments.get(entry.appointment_id)
        client = next((c for c in sync.clients if c.id == entry.client_id), None)
        if appointment is not None and client is not None and appointment.status in OPEN_STATUSES:
            await cancel_session(
                sync.uow,
                sync.clock,
                sync.policy,
                SessionParties(appointment, client, sync.practitioner),
                by="calendar",
            )
            sync.cancelled += 1
    await sync.uow.calendars.remove_entry(entry.id)


async def _book(sync: _Sync, event: CalendarEvent, client: Client) -> CalendarEntry:
    try:
        appointment, _ = await add_session(
            sync.uow,
            sync.clock,
            sync.policy,
            practitioner=sync.practitioner,
            client=client,
            starts_at=event.starts_at,
            minutes=session_minutes(event.starts_at, event.ends_at),
        )
    except Refused as refusal:
        entry = await _store(sync, event, CalendarEntryState.NOT_BOOKED, client=client)
        await _tell(sync, entry, "not_booked", refusal.answer, event.starts_at)
        return entry
    sync.booked += 1
    return await _store(
        sync, event, CalendarEntryState.BOOKED, client=client, appointment_id=appointment.id
    )


async def _ask(sync: _Sync, event: CalendarEvent, candidates: Sequence[Client]) -> None:
    entry = await _store(sync, event, CalendarEntryState.ASKED)
    buttons = [
        (
            Button(
                Text("button.client", {"client": c.full_name}),
                callbacks.calendar_answer(entry.id, c.id),
            ),
        )
        for c in sorted(candidates, key=lambda c: c.full_name.casefold())[:CLIENT_BUTTONS]
    ]
    buttons.append(
        (Button(Text("calendar.not_a_session"), callbacks.calendar_answer(entry.id, None)),)
    )
    await notify_practitioner(
        sync.uow,
        sync.practitioner.id,
        Text(
            "calendar.which_client",
            {
                "title": shown_title(event.title),
                "when": when(event.starts_at, sync.practitioner.timezone),
            },
        ),
        dedup_key=f"calendar:{entry.id}:asked",
        now=sync.now,
        quiet=sync.policy.quiet,
        buttons=tuple(buttons),
        about_client_id=None,
    )
    sync.asked += 1


async def _cancelled_in_stillpoint(sync: _Sync, entry: CalendarEntry, client: Client) -> None:
    await sync.uow.calendars.update_entry(
        dataclasses.replace(entry, state=CalendarEntryState.CLIENT_CANCELLED)
    )
    await notify_practitioner(
        sync.uow,
        sync.practitioner.id,
        Text(
            "calendar.cancelled_here",
            {"client": client.full_name, "when": when(entry.starts_at, sync.practitioner.timezone)},
        ),
        dedup_key=f"calendar:{entry.id}:cancelled_here",
        now=sync.now,
        quiet=sync.policy.quiet,
        about_client_id=client.id,
    )


async def _tell(
    sync: _Sync, entry: CalendarEntry, what: str, reason: Text, starts_at: datetime
) -> None:
    """Tell the practitioner once (per event and time) why the calendar was not followed."""
    await notify_practitioner(
        sync.uow,
        sync.practitioner.id,
        Text(
            f"calendar.{what}",
            {
                "title": shown_title(entry.title),
                "when": when(starts_at, sync.practitioner.timezone),
                "reason": embed(reason),
            },
        ),
        dedup_key=f"calendar:{entry.id}:{what}:{int(starts_at.timestamp())}",
        now=sync.now,
        quiet=sync.policy.quiet,
        about_client_id=entry.client_id,
    )
    await sync.uow.commit()


async def _store(
    sync: _Sync,
    event: CalendarEvent,
    state: CalendarEntryState,
    *,
    client: Client | None = None,
    appointment_id: int | None = None,
) -> CalendarEntry:
    entry = await sync.uow.calendars.add_entry(
        CalendarEntry(
            id=0,
            subscription_id=sync.subscription.id,
            uid=event.uid,
            recurrence_id=event.recurrence_id,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            title=event.title,
            state=state,
            appointment_id=appointment_id,
            client_id=client.id if client else None,
            created_at=sync.now,
        )
    )
    await sync.uow.commit()
    return entry


def shown_title(title: str) -> str | dict[str, object]:
    """An event's title as the practitioner is shown it: shortened, or "(no title)"."""
    if not title.strip():
        return embed(Text("calendar.untitled"))
    return shorten(title.strip(), TITLE_SHOWN)[0]


def session_minutes(starts_at: datetime, ends_at: datetime) -> int:
    """An event's length in whole minutes, within what a session may last."""
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    return max(MIN_MINUTES, min(MAX_MINUTES, minutes))
