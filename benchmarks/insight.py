"""``insight``: what the client card's chart and the morning digest cost.

Four measurements, each against its target:

1. **Drawing** (``chart_p99_ms``): the chart of a client with ``--checkins`` answered
   check-ins (the operator's default days 1, 3 and 7 after sessions ten days apart; a
   score, a comparison and mostly some words each, a few passed on as concerns) is drawn
   by ``render_trend`` ``--renders`` times after one warm-up, in this process.
2. **Charts beside other replies** (``reply_delay_p99_ms``), end to end: the real bot
   (``stillpoint run``) against the emulator with Telegram's limits, on a database seeded
   through the units of work with ``--practitioners`` practitioners, each with a client
   with ``--checkins`` answered check-ins. Each practitioner opens the card
   (``/client <name>``); then, for ``--over`` seconds, all of them press its Chart button
   at once, again as soon as every chart has arrived (at most once every
   ``ROUND_S``), while other practitioners send ``/today`` and clients ``/next``, each
   waiting for their reply. ``reply_delay_p99_ms`` is the p99 of those replies (from the
   message to the answer, by the emulator's clock) while charts are drawn;
   ``quiet_reply_p99_ms`` the same before any chart is asked for (for ``QUIET_S``, or a
   quarter of ``--over`` if shorter), and ``reply_added_p99_ms`` the difference.
3. **Morning lists** (``morning_build_s``): ``--morning-practitioners`` practitioners in
   time zones where it is between 08:00 and 11:00 now, each with ``--morning-clients``
   clients who had a session four days ago, answered a check-in three days ago and
   answered yesterday's (score, comparison, words), one in five leaving yesterday's
   unanswered. One ``morning_lists`` call schedules every list; the outbox is then
   checked for the digest's pages and one line per client.
4. **Start-up** (``matplotlib_loaded_at_start``): a fresh process starts the emulator and
   the bot polling it (``stillpoint sandbox``'s way) and says whether matplotlib is
   loaded; then draws one chart (in the drawing process) and says it again
   (``python -m benchmarks.insight``).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    REPO_ROOT,
    STILLPOINT_RUN,
    BotProcess,
    analyze,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    emulator,
    engine_for,
    http_errors,
    percentile,
    progress,
    rounded,
    scratch_database,
    wait_polling,
    wait_until,
    without_bot_settings,
    workspace,
)
from benchmarks.practice_seed import first_bot_message, start_chat
from bot.clock import SystemClock
from bot.db.tables import OutboxRow
from bot.db.uow import make_uow_factory
from bot.domain import callbacks
from bot.domain.callbacks import CardAction
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    ClientStatus,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.timing import QuietHours
from bot.domain.trend import Trend, trend
from bot.ports import UnitOfWork
from bot.sandbox import user_actions
from bot.sandbox.records import StoredMessage
from bot.sandbox.server import SandboxServer
from bot.services.context import UseCaseContext
from bot.services.policy import Policy
from bot.services.practice.digest import LINES_PER_MESSAGE
from bot.services.practice.morning_list import morning_lists
from bot.telegram.charts import chart_words, draw, render_trend
from bot.triage_data import LoadedTriage

DEFAULT_CHECKINS = 60
DEFAULT_RENDERS = 50
DEFAULT_PRACTITIONERS = 20
DEFAULT_OVER_S = 20.0
DEFAULT_MORNING_PRACTITIONERS = 200
DEFAULT_MORNING_CLIENTS = 50
TARGET_CHART_P99_MS = 300.0
TARGET_REPLY_DELAY_P99_MS = 200.0
TARGET_MORNING_BUILD_S = 10.0

LOCALE = "en"
CHECKIN_DAYS = (1, 3, 7)
"""The operator's default check-in days after a session."""
SESSIONS_APART = timedelta(days=10)
COMPARISONS = ("worse", "same", "better", "better", "much_better")
WORDS = (
    "Slept well, the shoulders feel looser.",
    "A bit stiff in the morning, fine after a walk.",
    "Headache in the afternoon, better by the evening.",
    "Sore where you worked on the hip, as you said it might be.",
)
CONCERN_EVERY = 12
"""One check-in in this many was passed on as a concern (a ring on the chart)."""
MORNING_HOURS = range(8, 11)
"""Local hours of the morning practitioners now: inside the 08:00-12:00 window, with at
least an hour to spare for seeding and the call."""
MORNING_ZONES = 8
AFTERNOON_HOURS = range(13, 18)
"""Local hours of the chart run's practitioners: no morning list, no quiet hours."""
UNANSWERED_EVERY = 5
TELEGRAM_ID_BASE = 9_300_000_000
MEASURERS = 10
"""Other practitioners sending /today, and as many clients sending /next."""
MEASURE_EVERY_S = 2.0
"""How often each of them writes: together ten messages a second, within Telegram's 30
beside the charts."""
QUIET_S = 5.0
"""How long replies are measured before any chart is asked for (at most; a quarter of the
chart run when that is shorter)."""
ROUND_S = 2.0
"""The shortest time between two presses of one practitioner (Telegram's one message a
second to a chat, and the bot's flood budget)."""
DEADLINE_S = 60.0
POLL_S = 0.02


# --- a client's history --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """A client's sessions, check-ins (with the index of their session) and replies (with
    the index of their check-in), all with id 0 and no links yet."""

    sessions: list[Appointment]
    checkins: list[tuple[int, CheckIn]]
    replies: list[tuple[int, Reply]]


def history(practitioner_id: int, client_id: int, checkins: int, last_due: datetime) -> History:
    """``checkins`` answered check-ins, the last one due at ``last_due``: a session every
    ``SESSIONS_APART`` with check-ins on ``CHECKIN_DAYS`` after it, discomfort easing."""
    count = math.ceil(checkins / len(CHECKIN_DAYS))
    planned = [(s, d) for s in range(count) for d in CHECKIN_DAYS][:checkins]
    last_session, last_day = planned[-1]
    first = last_due - last_session * SESSIONS_APART - timedelta(days=last_day, hours=-5)
    sessions = [
        Appointment(
            id=0,
            practitioner_id=practitioner_id,
            client_id=client_id,
            starts_at=first + s * SESSIONS_APART,
            duration_minutes=60,
            status=AppointmentStatus.COMPLETED,
            created_at=first + s * SESSIONS_APART - timedelta(days=7),
        )
        for s in range(last_session + 1)
    ]
    asked: list[tuple[int, CheckIn]] = []
    replies: list[tuple[int, Reply]] = []
    for n, (s, day) in enumerate(planned):
        due = sessions[s].starts_at + timedelta(days=day, hours=-5)
        asked.append(
            (
                s,
                CheckIn(
                    id=0,
                    client_id=client_id,
                    appointment_id=0,
                    day=day,
                    due_at=due,
                    state=CheckInState.ANSWERED,
                    step=CheckInStep.DONE,
                    answered_at=due + timedelta(minutes=25),
                    created_at=sessions[s].starts_at + timedelta(hours=1),
                ),
            )
        )
        replies += [(n, reply) for reply in _answers(client_id, n, s, day, due)]
    return History(sessions, asked, replies)


def _answers(client_id: int, n: int, session: int, day: int, due: datetime) -> list[Reply]:
    """One check-in's replies, one per step: a score, a comparison, and mostly words."""
    score = max(0, min(10, 7 - session // 4 - CHECKIN_DAYS.index(day) * 2 + session % 3))
    concern = n % CONCERN_EVERY == CONCERN_EVERY - 1
    at = due + timedelta(minutes=20)
    found = [
        Reply(id=0, client_id=client_id, received_at=at, score=score),
        Reply(
            id=0,
            client_id=client_id,
            received_at=at + timedelta(minutes=1),
            comparison="much_worse" if concern else COMPARISONS[n % len(COMPARISONS)],
        ),
    ]
    if n % 3 != 2 or concern:
        found.append(
            Reply(
                id=0,
                client_id=client_id,
                received_at=at + timedelta(minutes=4),
                text=WORDS[n % len(WORDS)],
                triage_level=TriageLevel.CONCERN if concern else TriageLevel.NONE,
                triage_reasons=("worse",) if concern else (),
            )
        )
    return found


def trend_of(record: History) -> Trend:
    """The client's trend from the history, with ids given in order (no database)."""
    sessions = [replace(a, id=n + 1) for n, a in enumerate(record.sessions)]
    checkins = [
        replace(c, id=n + 1, appointment_id=s + 1) for n, (s, c) in enumerate(record.checkins)
    ]
    replies = [replace(r, id=n + 1, checkin_id=c + 1) for n, (c, r) in enumerate(record.replies)]
    return trend(checkins, replies, sessions)


async def store(uow: UnitOfWork, record: History) -> None:
    """Add the history through the unit of work (not committed)."""
    sessions = [await uow.appointments.add(a) for a in record.sessions]
    checkins = [
        await uow.checkins.add(replace(c, appointment_id=sessions[s].id))
        for s, c in record.checkins
    ]
    for c, reply in record.replies:
        await uow.replies.add(replace(reply, checkin_id=checkins[c].id))


def zones_at(now: datetime, hours: range, limit: int) -> list[str]:
    """Up to ``limit`` time zones with different UTC offsets whose local hour at ``now`` is
    in ``hours``, west to east."""
    by_offset: dict[timedelta, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        offset = local.utcoffset()
        if local.hour in hours and offset is not None:
            by_offset.setdefault(offset, name)
    if not by_offset:
        raise RuntimeError(f"no time zone has a local hour in {hours} now")
    return [by_offset[offset] for offset in sorted(by_offset)][:limit]


# --- 1. drawing ----------------------------------------------------------------------------


def chart_timings(checkins: int, renders: int) -> dict[str, Any]:
    """Draw one client's chart once to warm up, then ``renders`` times, each timed."""
    chart = trend_of(history(1, 1, checkins, datetime.now(UTC) - timedelta(days=1)))
    words = chart_words("Sam Lindqvist", LOCALE)

    def render() -> float:
        began = time.perf_counter()
        render_trend(chart, timezone="Europe/Berlin", locale=LOCALE, words=words)
        return (time.perf_counter() - began) * 1000

    first = render()
    timings = [render() for _ in range(renders)]
    p99 = percentile(timings, 99)
    progress(f"insight: {renders} charts of {checkins} check-ins drawn, p99 {p99:.0f} ms")
    return {
        "chart_checkins": checkins,
        "chart_points": len(chart.points),
        "chart_sessions": len(chart.sessions),
        "chart_renders": renders,
        "first_chart_ms": rounded(first, 1),
        "chart_p50_ms": rounded(percentile(timings, 50), 1),
        "chart_p99_ms": rounded(p99, 1),
        "chart_max_ms": rounded(max(timings, default=0.0), 1),
    }


# --- 2. charts beside other replies --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Charting:
    """A practitioner who asks for charts, and their client."""

    chat_id: int
    client_id: int
    client_name: str


@dataclass(slots=True)
class _Wait:
    """A message to the bot and the bot's answer in the same chat."""

    chat_id: int
    message: StoredMessage
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
class _Press:
    """A press on a card's Chart button, and the photo it brings."""

    chat_id: int
    after_id: int
    at: datetime
    photo: StoredMessage | None = None

    def look(self, server: SandboxServer) -> bool:
        """Fill in the photo if it has come; whether it has. Anything else is an error."""
        if self.photo is not None:
            return True
        chat = server.state.chats[self.chat_id]
        for message_id in range(self.after_id + 1, chat.last_message_id + 1):
            message = chat.messages.get(message_id)
            if message is None or not message.from_bot:
                continue
            if message.media_kind != "photo":
                shown = message.text.text if message.text is not None else message.media_kind
                raise RuntimeError(f"a Chart press was answered with {shown!r}, not a photo")
            self.photo = message
            return True
        return False

    def seconds(self) -> float | None:
        """From the press to the photo, by the emulator's clock."""
        return None if self.photo is None else (self.photo.date - self.at).total_seconds()


@dataclass(slots=True)
class _Load:
    """What one phase measured."""

    replies: list[_Wait] = field(default_factory=list)
    presses: list[_Press] = field(default_factory=list)
    rounds: int = 0
    skipped: int = 0  # a turn passed over: the writer's last reply had not come yet


async def _seed_chart_practice(
    engine: AsyncEngine, server: SandboxServer, *, practitioners: int, checkins: int
) -> tuple[list[_Charting], list[tuple[int, str]]]:
    """The practitioners who ask for charts, each with a client with ``checkins`` answered
    check-ins; and ``MEASURERS`` other practitioners (``/today``) with a client each
    (``/next``), a session later today between them."""
    now = datetime.now(UTC)
    [zone] = zones_at(now, AFTERNOON_HOURS, 1)
    charting: list[_Charting] = []
    measurers: list[tuple[int, str]] = []
    async with make_uow_factory(engine)() as uow:
        for n in range(practitioners):
            practitioner = await uow.practitioners.add(
                _practitioner(start_chat(server, f"Charting {n + 1}"), f"Charting {n + 1}", zone)
            )
            name = f"Chart Client {n + 1}"
            client = await uow.clients.add(
                _client(practitioner, name, start_chat(server, name), now)
            )
            await store(uow, history(practitioner.id, client.id, checkins, now - timedelta(days=1)))
            charting.append(_Charting(practitioner.telegram_user_id, client.id, name))
        for n in range(MEASURERS):
            practitioner = await uow.practitioners.add(
                _practitioner(start_chat(server, f"Busy {n + 1}"), f"Busy {n + 1}", zone)
            )
            name = f"Next Client {n + 1}"
            client_chat = start_chat(server, name)
            client = await uow.clients.add(_client(practitioner, name, client_chat, now))
            await uow.appointments.add(
                Appointment(
                    id=0,
                    practitioner_id=practitioner.id,
                    client_id=client.id,
                    starts_at=now + timedelta(hours=2),
                    duration_minutes=60,
                    status=AppointmentStatus.BOOKED,
                    created_at=now - timedelta(days=3),
                )
            )
            measurers += [(practitioner.telegram_user_id, "/today")]
            measurers += [(client_chat, "/next")]
        await uow.commit()
    return charting, measurers


def _practitioner(telegram_user_id: int, name: str, zone: str) -> Practitioner:
    return Practitioner(
        id=0,
        telegram_user_id=telegram_user_id,
        display_name=name,
        timezone=zone,
        locale=LOCALE,
        created_at=datetime.now(UTC) - timedelta(days=400),
    )


def _client(practitioner: Practitioner, name: str, telegram_user_id: int, now: datetime) -> Client:
    return Client(
        id=0,
        practitioner_id=practitioner.id,
        full_name=name,
        status=ClientStatus.ACTIVE,
        timezone=practitioner.timezone,
        locale=LOCALE,
        telegram_user_id=telegram_user_id,
        consented_at=now - timedelta(days=300),
        created_at=now - timedelta(days=300),
    )


async def _answered(
    server: SandboxServer, waits: Sequence[_Wait | _Press], bot: BotProcess, what: str
) -> None:
    def arrived() -> bool:
        looked = [w.look(server) for w in waits]  # every one, not only up to the first gap
        return all(looked)

    await wait_until(
        arrived,
        timeout=DEADLINE_S,
        what=what,
        interval=POLL_S,
        processes=[bot],
    )


async def _chart_buttons(
    server: SandboxServer, charting: Sequence[_Charting], bot: BotProcess
) -> list[int]:
    """Each practitioner opens their client's card; the card's message ids."""
    waits = [
        _Wait(
            c.chat_id, user_actions.send_text(server.state, c.chat_id, f"/client {c.client_name}")
        )
        for c in charting
    ]
    await _answered(server, waits, bot, "the client cards")
    cards = []
    for wait, practitioner in zip(waits, charting, strict=True):
        card = wait.answer
        assert card is not None
        labels = {
            b["text"]: b.get("callback_data") for row in card.inline_keyboard or [] for b in row
        }
        for word in ("Chart", "History", "Export", "Book"):
            if not any(word in label for label in labels):
                raise RuntimeError(f"the card has no {word} button: {sorted(labels)}")
        [data] = [data for label, data in labels.items() if "Chart" in label]
        if data != callbacks.card(practitioner.client_id, CardAction.CHART):
            raise RuntimeError(f"the Chart button carries {data!r}")
        cards.append(card.message_id)
    return cards


def _press_all(
    server: SandboxServer, charting: Sequence[_Charting], cards: Sequence[int]
) -> list[_Press]:
    presses = []
    for practitioner, card in zip(charting, cards, strict=True):
        chat = server.state.chats[practitioner.chat_id]
        press = _Press(chat.id, chat.last_message_id, server.state.now())
        data = callbacks.card(practitioner.client_id, CardAction.CHART)
        user_actions.press(server.state, chat.id, card, data)
        presses.append(press)
    return presses


async def _chart_rounds(
    server: SandboxServer,
    charting: Sequence[_Charting],
    cards: Sequence[int],
    *,
    until: float,
    load: _Load,
    bot: BotProcess,
) -> None:
    """Every practitioner presses Chart at once, again once all the charts have come."""
    while time.monotonic() < until:
        began = time.monotonic()
        presses = _press_all(server, charting, cards)
        load.presses += presses
        load.rounds += 1
        await _answered(server, presses, bot, f"chart round {load.rounds}")
        await asyncio.sleep(max(0.0, began + ROUND_S - time.monotonic()))


async def _write(
    server: SandboxServer, measurers: Sequence[tuple[int, str]], until: float, load: _Load
) -> None:
    """The other users take turns writing their command, ``MEASURE_EVERY_S`` apart each."""
    step = MEASURE_EVERY_S / len(measurers)
    latest: dict[int, _Wait] = {}
    started = time.monotonic()
    turn = 0
    while (at := started + turn * step) < until:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        user, command = measurers[turn % len(measurers)]
        turn += 1
        earlier = latest.get(user)
        if earlier is not None and not earlier.look(server):
            load.skipped += 1
            continue
        latest[user] = _Wait(user, user_actions.send_text(server.state, user, command))
        load.replies.append(latest[user])


async def chart_load(
    database: str | None, *, practitioners: int, checkins: int, over_s: float
) -> dict[str, Any]:
    """Charts asked for by ``practitioners`` at once, repeatedly, while others are
    answered, through the real bot; the figures."""
    with workspace("insight") as workdir:
        async with (
            scratch_database(database, workdir, "insight-charts") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            charting, measurers = await _seed_chart_practice(
                engine, server, practitioners=practitioners, checkins=checkins
            )
            bot = BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot")
            polls = api_calls(server, "getUpdates")
            async with bot_processes([bot]):
                await wait_polling(server, [bot], before=polls)
                warm = [
                    _Wait(user, user_actions.send_text(server.state, user, command))
                    for user, command in measurers
                ]
                await _answered(server, warm, bot, "a first answer to everyone")
                cards = await _chart_buttons(server, charting, bot)
                await _answered(server, _press_all(server, charting, cards), bot, "first charts")
                await asyncio.sleep(ROUND_S)
                server.state.stats.errors_returned.clear()
                quiet_s = min(QUIET_S, over_s / 4)
                progress(f"insight: {quiet_s:g} s of replies without charts")
                quiet = _Load()
                await _write(server, measurers, time.monotonic() + quiet_s, quiet)
                progress(f"insight: {practitioners} practitioners ask for charts for {over_s:g} s")
                loaded = _Load()
                until = time.monotonic() + over_s
                await asyncio.gather(
                    _chart_rounds(server, charting, cards, until=until, load=loaded, bot=bot),
                    _write(server, measurers, until, loaded),
                )
                await _answered(server, [*quiet.replies, *loaded.replies], bot, "the last replies")
    return _load_fields(quiet, loaded, practitioners, len(measurers)) | {
        "http_429": http_errors(server, 429),
        "http_errors": dict(server.state.stats.errors_returned),
    }


def _ms(values: Sequence[float], q: float) -> float | None:
    found = percentile(values, q)
    return None if found is None else round(found * 1000, 1)


def _load_fields(quiet: _Load, loaded: _Load, practitioners: int, others: int) -> dict[str, Any]:
    before = [s for w in quiet.replies if (s := w.seconds()) is not None]
    during = [s for w in loaded.replies if (s := w.seconds()) is not None]
    charts = [s for p in loaded.presses if (s := p.seconds()) is not None]
    p99, quiet_p99 = _ms(during, 99), _ms(before, 99)
    progress(f"insight: other replies p99 {p99} ms with charts, {quiet_p99} ms without")
    return {
        "method": "end_to_end",
        "charting_practitioners": practitioners,
        "chart_rounds": loaded.rounds,
        "charts_sent": f"{len(charts)}/{len(loaded.presses)}",
        "chart_reply_p50_ms": _ms(charts, 50),
        "chart_reply_p99_ms": _ms(charts, 99),
        "other_users": others,
        "replies": f"{len(during)}/{len(loaded.replies)}",
        "replies_skipped": loaded.skipped,
        "reply_delay_p50_ms": _ms(during, 50),
        "reply_delay_p99_ms": p99,
        "reply_delay_max_ms": _ms(during, 100),
        "quiet_replies": f"{len(before)}/{len(quiet.replies)}",
        "quiet_reply_p99_ms": quiet_p99,
        "reply_added_p99_ms": None
        if p99 is None or quiet_p99 is None
        else round(p99 - quiet_p99, 1),
    }


# --- 3. morning lists ----------------------------------------------------------------------


async def _seed_morning(
    engine: AsyncEngine, now: datetime, practitioners: int, clients: int
) -> list[str]:
    """The morning practice, one unit of work per practitioner; the zones used."""
    zones = zones_at(now, MORNING_HOURS, MORNING_ZONES)
    factory = make_uow_factory(engine)
    for p in range(practitioners):
        zone = zones[p % len(zones)]
        telegram_id = TELEGRAM_ID_BASE + p * 1000
        async with factory() as uow:
            practitioner = await uow.practitioners.add(
                _practitioner(telegram_id, f"Morning Practitioner {p + 1}", zone)
            )
            for c in range(clients):
                name = f"Client {p + 1:03d}-{c + 1:02d}"
                client = await uow.clients.add(
                    _client(practitioner, name, telegram_id + c + 1, now)
                )
                await _seed_days(uow, practitioner, client, now, answered=c % UNANSWERED_EVERY != 0)
            await uow.commit()
    return zones


async def _seed_days(
    uow: UnitOfWork, practitioner: Practitioner, client: Client, now: datetime, *, answered: bool
) -> None:
    """A session four days ago, day 1's check-in answered with a score, and day 3's
    (yesterday) answered in full, or left unanswered."""
    zone = zoneinfo.ZoneInfo(practitioner.timezone)
    today = now.astimezone(zone).date()

    def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), clock_time(hour, minute), zone)

    session = await uow.appointments.add(
        Appointment(
            id=0,
            practitioner_id=practitioner.id,
            client_id=client.id,
            starts_at=local(4, 15),
            duration_minutes=60,
            status=AppointmentStatus.COMPLETED,
            created_at=local(11, 12),
        )
    )
    for day, days_ago in ((1, 3), (3, 1)):
        done = day == 1 or answered
        checkin = await uow.checkins.add(
            CheckIn(
                id=0,
                client_id=client.id,
                appointment_id=session.id,
                day=day,
                due_at=local(days_ago, 10),
                state=CheckInState.ANSWERED if done else CheckInState.SENT,
                step=CheckInStep.DONE if done else CheckInStep.SCORE,
                answered_at=local(days_ago, 10, 25) if done else None,
                created_at=local(4, 16),
            )
        )
        if not done:
            continue
        replies = _answers(client.id, client.id, 0, day, local(days_ago, 10))
        for reply in replies if day == 3 else replies[:1]:
            await uow.replies.add(replace(reply, checkin_id=checkin.id))


async def _digest_rows(engine: AsyncEngine) -> tuple[int, int]:
    """The morning rows in the outbox and the digest lines they carry."""
    statement = select(OutboxRow.payload).where(OutboxRow.dedup_key.like("morning:%"))
    async with engine.connect() as connection:
        payloads = list((await connection.scalars(statement)).all())
    return len(payloads), sum(len(p["params"].get("lines", ())) for p in payloads)


async def morning(database: str | None, *, practitioners: int, clients: int) -> dict[str, Any]:
    """Seed the morning practice, then time one ``morning_lists`` call; the figures."""
    clock = SystemClock()
    policy = Policy(
        quiet=QuietHours(clock_time(21, 0), clock_time(8, 0)),
        reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
        invite_ttl=timedelta(days=7),
        default_timezone="UTC",
        triage=LoadedTriage(),
    )
    with workspace("insight-morning") as workdir:
        async with (
            scratch_database(database, workdir, "insight-morning") as db,
            engine_for(db) as engine,
        ):
            progress(f"insight: seeding {practitioners} practitioners x {clients} clients")
            began = time.monotonic()
            zones = await _seed_morning(engine, clock.now(), practitioners, clients)
            await analyze(engine)
            seeded_s = time.monotonic() - began
            ctx = UseCaseContext(make_uow_factory(engine), clock, policy)
            began = time.monotonic()
            lists = await morning_lists(ctx)
            build_s = time.monotonic() - began
            rows, lines = await _digest_rows(engine)
    pages = practitioners * math.ceil(clients / LINES_PER_MESSAGE)
    complete = lists == practitioners and rows == pages and lines == practitioners * clients
    progress(f"insight: {lists} morning lists in {build_s:.2f} s ({rows} rows, {lines} lines)")
    return {
        "morning_practitioners": practitioners,
        "morning_clients_each": clients,
        "morning_zones": zones,
        "morning_seed_s": rounded(seeded_s, 1),
        "morning_lists": lists,
        "morning_rows": f"{rows}/{pages}",
        "digest_lines": f"{lines}/{practitioners * clients}",
        "morning_complete": complete,
        "morning_build_s": rounded(build_s, 3),
    }


# --- 4. start-up ---------------------------------------------------------------------------


async def _startup_probe() -> dict[str, bool]:
    """Start the emulator and the bot polling it, as ``stillpoint sandbox`` does, in this
    process; whether matplotlib was loaded then, and after one chart."""
    from bot.launch import running_sandbox  # noqa: PLC0415 -- the probe's own process
    from bot.settings import Settings  # noqa: PLC0415

    async with running_sandbox(Settings()):  # run where no .env is, without bot settings
        at_start = "matplotlib" in sys.modules
        chart = trend_of(history(1, 1, 6, datetime.now(UTC)))
        picture = await draw(chart, client_name="Sam", timezone="UTC", locale=LOCALE)
        return {
            "matplotlib_loaded_at_start": at_start,
            # drawn in a drawing process: the bot's own process never loads it
            "matplotlib_loaded_after_chart": "matplotlib" in sys.modules,
            "chart_drawn": picture.startswith(b"\x89PNG"),
        }


async def startup() -> dict[str, Any]:
    """Run the start-up probe in a fresh process; its answers."""
    with workspace("insight-startup") as folder:
        env = without_bot_settings(os.environ) | {
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            )
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "benchmarks.insight"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"the start-up probe exited with {done.returncode}: {done.stderr[-500:]}"
        )
    lines = done.stdout.splitlines()
    if not lines:
        raise RuntimeError(f"the start-up probe printed nothing: {done.stderr[-500:]}")
    found: dict[str, Any] = json.loads(lines[-1])
    progress(f"insight: matplotlib loaded at start: {found['matplotlib_loaded_at_start']}")
    return found


# --- the run -------------------------------------------------------------------------------


def _verdicts(result: dict[str, Any]) -> dict[str, bool]:
    def at_most(value: float | None, target: float) -> bool:
        return value is not None and value <= target

    replies_done = result["replies"].split("/")
    charts_done = result["charts_sent"].split("/")
    return {
        "chart_p99_ms": at_most(result["chart_p99_ms"], TARGET_CHART_P99_MS),
        "reply_delay_p99_ms": at_most(result["reply_delay_p99_ms"], TARGET_REPLY_DELAY_P99_MS)
        and replies_done[0] == replies_done[1]
        and charts_done[0] == charts_done[1],
        "morning_build_s": at_most(result["morning_build_s"], TARGET_MORNING_BUILD_S)
        and result["morning_complete"],
        "matplotlib_loaded_at_start": not result["matplotlib_loaded_at_start"]
        and result["chart_drawn"],
    }


async def run(
    *,
    checkins: int = DEFAULT_CHECKINS,
    renders: int = DEFAULT_RENDERS,
    practitioners: int = DEFAULT_PRACTITIONERS,
    over_s: float = DEFAULT_OVER_S,
    morning_practitioners: int = DEFAULT_MORNING_PRACTITIONERS,
    morning_clients: int = DEFAULT_MORNING_CLIENTS,
    database: str | None = None,
) -> dict[str, Any]:
    """Run the four measurements and return their JSON fields."""
    if min(checkins, renders, practitioners, morning_practitioners, morning_clients) < 1:
        raise ValueError("every count must be at least 1")
    if checkins < 2 or over_s <= 0:
        raise ValueError("--checkins at least 2 (a chart needs two scores), --over positive")
    kind = database_kind(database)
    progress(f"insight: on {kind}")
    started = time.monotonic()
    result: dict[str, Any] = {"benchmark": "insight", "database": kind}
    result |= await startup()
    result |= chart_timings(checkins, renders)
    result |= await chart_load(
        database, practitioners=practitioners, checkins=checkins, over_s=over_s
    )
    result |= await morning(database, practitioners=morning_practitioners, clients=morning_clients)
    met = _verdicts(result)
    for name, ok in met.items():
        progress(f"insight: {name} = {json.dumps(result[name])}: {'met' if ok else 'MISSED'}")
    return result | {
        "targets": {
            "chart_p99_ms": TARGET_CHART_P99_MS,
            "reply_delay_p99_ms": TARGET_REPLY_DELAY_P99_MS,
            "morning_build_s": TARGET_MORNING_BUILD_S,
            "matplotlib_loaded_at_start": False,
        },
        "met": met,
        "target_met": all(met.values()),
        "seconds": round(time.monotonic() - started),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_startup_probe())), flush=True)
