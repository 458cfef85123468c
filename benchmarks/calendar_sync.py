"""``calendar``: following practitioners' own calendars, from cold and unchanged.

The target (issue 14): 100 practitioners, each with a 2,000-event calendar (a fifth
repeating), synced in at most 60 s of wall time and 30 s of CPU from cold; an unchanged
calendar costs one conditional request and no parsing; the bot's other replies stay
within 200 ms p99 during a sync.

The calendars are ``benchmarks.calendar_data.generated_calendar`` (Google's export of a
busy practice in Europe/Berlin, 365 days back and 90 ahead): every ``--named-every``-th
event (with its repeats) names one of the practitioner's ``--clients`` clients by full
name and is booked as ``/book`` books (reminders, the client's notice, the audit);
the others name no client and are questions for the practitioner (five a read, the rest
waiting for the next reads). A server in a process of its own (``serve_calendars``, so
its CPU is not counted) serves each calendar at its own address with an ``ETag`` and
answers 304 to a matching ``If-None-Match``, counting requests.

Each weekly series is a course: it ends ``--course-weeks`` (12) weeks after its first
session, so the 60 days ahead hold about 670 events a calendar, 11 a day (about 200 of
them client sessions). With ``--endless-series`` every series begun in the past year
still runs: 2,250 events ahead, 37 a day, one in ten overlapping another; a stress load,
not a practice.

Two measurements, each on a fresh database seeded through the units of work:

1. **The sync** (``wall_s``, ``cpu_s``), in this process: every practitioner has a
   subscription due and nothing read yet; one ``poll_due`` (what the bot's calendar job
   calls) reads them all through ``FeedSource(allow_insecure=True)`` and applies them,
   as the bot does: calendars are parsed in a process of their own while earlier ones
   are applied. ``cpu_s`` is this process's CPU (``time.process_time``) over that call
   plus the parsing process's (``parse_cpu_s``, counted once the process is stopped at
   the end). A read that finds a calendar changed is a parse (``parses``);
   ``read_wall_s`` adds up the reads' times (fetch and parse, overlapping the applying).
   ``loop_lag_p99_ms`` is how late a 10 ms timer in this event loop fired
   during the sync. Then the clock moves one ``CALENDAR_POLL`` on and ``poll_due`` runs
   again with nothing changed: ``unchanged_requests`` (requests the server saw),
   ``unchanged_conditional`` (with ``If-None-Match``), ``unchanged_not_modified`` (304s)
   and ``unchanged_parses``. ``--profile FILE`` writes a cProfile of the first sync
   (this process only; parsing is counted separately); the profiler slows the sync
   by about half again, so a profiled run (``profiled``) shows where the time goes, not
   the wall and CPU figures to hold against the targets.
2. **Replies during a sync** (``reply_p99_ms``), end to end: the real bot
   (``stillpoint run``, ``CALENDAR_ALLOW_INSECURE=true``) against the emulator with
   Telegram's limits, on the same practice (each practitioner and client with an open
   chat) plus ``MEASURERS`` other practitioners sending ``/today`` and as many clients
   sending ``/next``, each every ``MEASURE_EVERY_S``, waiting for their reply. Replies
   are timed (by the emulator's clock) for ``QUIET_S`` at least before any calendar is
   due (``quiet_reply_p99_ms``); then every subscription is made due and the bot's own
   calendar job (every 30 s) syncs them while replies are timed, until every calendar
   has been read and applied or ``--over`` seconds have passed
   (``reply_sync_calendars`` says how many were applied by then).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import os
import re
import resource
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.calendar_data import (
    CALENDAR_TIMEZONE,
    COURSE_WEEKS,
    Practice,
    Served,
    client_name,
    serve_calendars,
)
from benchmarks.common import (
    STILLPOINT_RUN,
    BotProcess,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    emulator,
    engine_for,
    http_errors,
    now,
    percentile,
    progress,
    rounded,
    scratch_database,
    wait_polling,
    wait_until,
    workspace,
)
from benchmarks.practice_seed import first_bot_message, start_chat
from bot.calendar_feed.source import FeedSource, stop_parsing
from bot.clock import MovableClock
from bot.db.tables import (
    AppointmentRow,
    CalendarEntryRow,
    CalendarSubscriptionRow,
    OutboxRow,
)
from bot.db.uow import make_uow_factory
from bot.domain.calendar_reads import CalendarRead
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CalendarSubscription,
    Client,
    ClientStatus,
    Practitioner,
)
from bot.domain.timing import QuietHours
from bot.sandbox import user_actions
from bot.sandbox.records import StoredMessage
from bot.sandbox.server import SandboxServer
from bot.services.context import UseCaseContext
from bot.services.policy import Policy
from bot.services.sessions.calendar_subscriptions import poll_due
from bot.triage_data import LoadedTriage

DEFAULT_PRACTITIONERS = 100
DEFAULT_EVENTS = 2000
DEFAULT_CLIENTS = 50
DEFAULT_NAMED_EVERY = 3
DEFAULT_OVER_S = 60.0
TARGET_WALL_S = 60.0
TARGET_CPU_S = 30.0
TARGET_UNCHANGED_REQUESTS_EACH = 1
TARGET_UNCHANGED_PARSES = 0
TARGET_REPLY_P99_MS = 200.0

LOCALE = "en"
TELEGRAM_ID_BASE = 9_500_000_000
LAG_TICK_S = 0.01
MEASURERS = 10
"""Other practitioners sending /today, and as many clients sending /next."""
MEASURE_EVERY_S = 2.0
"""How often each of them writes: together ten messages a second."""
SETTLE_S = 3.0
"""A pause after everyone's first answer, for the bot's start-up work to end."""
QUIET_S = 5.0
"""Replies timed before any calendar is due, at least."""
DEADLINE_S = 60.0
POLL_S = 0.02
READ_LOG = re.compile(r"calendar \d+ read: ")
"""The bot's log line for each calendar read and applied (``_poll``)."""


def _policy() -> Policy:
    return Policy(
        quiet=QuietHours(clock_time(21, 0), clock_time(8, 0)),
        reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
        invite_ttl=timedelta(days=7),
        default_timezone="UTC",
        triage=LoadedTriage(),
    )


# --- the practice ----------------------------------------------------------------------------


def _practitioner(telegram_user_id: int, name: str, at: datetime) -> Practitioner:
    return Practitioner(
        id=0,
        telegram_user_id=telegram_user_id,
        display_name=name,
        timezone=CALENDAR_TIMEZONE,
        locale=LOCALE,
        created_at=at - timedelta(days=400),
    )


def _client(practitioner: Practitioner, name: str, telegram_user_id: int, at: datetime) -> Client:
    return Client(
        id=0,
        practitioner_id=practitioner.id,
        full_name=name,
        status=ClientStatus.ACTIVE,
        timezone=practitioner.timezone,
        locale=LOCALE,
        telegram_user_id=telegram_user_id,
        consented_at=at - timedelta(days=300),
        created_at=at - timedelta(days=300),
    )


async def seed_practice(
    engine: AsyncEngine,
    practice: Practice,
    served: Served,
    *,
    at: datetime,
    due_at: datetime,
    open_chat: Callable[[str], int] | None = None,
) -> None:
    """Each practitioner with ``practice.clients`` clients and a subscription to their
    calendar whose first read is due at ``due_at``, nothing read yet; one unit of work per
    practitioner. ``open_chat(name)`` gives each person's Telegram id (an emulator's
    user); without it they are made up."""
    factory = make_uow_factory(engine)
    for p in range(practice.practitioners):
        base = TELEGRAM_ID_BASE + p * 1000
        name = f"Calendar Practitioner {p + 1}"
        async with factory() as uow:
            practitioner = await uow.practitioners.add(
                _practitioner(open_chat(name) if open_chat else base, name, at)
            )
            for c in range(practice.clients):
                full = client_name(p, c)
                chat = open_chat(full) if open_chat else base + c + 1
                await uow.clients.add(_client(practitioner, full, chat, at))
            await uow.calendars.add_subscription(
                CalendarSubscription(
                    id=0,
                    practitioner_id=practitioner.id,
                    url=served.url(p),
                    next_poll_at=due_at,
                    created_at=at,
                )
            )
            await uow.commit()


# --- counting reads and parses ---------------------------------------------------------------


def _children_cpu_s() -> float:
    """CPU seconds of this process's children that have ended (the parsing process once
    ``stop_parsing`` has stopped it)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class TimedSource:
    """``FeedSource`` with each read counted and timed (fetch and parse together). A
    read that finds the calendar changed is parsed (``FeedSource`` parses exactly
    those), so ``changed`` counts the parses."""

    def __init__(self, source: FeedSource, *, every: int = 10) -> None:
        """Wrap ``source``; a progress line every ``every`` reads."""
        self.source = source
        self.every = every
        self.reads = 0
        self.changed = 0
        self.events = 0
        self.wall_s = 0.0
        self.began = time.monotonic()

    async def read(
        self, url: str, *, etag: str | None, last_modified: str | None, now: datetime
    ) -> CalendarRead:
        """``source.read``, counted and timed."""
        began = time.perf_counter()
        try:
            found = await self.source.read(url, etag=etag, last_modified=last_modified, now=now)
        finally:
            self.reads += 1
            self.wall_s += time.perf_counter() - began
        self.changed += found.changed
        self.events += len(found.events)
        if self.reads % self.every == 0:
            progress(f"calendar: {self.reads} read in {time.monotonic() - self.began:.0f} s")
        return found

    def reset(self) -> None:
        """Start counting again."""
        self.reads = self.changed = self.events = 0
        self.wall_s = 0.0
        self.began = time.monotonic()


class _LoopLag:
    """How late a ``LAG_TICK_S`` timer fires in this event loop, while running."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.lags.append(loop.time() - began - LAG_TICK_S)


@contextlib.asynccontextmanager
async def _watching_lag() -> AsyncIterator[_LoopLag]:
    lag = _LoopLag()
    task = asyncio.create_task(lag.watch())
    try:
        yield lag
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- the calendar server's counts ------------------------------------------------------------


async def _server_stats(session: aiohttp.ClientSession, served: Served) -> dict[str, int]:
    async with session.get(f"{served.base}/stats") as response:
        found: dict[str, int] = await response.json()
        return found


async def _server_reset(session: aiohttp.ClientSession, served: Served) -> None:
    async with session.post(f"{served.base}/reset") as response:
        response.raise_for_status()


# --- 1. the sync -----------------------------------------------------------------------------


async def _outcome(engine: AsyncEngine) -> dict[str, Any]:
    """What the sync left in the database: entries by state, sessions, messages queued,
    and the subscriptions that kept a version for a conditional read."""
    async with engine.connect() as connection:
        states = dict(
            (
                await connection.execute(
                    select(CalendarEntryRow.state, func.count()).group_by(CalendarEntryRow.state)
                )
            ).all()
        )
        sessions = await connection.scalar(
            select(func.count())
            .select_from(AppointmentRow)
            .where(AppointmentRow.status == AppointmentStatus.BOOKED)
        )
        kinds = dict(
            (
                await connection.execute(
                    select(OutboxRow.kind, func.count()).group_by(OutboxRow.kind)
                )
            ).all()
        )
        versions = await connection.scalar(
            select(func.count())
            .select_from(CalendarSubscriptionRow)
            .where(CalendarSubscriptionRow.etag.is_not(None))
        )
    return {
        "entries": {str(k): int(v) for k, v in states.items()},
        "sessions": int(sessions or 0),
        "outbox": {str(k): int(v) for k, v in kinds.items()},
        "versions_kept": int(versions or 0),
    }


@dataclass(frozen=True, slots=True)
class _Poll:
    """One timed ``poll_due``."""

    calendars: int
    wall_s: float
    cpu_s: float
    """This process's CPU and the parsing process's."""
    parse_cpu_s: float
    lags: list[float]


async def _timed_poll(
    ctx: UseCaseContext, source: TimedSource, profile: cProfile.Profile | None
) -> _Poll:
    """One ``poll_due``: calendars read, wall and CPU seconds (the parsing process's
    counted once it is stopped at the end), and the event loop's lags."""
    async with _watching_lag() as lag:
        cpu, children, wall = time.process_time(), _children_cpu_s(), time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            read = await poll_due(ctx, source)
        finally:
            if profile is not None:
                profile.disable()
        wall = time.perf_counter() - wall
        stop_parsing()
        cpu = time.process_time() - cpu
        parsing = _children_cpu_s() - children
    return _Poll(read, wall, cpu + parsing, parsing, lag.lags)


def _ms(values: Sequence[float], q: float) -> float | None:
    found = percentile(values, q)
    return None if found is None else round(found * 1000, 1)


async def sync(
    database: str | None, practice: Practice, served: Served, *, profile_path: str | None
) -> dict[str, Any]:
    """Seed the practice, sync every calendar from cold in this process, then again with
    nothing changed; the figures."""
    with workspace("calendar") as workdir:
        async with (
            scratch_database(database, workdir, "calendar") as db,
            engine_for(db) as engine,
            aiohttp.ClientSession() as session,
        ):
            clock = MovableClock(practice.now)
            progress(
                f"calendar: seeding {practice.practitioners} practitioners x "
                f"{practice.clients} clients"
            )
            began = time.monotonic()
            await seed_practice(engine, practice, served, at=clock.now(), due_at=clock.now())
            # No ANALYZE here: the sync is the bulk load. Statistics taken of the few seeded
            # rows would stay (autovacuum is off on the machine's PostgreSQL) and plan the
            # foreign-key checks of every insert for empty tables, as no server with
            # autovacuum would for long: a 100-calendar sync took 352 s instead of 80.
            seed_s = time.monotonic() - began
            ctx = UseCaseContext(make_uow_factory(engine), clock, _policy())
            source = TimedSource(FeedSource(allow_insecure=True, default_timezone="UTC"))
            profile = cProfile.Profile() if profile_path else None
            try:
                await _server_reset(session, served)
                progress(f"calendar: syncing {practice.practitioners} calendars from cold")
                source.reset()
                cold = await _timed_poll(ctx, source, profile)
                cold_server = await _server_stats(session, served)
                cold_reads = (source.changed, source.events, source.wall_s)
                progress(
                    f"calendar: {cold.calendars} calendars in {cold.wall_s:.1f} s wall, "
                    f"{cold.cpu_s:.1f} s CPU ({source.changed} parsed, "
                    f"{cold.parse_cpu_s:.1f} s CPU parsing)"
                )
                outcome = await _outcome(engine)
                clock.advance(ctx.policy.calendar_poll)
                source.reset()
                await _server_reset(session, served)
                progress("calendar: reading them again, unchanged")
                again = await _timed_poll(ctx, source, None)
                unchanged = await _server_stats(session, served)
                unchanged_parses = source.changed
            finally:
                await source.source.close()
    if profile is not None and profile_path is not None:
        profile.dump_stats(profile_path)
        progress(f"calendar: profile of the first sync written to {profile_path}")
    entries = outcome["entries"]
    parses, events_read, reads_wall_s = cold_reads
    progress(
        f"calendar: unchanged: {unchanged['requests']} requests, {unchanged['not_modified']} "
        f"answered 304, {unchanged_parses} parsed, {again.wall_s:.2f} s"
    )
    return {
        "profiled": profile is not None,
        "seed_s": rounded(seed_s, 1),
        "calendars_read": cold.calendars,
        "wall_s": rounded(cold.wall_s, 2),
        "cpu_s": rounded(cold.cpu_s, 2),
        "parses": parses,
        "parse_cpu_s": rounded(cold.parse_cpu_s, 2),
        "read_wall_s": rounded(reads_wall_s, 2),
        "cpu_besides_parsing_s": rounded(cold.cpu_s - cold.parse_cpu_s, 2),
        "loop_lag_p99_ms": _ms(cold.lags, 99),
        "loop_lag_max_ms": _ms(cold.lags, 100),
        "cold_requests": cold_server["requests"],
        "calendar_mb_served": rounded(cold_server["bytes_sent"] / 1e6, 1),
        "events_read": events_read,
        "entries_stored": sum(entries.values()),
        "questions_waiting": max(0, events_read - sum(entries.values())),
        "entries_by_state": entries,
        "bookings": entries.get("booked", 0),
        "sessions_booked": outcome["sessions"],
        "questions_asked": entries.get("asked", 0),
        "not_booked": entries.get("not_booked", 0),
        "outbox_by_kind": outcome["outbox"],
        "versions_kept": outcome["versions_kept"],
        "unchanged_calendars_read": again.calendars,
        "unchanged_requests": unchanged["requests"],
        "unchanged_conditional": unchanged["conditional"],
        "unchanged_not_modified": unchanged["not_modified"],
        "unchanged_parses": unchanged_parses,
        "unchanged_wall_s": rounded(again.wall_s, 3),
        "unchanged_cpu_s": rounded(again.cpu_s, 3),
    }


# --- 2. replies during a sync ----------------------------------------------------------------


@dataclass(slots=True)
class _Wait:
    """A message to the bot, the phase it was sent in, and the bot's answer."""

    chat_id: int
    message: StoredMessage
    phase: str
    answer: StoredMessage | None = None

    def look(self, server: SandboxServer) -> bool:
        """Fill in the answer if it has come; whether it has."""
        if self.answer is None:
            self.answer = first_bot_message(server, self.chat_id, self.message, None)
        return self.answer is not None

    def seconds(self) -> float | None:
        """From the message to the answer, by the emulator's clock."""
        if self.answer is None:
            return None
        return max(0.0, (self.answer.date - self.message.date).total_seconds())


@dataclass(slots=True)
class _Watch:
    """Where the bot's sync is: ``quiet`` (no calendar asked for yet), ``sync``, ``done``."""

    phase: str = "quiet"
    sync_began: float | None = None
    sync_ended: float | None = None
    applied: int = 0
    cpu_began: float | None = None
    cpu_ended: float | None = None


async def _seed_measurers(engine: AsyncEngine, server: SandboxServer) -> list[tuple[int, str]]:
    """``MEASURERS`` practitioners with no calendar (``/today``), each with a client
    (``/next``) and a session between them later today."""
    at = now()
    measurers: list[tuple[int, str]] = []
    async with make_uow_factory(engine)() as uow:
        for n in range(MEASURERS):
            name = f"Busy {n + 1}"
            practitioner = await uow.practitioners.add(
                _practitioner(start_chat(server, name), name, at)
            )
            client_chat = start_chat(server, f"Next Client {n + 1}")
            client = await uow.clients.add(
                _client(practitioner, f"Next Client {n + 1}", client_chat, at)
            )
            await uow.appointments.add(
                Appointment(
                    id=0,
                    practitioner_id=practitioner.id,
                    client_id=client.id,
                    starts_at=at + timedelta(hours=2),
                    duration_minutes=60,
                    status=AppointmentStatus.BOOKED,
                    created_at=at - timedelta(days=3),
                )
            )
            measurers += [(practitioner.telegram_user_id, "/today"), (client_chat, "/next")]
        await uow.commit()
    return measurers


def _cpu_seconds(pid: int | None) -> float | None:
    """A process's user and system CPU so far (Linux), or ``None``."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = float(os.sysconf("SC_CLK_TCK"))
    return (int(fields[11]) + int(fields[12])) / ticks


def _applied(bot: BotProcess) -> int:
    """Calendars the bot has read and applied so far, by its log."""
    try:
        return len(READ_LOG.findall(bot.log_path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return 0


async def _watch(
    session: aiohttp.ClientSession,
    served: Served,
    bot: BotProcess,
    watch: _Watch,
    *,
    calendars: int,
    over_s: float,
    start_within_s: float,
) -> None:
    """Follow the bot's sync: it begins with the first calendar request and ends when
    every calendar has been applied, or ``over_s`` after it began."""
    asked_at = time.monotonic()
    while watch.phase != "done":
        await asyncio.sleep(0.1)
        if (problem := bot.exited_early()) is not None:
            raise RuntimeError(problem)
        if watch.phase == "quiet":
            if (await _server_stats(session, served))["requests"] == 0:
                if time.monotonic() - asked_at > start_within_s:
                    raise TimeoutError(f"the bot read no calendar within {start_within_s:g} s")
                continue
            watch.phase = "sync"
            watch.sync_began = time.monotonic()
            watch.cpu_began = _cpu_seconds(bot.pid)
            progress("calendar: the bot has begun reading the calendars")
            continue
        watch.applied = _applied(bot)
        assert watch.sync_began is not None
        if watch.applied >= calendars or time.monotonic() - watch.sync_began >= over_s:
            watch.sync_ended = time.monotonic()
            watch.cpu_ended = _cpu_seconds(bot.pid)
            watch.phase = "done"


async def _write(
    server: SandboxServer, measurers: Sequence[tuple[int, str]], watch: _Watch
) -> list[_Wait]:
    """The other users take turns writing their command, ``MEASURE_EVERY_S`` apart each,
    until the sync is done; each waits for its last reply before writing again."""
    step = MEASURE_EVERY_S / len(measurers)
    latest: dict[int, _Wait] = {}
    sent: list[_Wait] = []
    started = time.monotonic()
    turn = 0
    while watch.phase != "done":
        await asyncio.sleep(max(0.0, started + turn * step - time.monotonic()))
        user, command = measurers[turn % len(measurers)]
        turn += 1
        earlier = latest.get(user)
        if earlier is not None and not earlier.look(server):
            continue
        phase = watch.phase
        latest[user] = _Wait(user, user_actions.send_text(server.state, user, command), phase)
        sent.append(latest[user])
    return sent


async def _answered(
    server: SandboxServer, waits: Sequence[_Wait], bot: BotProcess, what: str
) -> bool:
    """Wait for every answer, up to ``DEADLINE_S``; whether all came."""
    try:
        await wait_until(
            lambda: all([w.look(server) for w in waits]),  # noqa: C419 -- every one looks
            timeout=DEADLINE_S,
            what=what,
            interval=POLL_S,
            processes=[bot],
        )
    except TimeoutError:
        return False
    return True


async def replies_during_sync(
    database: str | None, practice: Practice, served: Served, *, over_s: float
) -> dict[str, Any]:
    """The real bot syncs the practice's calendars while other users are answered; the
    figures."""
    with workspace("calendar-replies") as workdir:
        async with (
            scratch_database(database, workdir, "calendar-replies") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
            aiohttp.ClientSession() as session,
        ):
            progress("calendar: seeding the practice again, with chats, for the bot")
            at = now()
            await seed_practice(
                engine,
                practice,
                served,
                at=at,
                due_at=at + timedelta(days=1),
                open_chat=lambda name: start_chat(server, name),
            )
            measurers = await _seed_measurers(engine, server)
            bot = BotProcess(
                STILLPOINT_RUN,
                bot_env(server, db, CALENDAR_ALLOW_INSECURE="true"),
                workdir,
                "bot",
            )
            polls = api_calls(server, "getUpdates")
            async with bot_processes([bot]):
                await wait_polling(server, [bot], before=polls)
                warm = [
                    _Wait(user, user_actions.send_text(server.state, user, command), "warm")
                    for user, command in measurers
                ]
                if not await _answered(server, warm, bot, "a first answer to everyone"):
                    raise RuntimeError("the bot did not answer everyone before the sync")
                await asyncio.sleep(SETTLE_S)
                await _server_reset(session, served)
                watch = _Watch()
                writing = asyncio.create_task(_write(server, measurers, watch))
                progress(f"calendar: {QUIET_S:g} s of replies before any calendar is due")
                await asyncio.sleep(QUIET_S)
                async with engine.begin() as connection:
                    await connection.execute(
                        update(CalendarSubscriptionRow).values(
                            next_poll_at=now() - timedelta(seconds=1)
                        )
                    )
                progress(
                    "calendar: every calendar due; replies timed until the bot has applied "
                    f"them all or {over_s:g} s have passed"
                )
                try:
                    await _watch(
                        session,
                        served,
                        bot,
                        watch,
                        calendars=practice.practitioners,
                        over_s=over_s,
                        start_within_s=DEADLINE_S,
                    )
                finally:
                    watch.phase = "done"
                    sent = await writing
                complete = await _answered(server, sent, bot, "the last replies")
                errors = dict(server.state.stats.errors_returned)
    return _reply_fields(sent, watch, practice, complete) | {
        "http_429": http_errors(server, 429),
        "http_errors": errors,
    }


def _reply_fields(
    sent: Sequence[_Wait], watch: _Watch, practice: Practice, complete: bool
) -> dict[str, Any]:
    quiet = [w for w in sent if w.phase == "quiet"]
    during = [w for w in sent if w.phase == "sync"]
    quiet_s = [s for w in quiet if (s := w.seconds()) is not None]
    during_s = [s for w in during if (s := w.seconds()) is not None]
    window = (
        None
        if watch.sync_began is None or watch.sync_ended is None
        else watch.sync_ended - watch.sync_began
    )
    cpu = (
        None
        if watch.cpu_began is None or watch.cpu_ended is None
        else watch.cpu_ended - watch.cpu_began
    )
    p99, quiet_p99 = _ms(during_s, 99), _ms(quiet_s, 99)
    progress(
        f"calendar: other replies p99 {p99} ms during the bot's sync ({watch.applied}/"
        f"{practice.practitioners} calendars applied in {window or 0:.0f} s), "
        f"{quiet_p99} ms before"
    )
    return {
        "reply_method": "end_to_end",
        "reply_other_users": MEASURERS * 2,
        "replies": f"{len(during_s)}/{len(during)}",
        "replies_all_answered": complete,
        "reply_p50_ms": _ms(during_s, 50),
        "reply_p99_ms": p99,
        "reply_max_ms": _ms(during_s, 100),
        "quiet_replies": f"{len(quiet_s)}/{len(quiet)}",
        "quiet_reply_p99_ms": quiet_p99,
        "reply_window_s": rounded(window, 1),
        "reply_sync_calendars": watch.applied,
        "reply_sync_finished": watch.applied >= practice.practitioners,
        "bot_cpu_during_sync_s": rounded(cpu, 1),
    }


# --- the run ---------------------------------------------------------------------------------


def _verdicts(result: dict[str, Any]) -> dict[str, bool]:
    def at_most(value: float | None, target: float) -> bool:
        return value is not None and value <= target

    practitioners = result["practitioners"]
    answered, written = result["replies"].split("/")
    return {
        "wall_s": at_most(result["wall_s"], TARGET_WALL_S)
        and result["calendars_read"] == practitioners,
        "cpu_s": at_most(result["cpu_s"], TARGET_CPU_S),
        "unchanged_requests": result["unchanged_requests"]
        == TARGET_UNCHANGED_REQUESTS_EACH * practitioners
        and result["unchanged_conditional"] == result["unchanged_requests"]
        and result["unchanged_not_modified"] == result["unchanged_requests"],
        "unchanged_parses": result["unchanged_parses"] == TARGET_UNCHANGED_PARSES,
        "reply_p99_ms": at_most(result["reply_p99_ms"], TARGET_REPLY_P99_MS)
        and answered == written
        and int(written) > 0
        and result["replies_all_answered"],
    }


async def run(
    *,
    practitioners: int = DEFAULT_PRACTITIONERS,
    events: int = DEFAULT_EVENTS,
    clients: int = DEFAULT_CLIENTS,
    named_every: int = DEFAULT_NAMED_EVERY,
    course_weeks: int | None = COURSE_WEEKS,
    over_s: float = DEFAULT_OVER_S,
    database: str | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Serve the calendars, run both measurements, and return their JSON fields."""
    weeks = 1 if course_weeks is None else course_weeks
    if min(practitioners, events, clients, weeks) < 1 or named_every < 0 or over_s <= 0:
        raise ValueError(
            "counts and --course-weeks must be at least 1, --named-every 0 or more, --over positive"
        )
    kind = database_kind(database)
    progress(f"calendar: on {kind}")
    started = time.monotonic()
    practice = Practice(now(), practitioners, events, clients, named_every, course_weeks)
    progress(f"calendar: serving {practitioners} calendars of {events} events")
    async with serve_calendars(practice) as served:
        result: dict[str, Any] = {
            "benchmark": "calendar",
            "database": kind,
            "practitioners": practitioners,
            "events": events,
            "clients_each": clients,
            "named_every": named_every,
            "course_weeks": course_weeks,
            "calendar_kb": rounded(sum(served.sizes) / len(served.sizes) / 1024, 1),
            "method": "sync in this process (poll_due), server in its own; replies end to end",
        }
        result |= await sync(database, practice, served, profile_path=profile)
        result |= await replies_during_sync(database, practice, served, over_s=over_s)
    met = _verdicts(result)
    for name, ok in met.items():
        progress(f"calendar: {name} = {json.dumps(result[name])}: {'met' if ok else 'MISSED'}")
    return result | {
        "targets": {
            "wall_s": TARGET_WALL_S,
            "cpu_s": TARGET_CPU_S,
            "unchanged_requests": TARGET_UNCHANGED_REQUESTS_EACH * practitioners,
            "unchanged_parses": TARGET_UNCHANGED_PARSES,
            "reply_p99_ms": TARGET_REPLY_P99_MS,
        },
        "met": met,
        "target_met": all(met.values()),
        "seconds": round(time.monotonic() - started),
    }
