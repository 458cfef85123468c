"""The dispatcher on real databases: every outcome, every Telegram error class, recovery."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.uow import make_uow_factory
from bot.domain.delivery import (
    MessageRejected,
    OutcomeUnknown,
    RateLimited,
    RecipientUnreachable,
    SendOutcome,
    TemporaryFailure,
)
from bot.domain.delivery_rules import RetryPolicy
from bot.domain.models import ClientStatus, FollowUp, OutboxKind, OutboxMessage, OutboxState
from bot.domain.outgoing import OutgoingMessage, Recipient, SentMessage, Text
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWorkFactory
from bot.services.delivery.dispatcher import SENDS_AT_ONCE, SILENT_AFTER, Dispatcher
from bot.services.delivery.outbox import outbox_row
from bot.services.delivery.pacing import Limits, Pacer
from bot.services.delivery.report import delivery_report
from tests.fakes import FixedClock
from tests.integration import records
from tests.integration.records import T0
from tests.integration.support import ScriptedNotifier
from tests.integration.tcp_proxy import TcpProxy

QUIET = QuietHours(time(23), time(6))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def notifier() -> ScriptedNotifier:
    return ScriptedNotifier()


@pytest.fixture
def dispatcher(
    uow_factory: UnitOfWorkFactory, notifier: ScriptedNotifier, clock: FixedClock
) -> Dispatcher:
    retry = RetryPolicy(max_attempts=3, first_wait=timedelta(seconds=2))
    return Dispatcher(uow_factory, notifier, clock, quiet=QUIET, retry=retry)


async def add(uow_factory: UnitOfWorkFactory, key: str, **changes: object) -> OutboxMessage:
    values: dict[str, Any] = {"dedup_key": key, "chat_id": 9000, "payload": {"locale": "en"}}
    async with uow_factory() as uow:
        row = await uow.outbox.add(records.outbox_message(**(values | changes)))
        await uow.commit()
    return row


async def state_of(uow_factory: UnitOfWorkFactory, row: OutboxMessage) -> OutboxMessage:
    async with uow_factory() as uow:
        stored = await uow.outbox.get(row.id)
    assert stored is not None
    return stored


async def test_due_messages_are_sent_once_and_the_rest_wait(
    uow_factory: UnitOfWorkFactory,
    dispatcher: Dispatcher,
    notifier: ScriptedNotifier,
    clock: FixedClock,
) -> None:
    due = await add(uow_factory, "due", due_at=T0 - timedelta(seconds=2))
    later = await add(uow_factory, "later", due_at=T0 + timedelta(minutes=5))
    assert await dispatcher.dispatch_due() == 1
    assert await dispatcher.dispatch_due() == 0
    sent = await state_of(uow_factory, due)
    assert sent.state is OutboxState.SENT
    assert sent.telegram_message_id == 501
    assert sent.sent_at == T0
    assert sent.lateness_ms == 2000
    assert sent.attempts == 1
    assert (await state_of(uow_factory, later)).state is OutboxState.PENDING
    assert await dispatcher.next_attempt_at() == T0 + timedelta(minutes=5)
    assert [chat for chat, _, _ in notifier.sent] == [9000]
    async with uow_factory() as uow:
        report = await delivery_report(uow, T0 - timedelta(hours=1))
    assert (report.sent, report.p50_ms, report.p99_ms) == (1, 2000, 2000)
    assert report.by_state[OutboxState.SENT] == 1
    assert report.by_state[OutboxState.PENDING] == 1


async def test_the_message_is_rendered_from_its_row(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(
            outbox_row(
                OutgoingMessage(Text("stop.practitioner_notice", {"client": "C"})),
                Recipient(9000, "de", "UTC"),
                kind=OutboxKind.NOTICE,
                dedup_key="notice",
                now=T0,
                quiet=QUIET,
            )
        )
        await uow.commit()
    await dispatcher.dispatch_due()
    [(_, message, locale)] = notifier.sent
    assert message.text == Text("stop.practitioner_notice", {"client": "C"})
    assert locale == "de"


async def test_flood_control_waits_as_asked_then_sends(
    uow_factory: UnitOfWorkFactory,
    dispatcher: Dispatcher,
    notifier: ScriptedNotifier,
    clock: FixedClock,
) -> None:
    row = await add(uow_factory, "flood", due_at=T0)
    notifier.script[9000] = [RateLimited(7)]
    await dispatcher.dispatch_due()
    waiting = await state_of(uow_factory, row)
    assert waiting.state is OutboxState.PENDING
    assert waiting.next_attempt_at == T0 + timedelta(seconds=7)
    assert "retry after 7" in (waiting.last_error or "")
    clock.current = T0 + timedelta(seconds=7)
    await dispatcher.dispatch_due()
    sent = await state_of(uow_factory, row)
    assert (sent.state, sent.attempts, sent.lateness_ms) == (OutboxState.SENT, 2, 7000)


async def test_a_blocked_client_is_unreachable_and_their_practitioner_told_once(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        await uow.commit()
    chat = client.telegram_user_id
    assert chat is not None
    first = await add(uow_factory, "r1", chat_id=chat, client_id=client.id)
    later = await add(
        uow_factory, "r2", chat_id=chat, client_id=client.id, due_at=T0 + timedelta(days=1)
    )
    notifier.script[chat] = [RecipientUnreachable("Forbidden: bot was blocked by the user")]
    await dispatcher.dispatch_due()

    failed = await state_of(uow_factory, first)
    assert failed.state is OutboxState.FAILED
    assert "blocked" in (failed.last_error or "")
    assert (await state_of(uow_factory, later)).state is OutboxState.CANCELLED
    async with uow_factory() as uow:
        stored = await uow.clients.get(client.id)
        notice = await uow.outbox.by_dedup_key(f"unreachable:{client.id}")
    assert stored is not None
    assert stored.status is ClientStatus.UNREACHABLE
    assert notice is not None
    assert notice.chat_id == practitioner.telegram_user_id
    assert notice.template == "delivery.unreachable_notice"
    await dispatcher.dispatch_due()  # the notice goes out; nothing goes to the client
    assert [c for c, _, _ in notifier.sent] == [practitioner.telegram_user_id]


async def test_a_follow_up_a_crash_left_undone_is_done_by_the_next_pass(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        await uow.commit()
    assert client.telegram_user_id is not None
    failed = await add(
        uow_factory,
        "r1",
        chat_id=client.telegram_user_id,
        client_id=client.id,
        state=OutboxState.FAILED,
        follow_up=FollowUp.UNREACHABLE,
    )
    async with uow_factory() as uow:
        assert [row.id for row in await uow.outbox.awaiting_follow_up(10)] == [failed.id]

    await dispatcher.dispatch_due()

    assert (await state_of(uow_factory, failed)).follow_up is None
    async with uow_factory() as uow:
        stored = await uow.clients.get(client.id)
        assert await uow.outbox.awaiting_follow_up(10) == []
        assert await uow.outbox.take_follow_up(failed.id) is False
    assert stored is not None
    assert stored.status is ClientStatus.UNREACHABLE
    assert [c for c, _, _ in notifier.sent] == [practitioner.telegram_user_id]


async def test_a_rejected_message_fails_with_the_reason(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    row = await add(uow_factory, "bad")
    notifier.script[9000] = [MessageRejected("Bad Request: chat not found")]
    await dispatcher.dispatch_due()
    failed = await state_of(uow_factory, row)
    assert (failed.state, failed.last_error) == (OutboxState.FAILED, "Bad Request: chat not found")


async def test_server_errors_are_retried_with_backoff_then_given_up(
    uow_factory: UnitOfWorkFactory,
    dispatcher: Dispatcher,
    notifier: ScriptedNotifier,
    clock: FixedClock,
) -> None:
    row = await add(uow_factory, "flaky")
    notifier.script[9000] = [TemporaryFailure("Internal Server Error (500)")] * 3
    await dispatcher.dispatch_due()
    first = await state_of(uow_factory, row)
    assert (first.state, first.next_attempt_at) == (OutboxState.PENDING, T0 + timedelta(seconds=2))
    clock.current = T0 + timedelta(seconds=2)
    await dispatcher.dispatch_due()
    second = await state_of(uow_factory, row)
    assert second.next_attempt_at == T0 + timedelta(seconds=6)  # waited 4 s more
    clock.current = T0 + timedelta(seconds=6)
    await dispatcher.dispatch_due()
    given_up = await state_of(uow_factory, row)
    assert given_up.state is OutboxState.FAILED
    assert "gave up after 3 tries" in (given_up.last_error or "")
    assert notifier.sent == []


async def test_an_unknown_outcome_is_uncertain_and_never_resent(
    uow_factory: UnitOfWorkFactory,
    dispatcher: Dispatcher,
    notifier: ScriptedNotifier,
    clock: FixedClock,
) -> None:
    row = await add(uow_factory, "timeout")
    notifier.script[9000] = [OutcomeUnknown("Timed out")]
    await dispatcher.dispatch_due()
    clock.current = T0 + timedelta(days=1)
    assert await dispatcher.dispatch_due() == 0
    assert (await state_of(uow_factory, row)).state is OutboxState.UNCERTAIN
    assert notifier.sent == []


async def test_a_row_that_cannot_be_read_fails_and_the_rest_go_on(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    broken = await add(uow_factory, "broken", payload={"buttons": "not a list of rows"})
    fine = await add(uow_factory, "fine")
    await dispatcher.dispatch_due()
    assert (await state_of(uow_factory, broken)).state is OutboxState.FAILED
    assert (await state_of(uow_factory, fine)).state is OutboxState.SENT


async def test_stale_messages_are_skipped_never_sent_late(
    uow_factory: UnitOfWorkFactory,
    dispatcher: Dispatcher,
    notifier: ScriptedNotifier,
    clock: FixedClock,
) -> None:
    session_start = T0 + timedelta(hours=2)
    reminder = await add(uow_factory, "reminder", due_at=T0, expires_at=session_start)
    clock.current = T0 + timedelta(days=1)  # the clock jumps a day
    await dispatcher.dispatch_due()
    skipped = await state_of(uow_factory, reminder)
    assert skipped.state is OutboxState.SKIPPED_STALE
    assert notifier.sent == []


async def test_recovery_marks_what_was_in_flight_uncertain_and_tells_the_practitioner(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        await uow.commit()
    rows = [
        await add(uow_factory, f"r{n}", practitioner_id=practitioner.id, client_id=client.id)
        for n in range(3)
    ]
    async with uow_factory() as uow:  # a process claims them, then dies
        await uow.outbox.claim_due(T0, 10)
        await uow.commit()
    stranded = await dispatcher.recover()
    assert sorted(r.id for r in stranded) == [r.id for r in rows]
    for row in rows:
        assert (await state_of(uow_factory, row)).state is OutboxState.UNCERTAIN
    await dispatcher.dispatch_due()
    [(chat, message, _)] = notifier.sent
    assert chat == practitioner.telegram_user_id
    assert message.text == Text("delivery.uncertain_notice", {"count": 3})


async def test_a_client_erased_while_their_message_was_sending(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, clock: FixedClock
) -> None:
    async with uow_factory() as uow:
        _, client = await records.practitioner_and_client(uow)
        await uow.commit()
    row = await add(uow_factory, "gone", client_id=client.id)

    class EraseOnSend(ScriptedNotifier):
        async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
            async with uow_factory() as uow:
                await uow.clients.remove(client.id)
                await uow.commit()
            return await super().send(chat_id, message, locale)

    quiet_dispatcher = Dispatcher(uow_factory, EraseOnSend(), clock, quiet=QUIET)
    assert await quiet_dispatcher.dispatch_due() == 1
    assert quiet_dispatcher.outcomes[SendOutcome.SENT_UNRECORDED] == 1
    async with uow_factory() as uow:
        assert await uow.outbox.get(row.id) is None


async def test_quiet_hours_move_a_routine_message_and_not_an_alert(
    uow_factory: UnitOfWorkFactory,
) -> None:
    night = datetime(2026, 3, 2, 23, 30, tzinfo=T0.tzinfo)
    placed = {}
    async with uow_factory() as uow:
        for kind in (OutboxKind.CHECKIN, OutboxKind.FLAG_ALERT):
            placed[kind] = await uow.outbox.add(
                outbox_row(
                    OutgoingMessage(Text("stop.done")),
                    Recipient(9000, "en", "UTC"),
                    kind=kind,
                    dedup_key=kind,
                    now=night,
                    quiet=QUIET,
                )
            )
        await uow.commit()
    assert placed[OutboxKind.CHECKIN].due_at == datetime(2026, 3, 3, 6, 0, tzinfo=T0.tzinfo)
    assert placed[OutboxKind.FLAG_ALERT].due_at == night


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a file cannot go away
async def test_the_database_going_away_mid_burst_loses_nothing(
    database_url: str, uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    engine = create_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    proxied = make_uow_factory(engine)
    rows = [await add(uow_factory, f"burst{n}", chat_id=9000 + n) for n in range(20)]

    class CutsTheDatabase(ScriptedNotifier):
        async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
            if len(self.sent) == 5:
                await proxy.cut()  # the database goes away just after a send succeeds
                asyncio.get_running_loop().call_later(
                    2.0, lambda: asyncio.ensure_future(proxy.start())
                )
            return await super().send(chat_id, message, locale)

    notifier = CutsTheDatabase()
    dispatcher = Dispatcher(proxied, notifier, clock, quiet=QUIET, batch_size=4)
    try:
        for _ in range(50):
            with contextlib.suppress(Exception):  # a pass may fail to claim while it is away
                await dispatcher.dispatch_due()
            if len(notifier.sent) == len(rows):
                break
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
        await proxy.cut()
    assert sorted(chat for chat, _, _ in notifier.sent) == [row.chat_id for row in rows]
    for row in rows:
        assert (await state_of(uow_factory, row)).state is OutboxState.SENT


async def test_with_several_processes_only_a_dead_peers_claims_are_recovered(
    uow_factory: UnitOfWorkFactory, notifier: ScriptedNotifier, clock: FixedClock
) -> None:
    rows = [await add(uow_factory, f"peer{n}") for n in range(3)]
    async with uow_factory() as uow:  # another process claims them at T0
        await uow.outbox.claim_due(T0, 10)
        await uow.commit()
    survivor = Dispatcher(
        uow_factory, notifier, clock, quiet=QUIET, claim_lease=timedelta(minutes=2)
    )
    clock.current = T0 + timedelta(minutes=1)  # the peer may still be sending
    assert await survivor.recover() == []
    await survivor.dispatch_due()
    assert {(await state_of(uow_factory, r)).state for r in rows} == {OutboxState.SENDING}
    clock.current = T0 + timedelta(minutes=3)  # no live process holds a claim this long
    await survivor.dispatch_due()
    assert {(await state_of(uow_factory, r)).state for r in rows} == {OutboxState.UNCERTAIN}
    assert notifier.sent == []


def running(_pid: int) -> bool:
    return True


async def test_a_peer_that_stops_beating_has_its_claims_freed_within_seconds(
    uow_factory: UnitOfWorkFactory, notifier: ScriptedNotifier, clock: FixedClock
) -> None:
    lease = timedelta(minutes=2)
    dead = Dispatcher(uow_factory, ScriptedNotifier(), clock, quiet=QUIET, claim_lease=lease)
    survivor = Dispatcher(uow_factory, notifier, clock, quiet=QUIET, claim_lease=lease)
    await dead.join("host-a", 1, alive=running)
    await survivor.join("host-b", 2, alive=running)
    assert dead.process_id != survivor.process_id
    rows = [await add(uow_factory, f"beat{n}") for n in range(3)]
    async with uow_factory() as uow:  # the peer claims them, then is killed
        await uow.outbox.claim_due(T0, 10, claimed_by=dead.process_id)
        await uow.commit()

    clock.current = T0 + timedelta(seconds=4)
    await survivor.beat()
    await survivor.dispatch_due()  # still within its heartbeat: it may be sending
    assert {(await state_of(uow_factory, r)).state for r in rows} == {OutboxState.SENDING}

    clock.current = T0 + SILENT_AFTER + timedelta(seconds=1)
    await survivor.beat()
    await survivor.dispatch_due()
    assert {(await state_of(uow_factory, r)).state for r in rows} == {OutboxState.UNCERTAIN}
    assert notifier.sent == []  # never resent
    async with uow_factory() as uow:  # the dead one is gone, the survivor is not
        assert await uow.processes.beat(survivor.process_id or 0, clock.current)
        assert not await uow.processes.beat(dead.process_id or 0, clock.current)

    await dead.beat()  # it was only paused: it joins again under a new id
    assert dead.process_id not in (None, survivor.process_id)


async def test_a_restarted_process_frees_what_its_predecessor_held_at_once(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    lease = timedelta(minutes=2)
    killed = Dispatcher(uow_factory, ScriptedNotifier(), clock, quiet=QUIET, claim_lease=lease)
    await killed.join("host-a", 41, alive=running)
    row = await add(uow_factory, "held")
    async with uow_factory() as uow:
        await uow.outbox.claim_due(T0, 1, claimed_by=killed.process_id)
        await uow.commit()

    restarted = Dispatcher(uow_factory, ScriptedNotifier(), clock, quiet=QUIET, claim_lease=lease)
    await restarted.join("host-a", 42, alive=lambda pid: pid != 41)  # 41 is gone
    [freed] = await restarted.recover()  # at once: no wait for a heartbeat to age

    assert freed.id == row.id
    assert (await state_of(uow_factory, row)).state is OutboxState.UNCERTAIN


async def test_a_clean_stop_frees_what_the_process_holds_at_once(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    stopping = Dispatcher(
        uow_factory, ScriptedNotifier(), clock, quiet=QUIET, claim_lease=timedelta(minutes=2)
    )
    peer = Dispatcher(
        uow_factory, ScriptedNotifier(), clock, quiet=QUIET, claim_lease=timedelta(minutes=2)
    )
    await stopping.join("host-a", 1, alive=running)
    await peer.join("host-b", 2, alive=running)
    mine = await add(uow_factory, "mine")
    async with uow_factory() as uow:
        await uow.outbox.claim_due(T0, 1, claimed_by=stopping.process_id)
        await uow.commit()
    theirs = await add(uow_factory, "theirs")
    async with uow_factory() as uow:
        await uow.outbox.claim_due(T0, 1, claimed_by=peer.process_id)
        await uow.commit()

    [held] = await stopping.leave()

    assert held.id == mine.id
    assert (await state_of(uow_factory, mine)).state is OutboxState.UNCERTAIN
    assert (await state_of(uow_factory, theirs)).state is OutboxState.SENDING
    assert stopping.process_id is None
    assert await peer.recover() == []  # nothing of a live peer's is touched


class PacedNotifier(ScriptedNotifier):
    """Sends through a ``Pacer`` like the Telegram adapter; notes how many rows are claimed
    (``sending``) at each send: what a crash at that moment would leave uncertain."""

    def __init__(self, pacer: Pacer, uow_factory: UnitOfWorkFactory) -> None:
        super().__init__()
        self.pacer = pacer
        self.uow_factory = uow_factory
        self.in_flight: list[int] = []

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        await self.pacer.wait(chat_id, background=True)
        async with self.uow_factory() as uow:
            report = await delivery_report(uow, T0)
        self.in_flight.append(report.by_state.get(OutboxState.SENDING, 0))
        return await super().send(chat_id, message, locale)


@pytest.mark.parametrize(
    ("claim_ahead", "most_in_flight"),
    [
        (timedelta(0), 5),  # what 5/s lets out at once
        (timedelta(milliseconds=250), 6),  # and what comes free in the next 0.25 s
    ],
)
async def test_claims_follow_the_send_budget_not_the_batch_size(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    claim_ahead: timedelta,
    most_in_flight: int,
) -> None:
    rows = [await add(uow_factory, f"paced{n}", chat_id=9000 + n) for n in range(12)]
    pacer = Pacer(Limits(overall_per_second=5))
    notifier = PacedNotifier(pacer, uow_factory)
    dispatcher = Dispatcher(
        uow_factory,
        notifier,
        clock,
        quiet=QUIET,
        batch_size=28,  # would claim all 12 at once
        budget=pacer,
        claim_ahead=claim_ahead,
        sends_at_once=28,
    )
    assert await dispatcher.dispatch_due() == len(rows)
    assert notifier.in_flight[0] == most_in_flight  # the first claim took the budget
    assert max(notifier.in_flight) == most_in_flight
    assert sorted(chat for chat, _, _ in notifier.sent) == [row.chat_id for row in rows]
    for row in rows:
        assert (await state_of(uow_factory, row)).state is OutboxState.SENT


async def test_with_a_send_budget_at_most_three_sends_are_in_flight(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    """What a kill can leave ``uncertain``: the rows claimed and not yet recorded."""
    rows = [await add(uow_factory, f"few{n}", chat_id=9000 + n) for n in range(12)]
    pacer = Pacer(Limits(overall_per_second=1000))
    notifier = PacedNotifier(pacer, uow_factory)
    dispatcher = Dispatcher(uow_factory, notifier, clock, quiet=QUIET, batch_size=28, budget=pacer)
    assert await dispatcher.dispatch_due() == len(rows)
    assert max(notifier.in_flight) == SENDS_AT_ONCE == 3
    assert sorted(chat for chat, _, _ in notifier.sent) == [row.chat_id for row in rows]


async def test_without_a_send_budget_a_claim_takes_the_batch_size(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rows = [await add(uow_factory, f"unpaced{n}", chat_id=9000 + n) for n in range(12)]
    notifier = PacedNotifier(Pacer(Limits(overall_per_second=1e6)), uow_factory)
    dispatcher = Dispatcher(uow_factory, notifier, clock, quiet=QUIET, batch_size=8)
    assert await dispatcher.dispatch_due() == len(rows)
    assert notifier.in_flight[0] == 8
    assert max(notifier.in_flight) == 8


async def test_a_message_waiting_for_its_own_chat_does_not_hold_up_other_chats(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    """Three alerts to one practitioner go first (priority) but need a second each; the
    messages to other chats go out meanwhile instead of waiting behind them."""
    busy_chat = 7_100_000_001
    alerts = [
        await add(uow_factory, f"alert{n}", chat_id=busy_chat, priority=100) for n in range(3)
    ]
    others = [await add(uow_factory, f"other{n}", chat_id=9100 + n) for n in range(8)]
    pacer = Pacer(Limits(overall_per_second=1000, private_chat_per_second=1))
    notifier = PacedNotifier(pacer, uow_factory)
    dispatcher = Dispatcher(uow_factory, notifier, clock, quiet=QUIET, batch_size=4, budget=pacer)

    assert await dispatcher.dispatch_due() == len(alerts) + len(others)

    order = [chat for chat, _, _ in notifier.sent]
    assert order.count(busy_chat) == len(alerts)
    last_alert = len(order) - 1 - order[::-1].index(busy_chat)
    assert order[last_alert:] == [busy_chat]  # every other chat was served before it


class BusyChatWatcher(PacedNotifier):
    """Notes, at each send to ``chat``, how many of its rows are claimed (``sending``)."""

    def __init__(
        self, pacer: Pacer, uow_factory: UnitOfWorkFactory, engine: AsyncEngine, chat: int
    ) -> None:
        super().__init__(pacer, uow_factory)
        self.engine, self.chat = engine, chat
        self.claimed_for_chat: list[int] = []

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        if chat_id == self.chat:
            async with self.engine.connect() as connection:
                count = await connection.scalar(
                    text("SELECT count(*) FROM outbox WHERE state = 'sending' AND chat_id = :c"),
                    {"c": chat_id},
                )
            self.claimed_for_chat.append(int(count or 0))
        return await super().send(chat_id, message, locale)


async def test_one_chats_backlog_stays_pending_and_never_holds_up_another_chat(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, clock: FixedClock
) -> None:
    """Ten notices for one practitioner, then an alert for another and routine messages:
    only one of the busy chat's rows is ever claimed at a time, so a crash strands at most
    that one; the alert goes in the first claim, and the busy chat takes at most one of
    the sends at once, so every other chat is served before its fourth notice."""
    busy_chat = 7_100_000_001
    notices = [await add(uow_factory, f"notice{n}", chat_id=busy_chat) for n in range(10)]
    alert = await add(uow_factory, "alert", chat_id=7_100_000_002, priority=100)
    others = [await add(uow_factory, f"other{n}", chat_id=9200 + n) for n in range(5)]
    # The busy chat's pace leaves 1.5 s before its fourth notice: room for a loaded machine
    # (750 ms was once too little for six sends with the whole suite running).
    pacer = Pacer(Limits(overall_per_second=1000, private_chat_per_second=2))
    notifier = BusyChatWatcher(pacer, uow_factory, engine, busy_chat)
    dispatcher = Dispatcher(uow_factory, notifier, clock, quiet=QUIET, batch_size=28, budget=pacer)

    assert await dispatcher.dispatch_due() == len(notices) + 1 + len(others)

    order = [chat for chat, _, _ in notifier.sent]
    assert alert.chat_id in order[:SENDS_AT_ONCE]
    fourth_notice = [n for n, chat in enumerate(order) if chat == busy_chat][3]
    assert set(order[:fourth_notice]) == {busy_chat, alert.chat_id, *(o.chat_id for o in others)}
    assert notifier.claimed_for_chat == [1] * len(notices)
    for row in [*notices, alert, *others]:
        assert (await state_of(uow_factory, row)).state is OutboxState.SENT


async def test_a_dispatcher_told_to_stop_claims_nothing_more(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    """At shutdown a long backlog must not keep the bot from stopping: nothing more is
    claimed, and what was not claimed stays pending for the next start."""
    rows = [await add(uow_factory, f"backlog{n}", chat_id=7_100_000_001) for n in range(3)]
    pacer = Pacer(Limits(overall_per_second=1000, private_chat_per_second=1))
    notifier = PacedNotifier(pacer, uow_factory)
    dispatcher = Dispatcher(uow_factory, notifier, clock, quiet=QUIET, budget=pacer)
    dispatcher.stop_claiming()
    assert await dispatcher.dispatch_due() == 0
    for row in rows:
        assert (await state_of(uow_factory, row)).state is OutboxState.PENDING


async def test_a_practitioners_chat_failing_never_cancels_their_alerts(
    uow_factory: UnitOfWorkFactory, dispatcher: Dispatcher, notifier: ScriptedNotifier
) -> None:
    async with uow_factory() as uow:
        practitioner, _ = await records.practitioner_and_client(uow)
        await uow.commit()
    chat = practitioner.telegram_user_id
    first = await add(uow_factory, "alert1", chat_id=chat, kind=OutboxKind.FLAG_ALERT)
    later = await add(
        uow_factory,
        "alert2",
        chat_id=chat,
        kind=OutboxKind.FLAG_ALERT,
        due_at=T0 + timedelta(minutes=15),
    )
    notifier.script[chat] = [RecipientUnreachable("Forbidden: bot was blocked by the user")]
    await dispatcher.dispatch_due()
    assert (await state_of(uow_factory, first)).state is OutboxState.FAILED
    assert (await state_of(uow_factory, later)).state is OutboxState.PENDING
