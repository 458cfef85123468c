"""A practitioner's calendar subscription: ``/calendar`` (connect, show, disconnect), the
answers to "whose session is this event?", and the polling that follows the calendar.

The address is a secret (Google calls it the "secret address"): it is stored encrypted,
shown only masked, and never logged. A calendar that cannot be read changes nothing; the
practitioner is told once, and again when it can be read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot import metrics
from bot.domain import callbacks
from bot.domain.calendar_events import CalendarEvent
from bot.domain.calendar_reads import CalendarProblem, CalendarRead, CalendarUnavailable, masked
from bot.domain.models import (
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    Client,
    Practitioner,
)
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.ports import CalendarSource, UnitOfWork
from bot.services.access import Refused, own_client, refuse, require_practitioner
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import notify_practitioner
from bot.services.sessions.booking import SessionRequest, book_sessions
from bot.services.sessions.calendar_sync import (
    SyncResult,
    apply_events,
    ask_waiting,
    notices_prefix,
    refusal_lines,
    session_minutes,
    shown_title,
)

_log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
IMPORTED = "file:imported"
"""The address of a calendar only ever imported from a file: never read over the network
(it has no next read)."""
_UNANSWERED = frozenset({CalendarEntryState.ASKED, CalendarEntryState.WAITING})
DISCONNECT = (Button(Text("calendar.button_disconnect"), callbacks.CALENDAR_DISCONNECT),)


async def connect(
    ctx: UseCaseContext,
    source: CalendarSource,
    *,
    actor: int,
    url: str,
    remove_message: Callable[[], Awaitable[bool]] | None = None,
) -> OutgoingMessage:
    """``/calendar <address>``: read it now; if it can be read, follow it from now on (a
    new address replaces the old one, keeping what was learnt about its events).
    ``remove_message`` takes the practitioner's message holding the address out of the
    chat (whether it did, the answer says); it is not called for anyone else."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "calendar.connect")
    address_removed = remove_message is not None and await remove_message()
    try:
        result = await follow(ctx, source, practitioner, url, actor=actor)
    except CalendarUnavailable as unavailable:
        retry = embed(Text("calendar.address_removed_retry")) if address_removed else ""
        return OutgoingMessage(
            Text(
                "calendar.connect_failed",
                {"problem": problem_text(unavailable.problem), "removed": retry},
            )
        )
    return OutgoingMessage(
        Text(
            "calendar.connected",
            {
                "address": masked(url),
                "count": result.ahead,
                "sessions": result.sessions,
                "asked": embed(Text("calendar.asked", {"count": result.asked}))
                if result.asked
                else "",
                "more": embed(Text("calendar.asked_more", {"count": result.waiting}))
                if result.waiting
                else "",
                "removed": embed(Text("calendar.address_removed")) if address_removed else "",
            },
        ),
        (DISCONNECT,),
    )


async def follow(
    ctx: UseCaseContext,
    source: CalendarSource,
    practitioner: Practitioner,
    url: str,
    *,
    actor: int | None,
) -> SyncResult:
    """Read the calendar at ``url`` now and follow it from now on (``actor``: who asked;
    ``None``, an operator); raises ``CalendarUnavailable`` and then keeps nothing."""
    url = url.strip()
    read = await source.read(url, etag=None, last_modified=None, now=ctx.clock.now())
    async with ctx.uow() as uow:
        subscription = await _store_address(uow, ctx, practitioner, url)
    result = await apply_events(ctx, subscription, read.events)
    async with ctx.uow() as uow:
        await _remember_version(uow, subscription, read)
        await uow.audit.record(
            ctx.clock.now(),
            "calendar.connected",
            actor_telegram_id=actor,
            subject_type="calendar_subscription",
            subject_id=subscription.id,
            detail={"events": result.ahead, "sessions": result.sessions},
        )
        await uow.commit()
    return result


async def import_events(
    ctx: UseCaseContext, practitioner: Practitioner, events: Sequence[CalendarEvent]
) -> SyncResult:
    """An operator's one-off import of a calendar file: its events followed as a read of
    the practitioner's calendar would be (an import of a newer file follows the changes).
    A practitioner with a subscribed calendar has the file compared with it."""
    async with ctx.uow() as uow:
        subscription = await uow.calendars.subscription_of(practitioner.id)
        if subscription is None:
            subscription = await uow.calendars.add_subscription(
                CalendarSubscription(
                    0,
                    practitioner.id,
                    IMPORTED,
                    synced_at=ctx.clock.now(),
                    created_at=ctx.clock.now(),
                )
            )
            await uow.commit()
    result = await apply_events(ctx, subscription, events)
    async with ctx.uow() as uow:
        await uow.audit.record(
            ctx.clock.now(),
            "calendar.imported",
            subject_type="calendar_subscription",
            subject_id=subscription.id,
            detail={"events": result.ahead, "sessions": result.sessions},
        )
        await uow.commit()
    return result


async def show(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """``/calendar`` alone: the calendar followed (its address masked), or how to connect one."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "calendar.show")
        subscription = await uow.calendars.subscription_of(practitioner.id)
        if subscription is None:
            return OutgoingMessage(Text("calendar.usage"))
        now = ctx.clock.now()
        entries = await uow.calendars.entries(subscription.id)
    ahead = [e for e in entries if e.starts_at >= now]
    sessions = sum(1 for e in ahead if e.state is CalendarEntryState.BOOKED)
    synced = (
        embed(
            Text("calendar.synced", {"when": when(subscription.synced_at, practitioner.timezone)})
        )
        if subscription.synced_at
        else embed(Text("calendar.not_synced"))
    )
    return OutgoingMessage(
        Text(
            "calendar.state",
            {
                "address": masked(subscription.url)
                if subscription.url != IMPORTED
                else embed(Text("calendar.from_file")),
                "synced": synced,
                "sessions": embed(Text("calendar.sessions_ahead", {"count": sessions})),
                "failing": embed(Text("calendar.failing_now")) if subscription.failures else "",
            },
        ),
        (DISCONNECT,),
    )


async def disconnect(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """Disconnect: stop following the calendar; the sessions it booked stay."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "calendar.disconnect")
        subscription = await uow.calendars.subscription_of(practitioner.id)
        if subscription is None:
            return OutgoingMessage(Text("calendar.usage"))
        await uow.calendars.remove_subscription(subscription.id)
        # Questions about its events, and news of it, not sent yet would now answer nothing.
        for prefix in (notices_prefix(subscription.id), _state_prefix(subscription)):
            await uow.outbox.cancel_pending(dedup_prefix=prefix, reason="calendar disconnected")
        await uow.audit.record(
            ctx.clock.now(),
            "calendar.disconnected",
            actor_telegram_id=actor,
            subject_type="calendar_subscription",
            subject_id=subscription.id,
        )
        await uow.commit()
    return OutgoingMessage(Text("calendar.disconnected"))


async def answer(
    ctx: UseCaseContext, *, actor: int, entry_id: int, client_id: int | None
) -> OutgoingMessage:
    """The practitioner's answer to "whose session is this event?": remembered for the
    event and its repeats; the ones waiting are booked for that client, or let be."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "calendar.answer")
        entry = await uow.calendars.entry(entry_id)
        subscription = (
            None if entry is None else await uow.calendars.subscription(entry.subscription_id)
        )
        if entry is None or subscription is None or subscription.practitioner_id != practitioner.id:
            raise await refuse(
                uow,
                ctx.clock,
                actor=actor,
                action="calendar.answer",
                reason="not their calendar" if entry else "no such event",
                answer=Text("access.not_found"),
                subject_type="calendar_entry",
                subject_id=entry_id,
            )
        title = shown_title(entry.title)
        if entry.state is not CalendarEntryState.ASKED:
            return OutgoingMessage(Text("calendar.already_answered", {"title": title}))
        client = (
            None
            if client_id is None
            else await own_client(uow, ctx.clock, practitioner, client_id, "calendar.answer")
        )
        await uow.calendars.choose(subscription.id, entry.uid, client_id)
        waiting = [
            e
            for e in await uow.calendars.entries(subscription.id)
            if e.uid == entry.uid and e.state in _UNANSWERED
        ]
        if client is None:
            for each in waiting:
                await uow.calendars.update_entry(
                    dataclasses.replace(each, state=CalendarEntryState.NOT_A_SESSION)
                )
            await uow.commit()
            return OutgoingMessage(Text("calendar.answered_none", {"title": title}))
        booked, refused = await _book_answered(ctx, uow, practitioner, client, waiting)
        await uow.commit()
    return OutgoingMessage(
        Text(
            "calendar.answered_client",
            {
                "title": title,
                "client": client.full_name,
                "repeats": embed(Text("calendar.answered_repeats")) if entry.recurrence_id else "",
                "booked": embed(Text("calendar.answered_booked", {"count": booked}))
                if booked
                else "",
                "not_booked": embed(
                    Text(
                        "calendar.answered_not_booked",
                        {"count": len(refused), "events": refusal_lines(practitioner, refused)},
                    )
                )
                if refused
                else "",
            },
        )
    )


async def _book_answered(
    ctx: UseCaseContext,
    uow: UnitOfWork,
    practitioner: Practitioner,
    client: Client,
    entries: Sequence[CalendarEntry],
) -> tuple[int, list[tuple[CalendarEntry, Refused]]]:
    """Book the client's sessions for the events answered about, together (one that
    clashes is not booked, and is tried again should the event move); how many were
    booked, and the refused ones with why."""
    outcomes = await book_sessions(
        uow,
        ctx.clock,
        ctx.policy,
        practitioner=practitioner,
        requests=[
            SessionRequest(client, e.starts_at, session_minutes(e.starts_at, e.ends_at))
            for e in entries
        ],
    )
    refused: list[tuple[CalendarEntry, Refused]] = []
    for entry, outcome in zip(entries, outcomes, strict=True):
        if isinstance(outcome, Refused):
            refused.append((entry, outcome))
            answered = dataclasses.replace(
                entry, state=CalendarEntryState.NOT_BOOKED, client_id=client.id
            )
        else:
            answered = dataclasses.replace(
                entry,
                state=CalendarEntryState.BOOKED,
                client_id=client.id,
                appointment_id=outcome.appointment.id,
            )
        await uow.calendars.update_entry(answered)
    return len(entries) - len(refused), refused


READS_AHEAD = 2
"""Calendars read (fetched and parsed, in a process of its own) while an earlier one is
applied, so that the two overlap."""


async def poll_due(ctx: UseCaseContext, source: CalendarSource) -> int:
    """Read every calendar whose turn has come, and follow it; how many were read."""
    async with ctx.uow() as uow:
        due = await uow.calendars.due_subscriptions(ctx.clock.now())
    reads: deque[tuple[CalendarSubscription, asyncio.Task[CalendarRead]]] = deque()
    try:
        for subscription in due:
            reads.append((subscription, asyncio.create_task(_read(ctx, source, subscription))))
            if len(reads) > READS_AHEAD:
                await _poll(ctx, *reads.popleft())
        while reads:
            await _poll(ctx, *reads.popleft())
    finally:
        for _, read in reads:
            read.cancel()
    return len(due)


async def _read(
    ctx: UseCaseContext, source: CalendarSource, subscription: CalendarSubscription
) -> CalendarRead:
    return await source.read(
        subscription.url,
        etag=subscription.etag,
        last_modified=subscription.last_modified,
        now=ctx.clock.now(),
    )


async def _poll(
    ctx: UseCaseContext, subscription: CalendarSubscription, reading: Awaitable[CalendarRead]
) -> None:
    now = ctx.clock.now()
    try:
        read = await reading
    except CalendarUnavailable as unavailable:
        metrics.CALENDAR_READS.labels("failed").inc()
        await _failed(ctx, subscription, unavailable)
        return
    metrics.CALENDAR_READS.labels("changed" if read.changed else "unchanged").inc()
    async with ctx.uow() as uow:
        current = await uow.calendars.subscription(subscription.id)
        if current is None:  # disconnected meanwhile
            return
        # Told it was failing, and told it works again, unless that news has not gone out
        # yet (quiet hours): then neither is sent.
        if current.failing_told and not await uow.outbox.cancel_pending(
            dedup_prefix=f"{_state_prefix(current)}failing:", reason="calendar read again"
        ):
            await _tell(uow, ctx, current, Text("calendar.working_again"), "working")
        updated = dataclasses.replace(
            current,
            next_poll_at=now + ctx.policy.calendar_poll,
            failures=0,
            failing_told=False,
            synced_at=now,
        )
        await uow.calendars.update_subscription(updated)
        await uow.commit()
    if not read.changed:
        await ask_waiting(ctx, updated)
        return
    result = await apply_events(ctx, updated, read.events)
    async with ctx.uow() as uow:
        await _remember_version(uow, updated, read)
    _log.info(
        "calendar %s read: %s events ahead, %s booked, %s moved, %s cancelled, %s asked",
        subscription.id,
        result.ahead,
        result.booked,
        result.moved,
        result.cancelled,
        result.asked,
    )


async def _failed(
    ctx: UseCaseContext, subscription: CalendarSubscription, unavailable: CalendarUnavailable
) -> None:
    """Wait longer before the next try; tell the practitioner once."""
    now = ctx.clock.now()
    failures = subscription.failures + 1
    wait = min(ctx.policy.calendar_poll * 2 ** min(failures, 8), MAX_BACKOFF)
    _log.info(
        "calendar %s could not be read (%s); next try in %s",
        subscription.id,
        unavailable.problem,
        wait,
    )
    async with ctx.uow() as uow:
        current = await uow.calendars.subscription(subscription.id)
        if current is None:
            return
        if not current.failing_told:
            text = Text("calendar.failing", {"problem": problem_text(unavailable.problem)})
            await _tell(uow, ctx, current, text, f"failing:{failures}")
        await uow.calendars.update_subscription(
            dataclasses.replace(
                current, failures=failures, failing_told=True, next_poll_at=now + wait
            )
        )
        await uow.commit()


async def _tell(
    uow: UnitOfWork, ctx: UseCaseContext, subscription: CalendarSubscription, text: Text, what: str
) -> None:
    now = ctx.clock.now()
    await notify_practitioner(
        uow,
        subscription.practitioner_id,
        text,
        dedup_key=f"{_state_prefix(subscription)}{what}:{int(now.timestamp())}",
        now=now,
        quiet=ctx.policy.quiet,
        about_client_id=None,
    )


def _state_prefix(subscription: CalendarSubscription) -> str:
    return f"calendar-state:{subscription.id}:"


async def _remember_version(
    uow: UnitOfWork, subscription: CalendarSubscription, read: CalendarRead
) -> None:
    """Keep the version read, so the next read is conditional."""
    current = await uow.calendars.subscription(subscription.id)
    if current is None:
        return
    await uow.calendars.update_subscription(
        dataclasses.replace(current, etag=read.etag, last_modified=read.last_modified)
    )
    await uow.commit()


async def _store_address(
    uow: UnitOfWork, ctx: UseCaseContext, practitioner: Practitioner, url: str
) -> CalendarSubscription:
    now = ctx.clock.now()
    known = await uow.calendars.subscription_of(practitioner.id)
    fresh = CalendarSubscription(
        id=known.id if known else 0,
        practitioner_id=practitioner.id,
        url=url,
        next_poll_at=now + ctx.policy.calendar_poll,
        synced_at=now,
        created_at=known.created_at if known else now,
    )
    stored = (
        await uow.calendars.update_subscription(fresh)
        if known
        else await uow.calendars.add_subscription(fresh)
    )
    await uow.commit()
    return stored


def problem_text(problem: CalendarProblem) -> dict[str, object]:
    """Why a calendar cannot be read, as a practitioner is told."""
    return embed(Text(f"calendar.problem_{problem}"))
