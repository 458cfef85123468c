"""``triage-latency``: how fast a client's words of crisis are answered, and their
practitioner alerted, while the bot is busy with other chats.

A fresh database is seeded through the application's unit of work: practitioners and N
active clients, each with a completed session and a check-in whose question was sent
(so their words attach to it). M other chats each get a routine message (a reminder or
a check-in) due at once, which keeps the bot at Telegram's 30 messages a second (limits
on in the emulator). While that backlog drains, each client writes words of crisis
through the emulator, one every ``interval`` seconds, as a real user would.

Both latencies are read from the emulator's own message times (one clock, real time):
``client`` from the client's message to the first bot message in their chat after it,
``alert`` from the client's message to the first bot message in their practitioner's
chat that names them. Telegram allows one message a second into one chat, so alerts to
one practitioner cannot go faster than that; ``--practitioners`` spreads the clients.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    STILLPOINT_RUN,
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    delivered_count,
    emulator,
    engine_for,
    http_errors,
    now,
    outbox_row,
    percentile,
    progress,
    rounded,
    scratch_database,
    wait_polling,
    wait_until,
    workspace,
)
from bot.db.models import OutboxRow
from bot.db.uow import make_uow_factory
from bot.domain.models import (
    Appointment,
    AppointmentStatus,
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    ClientStatus,
    OutboxKind,
    Practitioner,
)
from bot.sandbox import user_actions
from bot.sandbox.models import StoredMessage
from bot.sandbox.server import SandboxServer

DEFAULT_MESSAGES = 40
DEFAULT_BACKGROUND = 600
DEFAULT_INTERVAL_S = 0.5
DEFAULT_PRACTITIONERS = 1
TIMEZONE = "Europe/Berlin"
PHRASES = (
    "I want to die",
    "i wanna end it all tonight",
    "I don't want to live anymore",
    "I keep thinking about killing myself",
    "want 2 end it, cant do this anymore",
    "honestly I'm thinking about suicide tonight",
)
BACKGROUND_KINDS = (OutboxKind.REMINDER, OutboxKind.CHECKIN)
LOADED = 30  # background messages delivered before the first client writes
CRISIS_MARK = "Thank you for telling me"  # the English crisis answer begins so
URGENT_MARK = "Urgent"  # the level shown in an urgent alert
POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class _Seeded:
    """One client as the emulator and the bot's database know them."""

    user_id: int  # the client's sandbox user (their private chat has the same id)
    practitioner_chat: int  # their practitioner's sandbox user
    name: str  # full_name in the database: what the alert names


@dataclass(slots=True)
class _Sent:
    """One client's words of crisis, and what came back."""

    seeded: _Seeded
    message: StoredMessage
    answer: StoredMessage | None = None
    alert: StoredMessage | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(rf"(?<![\w]){re.escape(self.seeded.name)}(?![\w])")


def _start_chat(server: SandboxServer, name: str) -> int:
    """A sandbox user whose chat accepts messages, as if they had sent /start."""
    user = server.state.create_user(name)
    server.state.chats[user.id].started = True
    return user.id


async def _seed(
    engine: AsyncEngine, server: SandboxServer, messages: int, practitioners: int
) -> list[_Seeded]:
    """Practitioners and their clients, each client with a completed session and a sent
    check-in, written through the application's unit of work."""
    at = now()
    practitioner_chats = [
        _start_chat(server, f"Practitioner {p + 1}") for p in range(practitioners)
    ]
    seeded: list[_Seeded] = []
    async with make_uow_factory(engine)() as uow:
        stored = [
            await uow.practitioners.add(
                Practitioner(
                    id=0,
                    telegram_user_id=chat,
                    display_name=f"Practitioner {p + 1}",
                    timezone=TIMEZONE,
                    locale="en",
                    created_at=at - timedelta(days=60),
                )
            )
            for p, chat in enumerate(practitioner_chats)
        ]
        for n in range(messages):
            practitioner = stored[n % practitioners]
            name = f"Client {n + 1}"
            user_id = _start_chat(server, name)
            client = await uow.clients.add(
                Client(
                    id=0,
                    practitioner_id=practitioner.id,
                    full_name=name,
                    status=ClientStatus.ACTIVE,
                    timezone=TIMEZONE,
                    locale="en",
                    telegram_user_id=user_id,
                    consented_at=at - timedelta(days=30),
                    created_at=at - timedelta(days=30),
                )
            )
            appointment = await uow.appointments.add(
                Appointment(
                    id=0,
                    practitioner_id=practitioner.id,
                    client_id=client.id,
                    starts_at=at - timedelta(days=1, hours=2),
                    duration_minutes=60,
                    status=AppointmentStatus.COMPLETED,
                    created_at=at - timedelta(days=8),
                )
            )
            await uow.checkins.add(
                CheckIn(
                    id=0,
                    client_id=client.id,
                    appointment_id=appointment.id,
                    day=1,
                    due_at=at - timedelta(hours=2),
                    state=CheckInState.SENT,
                    step=CheckInStep.SCORE,
                    created_at=at - timedelta(days=1),
                )
            )
            seeded.append(_Seeded(user_id, practitioner.telegram_user_id, name))
        await uow.commit()
    return seeded


async def _insert_background(engine: AsyncEngine, chats: Sequence[int]) -> None:
    """One routine message (a reminder or a check-in, by turns) due now in each chat."""
    at = now()
    rows = [
        outbox_row(chat, at, f"background:{n}", at) | {"kind": BACKGROUND_KINDS[n % 2]}
        for n, chat in enumerate(chats)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(OutboxRow), rows)


def _first_bot_message(
    server: SandboxServer, chat_id: int, after: StoredMessage, pattern: re.Pattern[str] | None
) -> StoredMessage | None:
    """The first bot message in ``chat_id`` at or after ``after``'s time (and, with
    ``pattern``, whose text matches it)."""
    for message in server.state.chats[chat_id].messages.values():  # in message-id order
        if not message.from_bot or message.date < after.date:
            continue
        if pattern is not None and (message.text is None or not pattern.search(message.text.text)):
            continue
        if chat_id == after.chat.id and message.message_id < after.message_id:
            continue
        return message
    return None


def _look(server: SandboxServer, sent: Sequence[_Sent]) -> bool:
    """Fill in answers and alerts that have arrived; whether every one has."""
    complete = True
    for item in sent:
        if item.answer is None:
            item.answer = _first_bot_message(server, item.seeded.user_id, item.message, None)
        if item.alert is None:
            item.alert = _first_bot_message(
                server, item.seeded.practitioner_chat, item.message, item.pattern
            )
        complete = complete and item.answer is not None and item.alert is not None
    return complete


def _seconds(later: StoredMessage | None, earlier: StoredMessage) -> float | None:
    return None if later is None else max(0.0, (later.date - earlier.date).total_seconds())


def _text(message: StoredMessage | None) -> str:
    return "" if message is None or message.text is None else message.text.text


async def run(
    messages: int = DEFAULT_MESSAGES,
    background: int = DEFAULT_BACKGROUND,
    *,
    database: str | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    practitioners: int = DEFAULT_PRACTITIONERS,
) -> dict[str, Any]:
    """Run the benchmark and return its JSON fields."""
    if messages < 1 or background < 0 or interval_s < 0:
        raise ValueError("--messages must be at least 1, --background and --interval not negative")
    if not 1 <= practitioners <= messages:
        raise ValueError("--practitioners must be between 1 and --messages")
    kind = database_kind(database)
    with workspace("triage") as workdir:
        async with (
            scratch_database(database, workdir, "triage") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            seeded = await _seed(engine, server, messages, practitioners)
            others = [_start_chat(server, f"Other {n + 1}") for n in range(background)]
            progress(
                f"triage-latency: {messages} clients of {practitioners} practitioner(s), "
                f"{background} other chats, on {kind}"
            )
            bot = BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot")
            polls = api_calls(server, "getUpdates")
            async with bot_processes([bot]):
                startup = await wait_polling(server, [bot], before=polls)
                progress(f"triage-latency: the bot polls after {startup:.2f} s")
                server.state.stats.errors_returned.clear()  # count from the load on
                await _insert_background(engine, others)
                if background:
                    await wait_until(
                        lambda: delivered_count(server, others) >= min(LOADED, background),
                        timeout=30,
                        what="the background load to start going out",
                        processes=[bot],
                    )
                progress(
                    f"triage-latency: {background} routine messages due; clients write "
                    f"one every {interval_s:g} s"
                )
                sent: list[_Sent] = []
                background_before = delivered_count(server, others)
                started = time.monotonic()
                for n, item in enumerate(seeded):
                    # Keep to the schedule even if a look at the state took a while.
                    delay = started + n * interval_s - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    text = PHRASES[n % len(PHRASES)]
                    message = user_actions.send_text(server.state, item.user_id, text)
                    sent.append(_Sent(item, message))
                    _look(server, sent)
                background_left = background - delivered_count(server, others)
                progress(
                    f"triage-latency: all {messages} sent; {background_left} routine "
                    "messages were still to go"
                )
                # One alert a second per practitioner's chat is Telegram's own limit.
                budget = 30.0 + messages / practitioners + background / TELEGRAM_MESSAGES_PER_S
                deadline = time.monotonic() + budget
                while not _look(server, sent) and time.monotonic() < deadline:
                    if (problem := bot.exited_early()) is not None:
                        raise RuntimeError(problem)
                    await asyncio.sleep(POLL_S)
                finished = _look(server, sent)
                if not finished:
                    progress(f"triage-latency: gave up waiting after {budget:.0f} s")
    return _fields(
        server,
        sent,
        kind=kind,
        background=background,
        background_during=background - background_left - background_before,
        background_left=background_left,
        practitioners=practitioners,
        interval_s=interval_s,
        finished=finished,
        background_delivered=delivered_count(server, others),
    )


def _fields(
    server: SandboxServer,
    sent: Sequence[_Sent],
    *,
    kind: str,
    background: int,
    background_during: int,
    background_left: int,
    practitioners: int,
    interval_s: float,
    finished: bool,
    background_delivered: int,
) -> dict[str, Any]:
    client = [s for item in sent if (s := _seconds(item.answer, item.message)) is not None]
    alert = [s for item in sent if (s := _seconds(item.alert, item.message)) is not None]
    first: datetime | None = sent[0].message.date if sent else None
    last: datetime | None = sent[-1].message.date if sent else None
    over_s = (last - first).total_seconds() if first and last else None
    return {
        "benchmark": "triage-latency",
        "database": kind,
        "messages": len(sent),
        "background": background,
        "practitioners": practitioners,
        "interval_s": interval_s,
        "sent_over_s": rounded(over_s),
        "answered": len(client),
        "crisis_answers": sum(1 for item in sent if CRISIS_MARK in _text(item.answer)),
        "alerted": len(alert),
        "urgent_alerts": sum(1 for item in sent if URGENT_MARK in _text(item.alert)),
        "client_p50_s": rounded(percentile(client, 50)),
        "client_p99_s": rounded(percentile(client, 99)),
        "client_max_s": rounded(max(client, default=0.0)) if client else None,
        "alert_p50_s": rounded(percentile(alert, 50)),
        "alert_p99_s": rounded(percentile(alert, 99)),
        "alert_max_s": rounded(max(alert, default=0.0)) if alert else None,
        "background_delivered": background_delivered,
        "background_left_at_last_send": background_left,
        # Routine messages delivered a second while the clients wrote: the bot was busy.
        "background_per_s": rounded(background_during / over_s, 1) if over_s else None,
        "http_429": http_errors(server, 429),
        "http_errors": dict(server.state.stats.errors_returned),
        "finished": finished,
    }
