"""Sessions follow the practitioner's own calendar: what one read of it changes.

An event naming one client is that client's session: new, it is booked; moved, the
session moves; gone or cancelled, the session is cancelled, each through the same
journey as ``/book``, ``/reschedule`` and ``/cancel`` (reminders, the client's notice,
the audit, quiet hours). An event naming no client or several waits (``WAITING``) and is
asked about once, a few a read and a series once, with a button per client and "not a
client session"; the answer holds for the event and its repeats. A booked event retitled
to name one other client becomes theirs. Sessions booked in Stillpoint itself are never
touched: a sync changes only the sessions it booked. A session cancelled in Stillpoint is
not brought back; the practitioner is told once. A failed read changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from bot.domain import callbacks
from bot.domain.booking_input import MAX_MINUTES, MIN_MINUTES
from bot.domain.calendar_events import CalendarEvent
from bot.domain.calendar_match import NameMatcher
from bot.domain.models import (
    AppointmentStatus,
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    Client,
    ClientStatus,
    OutboxMessage,
    Practitioner,
)
from bot.domain.outgoing import Button, Text
from bot.domain.text_params import embed, when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import notify_practitioner, practitioner_notice_row
from bot.services.flags.views import shorten
from bot.services.policy import Policy
from bot.services.sessions.booking import Clash, SessionRequest, book_sessions, plan_sessions
from bot.services.sessions.calendar import OPEN_STATUSES, OpenSessions, busy, clash_refusal
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
    """Events still to ask about (asked on the next reads, a few at a time)."""


@dataclass(slots=True)
class _Sync:
    uow: UnitOfWork
    clock: Clock
    policy: Policy
    practitioner: Practitioner
    subscription: CalendarSubscription
    clients: dict[int, Client]
    matcher: NameMatcher[Client]
    choices: dict[str, int | None]
    asked_uids: set[str] = field(default_factory=set)
    sessions: int = 0
    booked: int = 0
    moved: int = 0
    cancelled: int = 0
    asked: int = 0

    @property
    def now(self) -> datetime:
        return self.clock.now()


EVENTS_A_TURN = 5
"""Known events applied in one unit of work (each may move or cancel a session). A read
changes many sessions; on SQLite one unit of work writes at a time, so a read applied in
one would hold everyone else's replies back until it ended."""
NEW_EVENTS_A_TURN = 50
"""New events applied in one unit of work: their sessions, messages and entries are
written a few statements for all of them (:func:`_add_new`)."""


async def _start(
    uow: UnitOfWork, clock: Clock, policy: Policy, subscription: CalendarSubscription
) -> _Sync | None:
    practitioner = await uow.practitioners.get(subscription.practitioner_id)
    if practitioner is None:
        return None
    clients = list(await uow.clients.for_practitioner(practitioner.id))
    active = [c for c in clients if c.status is ClientStatus.ACTIVE]
    choices = {c.uid: c.client_id for c in await uow.calendars.choices_of(subscription.id)}
    return _Sync(
        uow,
        clock,
        policy,
        practitioner,
        subscription,
        {c.id: c for c in clients},
        NameMatcher(active, lambda c: c.full_name),
        choices,
    )


async def apply_events(
    ctx: UseCaseContext, subscription: CalendarSubscription, events: Sequence[CalendarEvent]
) -> SyncResult:
    """Bring the practitioner's sessions in line with ``events`` (the calendar from now
    to :data:`WINDOW` ahead), each unit of work committed: first the events gone from the
    calendar and the known ones (:data:`EVENTS_A_TURN` a unit of work), so what they free
    is free for the new ones, then the new ones (:func:`_new_turns`: each client's
    sessions together, so they are told of them in one message); then ask about a few of
    the events that name no client (:func:`ask_waiting`)."""
    async with ctx.uow() as uow:
        sync = await _start(uow, ctx.clock, ctx.policy, subscription)
        if sync is None:
            return SyncResult(0, 0)
        known = {(e.uid, e.recurrence_id): e for e in await uow.calendars.entries(subscription.id)}
    sync.asked_uids = {e.uid for e in known.values() if e.state is CalendarEntryState.ASKED}
    now = ctx.clock.now()
    ahead = [e for e in events if now <= e.starts_at < now + WINDOW]
    read_keys = {event.key for event in ahead}
    gone = [
        e for key, e in known.items() if now < e.starts_at < now + WINDOW and key not in read_keys
    ]
    steps: list[Callable[[], Awaitable[None]]] = [
        *(partial(_gone, sync, entry) for entry in gone),
        *(partial(_follow, sync, event, known[event.key]) for event in ahead if event.key in known),
    ]
    new = [event for event in ahead if event.key not in known]
    for at in range(0, len(steps), EVENTS_A_TURN):
        async with ctx.uow() as uow:
            sync.uow = uow
            await _each(steps[at : at + EVENTS_A_TURN])
            await uow.commit()
    if new:
        # Planned once what the calendar no longer holds has made room.
        async with ctx.uow() as uow:
            sync.uow = uow
            planned = await _plan_new(sync, new)
        for turn in _new_turns(planned):
            async with ctx.uow() as uow:
                sync.uow = uow
                await _add_new(sync, turn)
                await uow.commit()
    async with ctx.uow() as uow:
        sync.uow = uow
        waiting = await _ask_waiting(sync)
    return SyncResult(
        len(ahead), sync.sessions, sync.booked, sync.moved, sync.cancelled, sync.asked, waiting
    )


async def _each(steps: Sequence[Callable[[], Awaitable[None]]]) -> None:
    for step in steps:
        await step()


async def _follow(sync: _Sync, event: CalendarEvent, entry: CalendarEntry) -> None:
    if await _known_event(sync, entry, event) is CalendarEntryState.BOOKED:
        sync.sessions += 1


async def ask_waiting(ctx: UseCaseContext, subscription: CalendarSubscription) -> int:
    """Ask the practitioner about a few more of the events that name no client (on a read
    that found the calendar unchanged too); how many events still wait."""
    async with ctx.uow() as uow:
        sync = await _start(uow, ctx.clock, ctx.policy, subscription)
        return 0 if sync is None else await _ask_waiting(sync)


async def _ask_waiting(sync: _Sync) -> int:
    """Up to :data:`QUESTIONS_PER_SYNC` questions, the soonest events first, one for each
    event and its repeats; committed. How many events still wait."""
    calendars, subscription_id = sync.uow.calendars, sync.subscription.id
    first = await calendars.first_waiting(subscription_id, QUESTIONS_PER_SYNC)
    await calendars.mark_asked(subscription_id, {entry.uid for entry in first})
    for entry in first:
        await _ask(sync, entry, sync.matcher.named(entry.title) or _active(sync))
    await sync.uow.commit()
    return await calendars.count_entries(subscription_id, CalendarEntryState.WAITING)


def _active(sync: _Sync) -> list[Client]:
    return [c for c in sync.clients.values() if c.status is ClientStatus.ACTIVE]


@dataclass(frozen=True, slots=True)
class _NotBooked:
    """A new event naming a client that cannot be their session: why."""

    client: Client
    refusal: Refused


_Whose = Client | CalendarEntryState | _NotBooked
"""What becomes of a new event: its client's session, refused, or stored in a state."""


async def _plan_new(
    sync: _Sync, events: Sequence[CalendarEvent]
) -> list[tuple[CalendarEvent, _Whose]]:
    """Whose session each new event is, soonest first: the sessions checked against the
    practitioner's open ones and each other (``plan_sessions``), so an event that clashes
    with an earlier one is refused whatever unit of work books the earlier one."""
    soonest_first = sorted(events, key=lambda e: e.starts_at)
    planned = [(event, _whose(sync, event)) for event in soonest_first]
    requests = [
        SessionRequest(whose, event.starts_at, session_minutes(event.starts_at, event.ends_at))
        for event, whose in planned
        if isinstance(whose, Client)
    ]
    if not requests:
        return list(planned)
    taken = await busy(
        sync.uow,
        sync.practitioner,
        min(r.starts_at for r in requests),
        max(r.starts_at + timedelta(minutes=r.minutes) for r in requests),
    )
    plans = iter(plan_sessions(sync.practitioner, OpenSessions(taken), requests, sync.now))
    decided: list[tuple[CalendarEvent, _Whose]] = []
    for event, whose in planned:
        outcome: _Whose = whose
        if isinstance(whose, Client):
            plan = next(plans)
            if isinstance(plan, Clash):
                other = sync.clients.get(plan.other.client_id)
                outcome = _NotBooked(whose, clash_refusal(sync.practitioner, plan.other, other))
            elif isinstance(plan, Refused):
                outcome = _NotBooked(whose, plan)
        decided.append((event, outcome))
    return decided


def _new_turns(
    planned: Sequence[tuple[CalendarEvent, _Whose]],
) -> list[list[tuple[CalendarEvent, _Whose]]]:
    """The new events in units of work of about :data:`NEW_EVENTS_A_TURN`: first those
    that cannot be booked, all in one (so the practitioner is told of them in one
    message), then those waiting for an answer, then the sessions, each client's all in
    one unit of work (so they are told of them in one message), however many they are."""
    refused = [item for item in planned if isinstance(item[1], _NotBooked)]
    others = [item for item in planned if isinstance(item[1], CalendarEntryState)]
    turns = [refused] if refused else []
    turns += [
        others[at : at + NEW_EVENTS_A_TURN] for at in range(0, len(others), NEW_EVENTS_A_TURN)
    ]
    by_client: dict[int, list[tuple[CalendarEvent, _Whose]]] = {}
    for event, whose in planned:
        if isinstance(whose, Client):
            by_client.setdefault(whose.id, []).append((event, whose))
    turn: list[tuple[CalendarEvent, _Whose]] = []
    for theirs in by_client.values():
        if turn and len(turn) + len(theirs) > NEW_EVENTS_A_TURN:
            turns.append(turn)
            turn = []
        turn += theirs
    if turn:
        turns.append(turn)
    return turns


async def _add_new(sync: _Sync, planned: Sequence[tuple[CalendarEvent, _Whose]]) -> None:
    """Events seen for the first time: those naming one client booked, the rest stored to
    ask about."""
    entries = await _book_all(sync, planned)
    sync.sessions += sum(entry.state is CalendarEntryState.BOOKED for entry in entries)


async def _book(sync: _Sync, event: CalendarEvent, client: Client) -> CalendarEntryState:
    [entry] = await _book_all(sync, [(event, client)])
    return entry.state


async def _book_all(
    sync: _Sync, planned: Sequence[tuple[CalendarEvent, _Whose]]
) -> list[CalendarEntry]:
    """Each event's entry (not read back): its client's session booked
    (``book_sessions``, all together), or refused, or the state it waits in; the entries
    written together, and the practitioner told of the refusals in one message."""
    to_book = [(event, whose) for event, whose in planned if isinstance(whose, Client)]
    outcomes = iter(
        await book_sessions(
            sync.uow,
            sync.clock,
            sync.policy,
            practitioner=sync.practitioner,
            requests=[
                SessionRequest(
                    client, event.starts_at, session_minutes(event.starts_at, event.ends_at)
                )
                for event, client in to_book
            ],
        )
    )
    entries: list[CalendarEntry] = []
    refusals: dict[int, Refused] = {}
    for event, whose in planned:
        if isinstance(whose, CalendarEntryState):
            entries.append(_entry(sync, event, whose))
            continue
        outcome = whose.refusal if isinstance(whose, _NotBooked) else next(outcomes)
        client = whose.client if isinstance(whose, _NotBooked) else whose
        if isinstance(outcome, Refused):
            refusals[len(entries)] = outcome
            entries.append(_entry(sync, event, CalendarEntryState.NOT_BOOKED, client=client))
        else:
            sync.booked += 1
            entries.append(
                _entry(
                    sync,
                    event,
                    CalendarEntryState.BOOKED,
                    client=client,
                    appointment_id=outcome.appointment.id,
                )
            )
    # Only the refused entries are read back: their messages name them by id.
    stored = await sync.uow.calendars.add_entries([entries[at] for at in refusals])
    await sync.uow.calendars.insert_entries(
        [entry for at, entry in enumerate(entries) if at not in refusals]
    )
    refused = list(zip(stored, refusals.values(), strict=True))
    if len(refused) == 1:
        [(entry, refusal)] = refused
        await sync.uow.outbox.add(_told(sync, entry, "not_booked", refusal.answer, entry.starts_at))
    elif refused:
        await sync.uow.outbox.add(_told_many(sync, refused))
    return entries


REFUSALS_SHOWN = 10
"""Events listed in one message about events that could not be booked; the rest counted."""


def calendar_reason(reason: Text) -> Text:
    """Why an event was not booked or moved, in the words of the calendar it came from: a
    clash is to be settled there, not by picking another time here."""
    if reason.key == "booking.clash":
        return Text("calendar.clash", reason.params)
    return reason


def notice_key(entry: CalendarEntry, what: str) -> str:
    """The dedup key of a message to the practitioner about one event of their calendar:
    under the subscription's prefix (:func:`notices_prefix`)."""
    return f"{notices_prefix(entry.subscription_id)}{entry.id}:{what}"


def notices_prefix(subscription_id: int) -> str:
    """What the dedup keys of the messages about one calendar's events begin with."""
    return f"calendar:{subscription_id}:"


def refusal_lines(
    practitioner: Practitioner, refused: Sequence[tuple[CalendarEntry, Refused]]
) -> list[dict[str, object]]:
    """One line for each event that could not be booked (the first
    :data:`REFUSALS_SHOWN`, the rest counted)."""
    zone = practitioner.timezone
    lines = [
        embed(
            Text(
                "calendar.not_booked_line",
                {
                    "title": shown_title(entry.title),
                    "when": when(entry.starts_at, zone),
                    "reason": embed(calendar_reason(refusal.answer)),
                },
            )
        )
        for entry, refusal in refused[:REFUSALS_SHOWN]
    ]
    more = len(refused) - REFUSALS_SHOWN
    if more > 0:
        lines.append(embed(Text("calendar.not_booked_more", {"count": more})))
    return lines


def _told_many(sync: _Sync, refused: Sequence[tuple[CalendarEntry, Refused]]) -> OutboxMessage:
    """One message to the practitioner about several events that could not be booked."""
    return practitioner_notice_row(
        sync.practitioner,
        Text(
            "calendar.not_booked_many",
            {"count": len(refused), "events": refusal_lines(sync.practitioner, refused)},
        ),
        dedup_key=notice_key(refused[0][0], f"not_booked_many:{int(sync.now.timestamp())}"),
        now=sync.now,
        quiet=sync.policy.quiet,
        # It names several clients, so no one client's erasure would find it: its words
        # are not kept once it has gone.
        about_client_id=None,
        forget_after_send=True,
    )


def _whose(sync: _Sync, event: CalendarEvent) -> Client | CalendarEntryState:
    """The client a new event is the session of, or how to store it: not a session (the
    practitioner said so), waiting to be asked about, or asked (with an earlier repeat)."""
    if event.uid in sync.choices:
        return sync.clients.get(sync.choices[event.uid] or 0) or CalendarEntryState.NOT_A_SESSION
    named = _named(sync, event)
    if len(named) == 1:
        return named[0]
    # A repeat of an event already asked about is answered with it.
    return CalendarEntryState.ASKED if event.uid in sync.asked_uids else CalendarEntryState.WAITING


async def _known_event(
    sync: _Sync, entry: CalendarEntry, event: CalendarEvent
) -> CalendarEntryState:
    moved = (entry.starts_at, entry.ends_at) != (event.starts_at, event.ends_at)
    retitled = entry.title != event.title
    if (moved or retitled) and entry.state in _TRY_AGAIN:
        client = _client_now(sync, entry, event)
        if client is not None:  # the event now names its client, or moved off a clash
            await sync.uow.calendars.remove_entry(entry.id)
            return await _book(sync, event, client)
    if entry.state is CalendarEntryState.BOOKED and entry.appointment_id is not None:
        appointment = await sync.uow.appointments.get(entry.appointment_id)
        client = sync.clients.get(entry.client_id or 0)
        if appointment is None or client is None:
            return entry.state
        if appointment.status is AppointmentStatus.CANCELLED:
            await _cancelled_in_stillpoint(sync, entry, client)
            return CalendarEntryState.CLIENT_CANCELLED
        parties = SessionParties(appointment, client, sync.practitioner)
        other = _other_client(sync, entry, event) if retitled else None
        if other is not None and appointment.status in OPEN_STATUSES:
            await cancel_session(sync.uow, sync.clock, sync.policy, parties, by="calendar")
            sync.cancelled += 1
            await sync.uow.calendars.remove_entry(entry.id)
            return await _book(sync, event, other)
        if moved and appointment.status in OPEN_STATUSES:
            minutes = session_minutes(event.starts_at, event.ends_at)
            try:
                await move_session(
                    sync.uow,
                    sync.clock,
                    sync.policy,
                    parties,
                    starts_at=event.starts_at,
                    minutes=minutes,
                )
            except Refused as refusal:
                await _tell(sync, entry, "not_moved", refusal.answer, event.starts_at)
                return entry.state
            sync.moved += 1
    if moved or retitled:
        await sync.uow.calendars.update_entry(
            dataclasses.replace(
                entry, starts_at=event.starts_at, ends_at=event.ends_at, title=event.title
            )
        )
    return entry.state


_TRY_AGAIN = frozenset(
    {CalendarEntryState.ASKED, CalendarEntryState.WAITING, CalendarEntryState.NOT_BOOKED}
)
"""Events that were not booked, tried again when they change in the calendar."""


def _client_now(sync: _Sync, entry: CalendarEntry, event: CalendarEvent) -> Client | None:
    """Whose session a changed event is now: the client it could not be booked for, or
    the one client its new title names."""
    if entry.state is CalendarEntryState.NOT_BOOKED:
        return sync.clients.get(entry.client_id or 0)
    named = _named(sync, event)
    return named[0] if len(named) == 1 else None


def _other_client(sync: _Sync, entry: CalendarEntry, event: CalendarEvent) -> Client | None:
    """The one other client a booked event's new title names, unless the practitioner
    said whose it is; a title that names no one keeps the session where it was."""
    if event.uid in sync.choices:
        return None
    named = _named(sync, event)
    return named[0] if len(named) == 1 and named[0].id != entry.client_id else None


def _named(sync: _Sync, event: CalendarEvent) -> list[Client]:
    """The active clients an event's title or description names."""
    return sync.matcher.named(f"{event.title}\n{event.description}")


async def _gone(sync: _Sync, entry: CalendarEntry) -> None:
    """The event left the calendar (deleted, or cancelled there): its session goes too."""
    if entry.state is CalendarEntryState.BOOKED and entry.appointment_id is not None:
        appointment = await sync.uow.appointments.get(entry.appointment_id)
        client = sync.clients.get(entry.client_id or 0)
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


async def _ask(sync: _Sync, entry: CalendarEntry, candidates: Sequence[Client]) -> None:
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
                "title": shown_title(entry.title),
                "when": when(entry.starts_at, sync.practitioner.timezone),
            },
        ),
        dedup_key=notice_key(entry, "asked"),
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
        dedup_key=notice_key(entry, "cancelled_here"),
        now=sync.now,
        quiet=sync.policy.quiet,
        about_client_id=client.id,
    )


async def _tell(
    sync: _Sync, entry: CalendarEntry, what: str, reason: Text, starts_at: datetime
) -> None:
    """Tell the practitioner once (per event and time) why the calendar was not followed."""
    await sync.uow.outbox.add(_told(sync, entry, what, reason, starts_at))


def _told(
    sync: _Sync, entry: CalendarEntry, what: str, reason: Text, starts_at: datetime
) -> OutboxMessage:
    zone = sync.practitioner.timezone
    return practitioner_notice_row(
        sync.practitioner,
        Text(
            f"calendar.{what}",
            {
                "title": shown_title(entry.title),
                "when": when(starts_at, zone),
                "reason": embed(calendar_reason(reason)),
                "was": when(entry.starts_at, zone),  # where a session not moved stays
            },
        ),
        dedup_key=notice_key(entry, f"{what}:{int(starts_at.timestamp())}"),
        now=sync.now,
        quiet=sync.policy.quiet,
        about_client_id=entry.client_id,
    )


def _entry(
    sync: _Sync,
    event: CalendarEvent,
    state: CalendarEntryState,
    *,
    client: Client | None = None,
    appointment_id: int | None = None,
) -> CalendarEntry:
    return CalendarEntry(
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


def shown_title(title: str) -> str | dict[str, object]:
    """An event's title as the practitioner is shown it: shortened, or "(no title)"."""
    if not title.strip():
        return embed(Text("calendar.untitled"))
    return shorten(title.strip(), TITLE_SHOWN)[0]


def session_minutes(starts_at: datetime, ends_at: datetime) -> int:
    """An event's length in whole minutes, within what a session may last."""
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    return max(MIN_MINUTES, min(MAX_MINUTES, minutes))
