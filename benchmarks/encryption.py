"""``encryption``: what encrypting names, words and payloads costs the two paths it touches.

Both paths run in this process through the application's own use cases on a real database
(SQLite file, or PostgreSQL with ``--database``), timed one operation at a time:

- **triage to alert**: a client writes words of crisis (``incoming.receive_words``:
  the reply stored, triaged, a flag and its alert written), then the dispatcher claims and
  renders everything that became due (the alert and the client's crisis answer) for a
  notifier that renders and records instead of calling Telegram;
- **booking**: ``/book <name> <day> <time>`` (``booking.book_by_name``: the practitioner's
  clients matched by name in the application, the session and its reminders written).

Each runs ``--rounds`` times with the real data keys and with a cipher that leaves values
as they are, taking turns so that drift in the machine falls on both; each mode has its
own practice of ``--clients`` clients, so no value is read in the other mode. The figures
are medians and 90th percentiles of each mode's timings, and ``*_slowdown_pct`` compares
the medians (target: at most 10%).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time as clock_time
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

import messages
from benchmarks.common import (
    database_kind,
    engine_for,
    percentile,
    progress,
    rounded,
    scratch_database,
    workspace,
)
from benchmarks.practice_seed import seed_clients
from bot.clock import SystemClock
from bot.db.encrypted import ValueCipher, use_data_keys
from bot.db.uow import make_uow_factory
from bot.domain.booking_input import BookingRequest
from bot.domain.outgoing import OutgoingMessage, SentMessage
from bot.domain.timing import QuietHours
from bot.encryption import KeyRing, new_key
from bot.ports import Clock, UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.incoming import Words, receive_words
from bot.services.policy import Policy
from bot.services.sessions import booking
from bot.triage_data import LoadedTriage
from bot.triage_rules import load_lexicon

TARGET_SLOWDOWN_PCT = 10.0
CRISIS_WORDS = "my neck is much worse and I want to kill myself tonight"
TIMEZONE = "Europe/Berlin"
TELEGRAM_ID_BASE = 9_100_000_000


class PlainValues:
    """A cipher that stores values as they are: the cost of everything but encryption."""

    def key_ids(self) -> tuple[str, ...]:
        """No keys."""
        return ()

    def encrypt(self, plain: str, purpose: str) -> str:
        """``plain`` itself."""
        return plain

    def decrypt(self, value: str, purpose: str) -> str:
        """``value`` itself."""
        return value


class RenderingNotifier:
    """Renders each message as Telegram's would be, and sends nothing."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        """Render ``message`` and count it."""
        messages.render(message.text.key, locale, **message.text.params)
        self.sent += 1
        return SentMessage(chat_id, self.sent)


@dataclass(frozen=True, slots=True)
class Practice:
    """One mode's practice: its practitioner's Telegram id and their clients' ids."""

    practitioner_telegram_id: int
    client_telegram_ids: list[int]


async def _seed(engine: AsyncEngine, mode: int, clients: int) -> Practice:
    """A practitioner with ``clients`` clients, each with a sent check-in to answer."""
    telegram_ids = itertools.count(TELEGRAM_ID_BASE + mode * 100_000)
    seeded = await seed_clients(
        engine,
        lambda _name: next(telegram_ids),
        clients,
        1,
        name_of=lambda n: f"Client{mode} Surname{n:04d}",
    )
    return Practice(seeded[0].practitioner_chat, [client.user_id for client in seeded])


async def _triage_to_alert(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    policy: Policy,
    dispatcher: Dispatcher,
    *,
    client: int,
    n: int,
) -> None:
    await receive_words(
        UseCaseContext(uow_factory, clock, policy),
        sender=client,
        named_practitioners=(),
        words=Words(10_000 + n, CRISIS_WORDS),
    )
    while await dispatcher.dispatch_due():
        pass


async def _book(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    policy: Policy,
    practitioner: int,
    request: BookingRequest,
) -> None:
    answer = await booking.book_by_name(
        UseCaseContext(uow_factory, clock, policy), actor=practitioner, request=request
    )
    if answer.text.key != "booking.booked":  # a pick list or a refusal is another path
        raise RuntimeError(f"/book {request.client_query} answered {answer.text.key}")


async def _timed(operation: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await operation()
    return (time.perf_counter() - started) * 1000


async def run(
    rounds: int = 200, clients: int = 100, *, database: str | None = None
) -> dict[str, Any]:
    """Run the benchmark and return its JSON fields."""
    if rounds < 1 or clients < 1:
        raise ValueError("--rounds and --clients must be at least 1")
    kind = database_kind(database)
    clock = SystemClock()
    quiet = QuietHours(clock_time(0, 0), clock_time(0, 0))  # never quiet: alerts go at once
    policy = Policy(
        quiet=quiet,
        reminder_offsets=(timedelta(hours=24), timedelta(hours=2)),
        invite_ttl=timedelta(days=7),
        default_timezone=TIMEZONE,
        triage=LoadedTriage(),
    )
    ciphers: dict[str, ValueCipher] = {
        "encrypted": KeyRing.parse(new_key(clock.now())),
        "plain": PlainValues(),
    }
    load_lexicon("en")  # loaded once at start-up in the bot too
    with workspace("encryption") as workdir:
        async with (
            scratch_database(database, workdir, "encryption") as db,
            engine_for(db) as engine,
        ):
            uow_factory = make_uow_factory(engine)
            practices: dict[str, Practice] = {}
            for mode, (name, cipher) in enumerate(ciphers.items()):
                use_data_keys(cipher)
                practices[name] = await _seed(engine, mode, clients)
            progress(f"encryption: {rounds} rounds, {clients} clients per mode, on {kind}")
            notifier = RenderingNotifier()
            dispatcher = Dispatcher(uow_factory, notifier, clock, quiet=quiet)
            timings: dict[str, dict[str, list[float]]] = {
                name: {"triage": [], "booking": []} for name in ciphers
            }
            first_day = clock.now().date() + timedelta(days=30)
            for n in range(rounds):
                order = list(ciphers) if n % 2 == 0 else list(reversed(ciphers))
                for name in order:
                    use_data_keys(ciphers[name])
                    practice = practices[name]
                    client = practice.client_telegram_ids[n % clients]
                    request = BookingRequest(
                        client_query=f"Surname{n % clients:04d}",
                        day=first_day + timedelta(days=n // 8),
                        at=clock_time(9 + n % 8, 0),
                        minutes=60,
                    )
                    triage_to_alert = partial(
                        _triage_to_alert, uow_factory, clock, policy, dispatcher, client=client, n=n
                    )
                    book = partial(
                        _book,
                        uow_factory,
                        clock,
                        policy,
                        practice.practitioner_telegram_id,
                        request,
                    )
                    timings[name]["triage"].append(await _timed(triage_to_alert))
                    timings[name]["booking"].append(await _timed(book))
            if notifier.sent < 2 * rounds:  # each reply's urgent alert, in both modes
                raise RuntimeError(f"{2 * rounds} alerts expected, {notifier.sent} rendered")
    return _report(kind, rounds, clients, timings) | {"alerts_rendered": notifier.sent}


def _report(
    kind: str, rounds: int, clients: int, timings: dict[str, dict[str, list[float]]]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "encryption",
        "database": kind,
        "rounds": rounds,
        "clients": clients,
    }
    for path, label in (("triage", "triage_to_alert"), ("booking", "booking")):
        plain = statistics.median(timings["plain"][path])
        encrypted = statistics.median(timings["encrypted"][path])
        result |= {
            f"{label}_plain_p50_ms": rounded(plain),
            f"{label}_p50_ms": rounded(encrypted),
            f"{label}_plain_p90_ms": rounded(percentile(timings["plain"][path], 90)),
            f"{label}_p90_ms": rounded(percentile(timings["encrypted"][path], 90)),
            f"{label}_slowdown_pct": rounded((encrypted / plain - 1) * 100, 1),
        }
    result["target_slowdown_pct"] = TARGET_SLOWDOWN_PCT
    result["target_met"] = all(
        result[f"{label}_slowdown_pct"] <= TARGET_SLOWDOWN_PCT
        for label in ("triage_to_alert", "booking")
    )
    return result
