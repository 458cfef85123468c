"""The outbox queries the delivery engine drives, on SQLite and PostgreSQL.

Claiming what is due (order, limit, expiry, concurrent claimers), the guarded
outcome recorders, crash recovery, cancelling, rescheduling and the counts
behind the metrics. Every time here is given, never read from a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.mapping import row_values
from bot.db.repositories import EXPIRED_REASON
from bot.db.tables import OutboxRow
from bot.db.types import UTCDateTime
from bot.db.uow import make_uow_factory
from bot.domain.models import FollowUp, OutboxMessage, OutboxState
from bot.ports import OutboxRepository, UnitOfWork, UnitOfWorkFactory
from tests.integration import records
from tests.integration.records import T0

NOW = T0
MINUTE = timedelta(minutes=1)
# A zone five and a half hours ahead of UTC: times given in it come back in UTC.
INDIA = timezone(timedelta(hours=5, minutes=30))


async def add(uow: UnitOfWork, key: str, **changes: Any) -> OutboxMessage:
    """Schedule one message with dedup key ``key`` (not committed)."""
    return await uow.outbox.add(records.outbox_message(dedup_key=key, **changes))


async def stored(uow_factory: UnitOfWorkFactory, message_id: int) -> OutboxMessage:
    """The row as committed, read in a unit of work of its own."""
    async with uow_factory() as uow:
        found = await uow.outbox.get(message_id)
    assert found is not None
    return found


async def claim(uow_factory: UnitOfWorkFactory, now: datetime, limit: int) -> list[OutboxMessage]:
    """Claim in a unit of work of its own and commit, as the dispatcher does."""
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(now, limit)
        await uow.commit()
    return claimed


def keys(messages: list[OutboxMessage]) -> list[str]:
    return [message.dedup_key for message in messages]


# --- adding ---------------------------------------------------------------------------


async def test_add_tries_first_when_due_unless_told_otherwise(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        plain = await add(uow, "plain", due_at=NOW.astimezone(INDIA))
        later = await add(
            uow,
            "later",
            next_attempt_at=NOW + MINUTE,
            expires_at=(NOW + 60 * MINUTE).astimezone(INDIA),
            priority=7,
        )
        again = await add(uow, "plain", due_at=NOW + 5 * MINUTE)
        await uow.commit()

    assert plain.next_attempt_at == NOW
    assert plain.expires_at is None
    assert plain.priority == 0
    assert (later.next_attempt_at, later.expires_at, later.priority) == (
        NOW + MINUTE,
        NOW + 60 * MINUTE,
        7,
    )
    assert later.expires_at is not None
    assert later.expires_at.tzinfo is UTC
    assert again == plain
    assert await stored(uow_factory, plain.id) == plain
    assert await stored(uow_factory, later.id) == later


# --- claiming -------------------------------------------------------------------------


async def test_claim_takes_due_rows_by_priority_then_time_then_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        early = await add(uow, "early", due_at=NOW - 10 * MINUTE, attempts=2)
        urgent = await add(uow, "urgent", due_at=NOW - MINUTE, priority=5)
        early_too = await add(uow, "early-too", due_at=NOW - 10 * MINUTE)
        exactly_now = await add(uow, "exactly-now", due_at=NOW)
        expires_soon = await add(
            uow, "expires-soon", due_at=NOW - 2 * MINUTE, expires_at=NOW + timedelta(seconds=1)
        )
        await add(uow, "future", due_at=NOW + timedelta(seconds=1))
        await add(uow, "retry-later", due_at=NOW - 20 * MINUTE, next_attempt_at=NOW + MINUTE)
        await add(uow, "expired-now", due_at=NOW - 30 * MINUTE, expires_at=NOW)
        await add(uow, "already-sent", due_at=NOW - 30 * MINUTE, state=OutboxState.SENT)
        await add(uow, "in-flight", due_at=NOW - 30 * MINUTE, state=OutboxState.SENDING)
        await uow.commit()

    claimed = await claim(uow_factory, NOW.astimezone(INDIA), 10)

    assert keys(claimed) == ["urgent", "early", "early-too", "expires-soon", "exactly-now"]
    expected = [
        replace(before, state=OutboxState.SENDING, claimed_at=NOW, attempts=before.attempts + 1)
        for before in (urgent, early, early_too, expires_soon, exactly_now)
    ]
    assert claimed == expected
    assert claimed[1].attempts == 3
    assert all(message.claimed_at and message.claimed_at.tzinfo is UTC for message in claimed)
    for message in claimed:
        assert await stored(uow_factory, message.id) == message
    async with uow_factory() as uow:
        counts = await uow.outbox.count_by_state()
    assert counts[OutboxState.PENDING] == 3
    assert counts[OutboxState.SENDING] == 6


async def test_claim_takes_at_most_limit_and_the_rest_next_time(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for n in range(5):
            await add(uow, f"m{n}", due_at=NOW - (5 - n) * MINUTE)
        await uow.commit()

    batches = [keys(await claim(uow_factory, NOW, 2)) for _ in range(4)]

    assert batches == [["m0", "m1"], ["m2", "m3"], ["m4"], []]


async def test_changes_are_seen_by_the_unit_of_work_that_made_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The session's copies of changed rows are refreshed, so ``get`` never answers stale."""
    async with uow_factory() as uow:
        message = await add(uow, "m", due_at=NOW - MINUTE)
        waiting = await add(uow, "waiting", due_at=NOW + MINUTE)
        [claimed] = await uow.outbox.claim_due(NOW, 5)
        assert claimed.state is OutboxState.SENDING
        assert await uow.outbox.get(message.id) == claimed
        assert await uow.outbox.by_dedup_key("m") == claimed

        assert await uow.outbox.mark_failed(message.id, "400: chat not found")
        assert await uow.outbox.get(message.id) == replace(
            claimed, state=OutboxState.FAILED, last_error="400: chat not found"
        )
        assert await uow.outbox.cancel_pending(chat_id=waiting.chat_id, reason="blocked") == 1
        assert await uow.outbox.get(waiting.id) == replace(
            waiting,
            state=OutboxState.CANCELLED,
            last_error="blocked",
            dedup_key=f"waiting~{waiting.id}",
        )


async def test_claim_refuses_a_naive_time_or_an_empty_batch(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match="timezone-aware"):
            await uow.outbox.claim_due(datetime(2026, 3, 2, 9, 30), 5)
        with pytest.raises(ValueError, match="at least 1"):
            await uow.outbox.claim_due(NOW, 0)


async def test_a_claim_in_progress_is_passed_over_not_shared(
    uow_factory: UnitOfWorkFactory, backend: str
) -> None:
    """PostgreSQL: a second claimer takes other rows at once. SQLite: it waits its turn."""
    async with uow_factory() as uow:
        for n in range(4):
            await add(uow, f"m{n}", due_at=NOW - (4 - n) * MINUTE)
        await uow.commit()

    async with uow_factory() as first:
        held = await first.outbox.claim_due(NOW, 2)
        second = asyncio.create_task(claim(uow_factory, NOW, 2))
        if backend == "postgresql":
            # SKIP LOCKED: the second claim neither waits for the first nor takes its rows.
            taken = await asyncio.wait_for(second, 5)
        else:
            # One writer at a time: the second claim waits until the first commits.
            await asyncio.sleep(0.2)
            assert not second.done()
        await first.commit()
    taken = await second

    assert keys(held) == ["m0", "m1"]
    assert keys(taken) == ["m2", "m3"]


async def claim_each(
    uow_factory: UnitOfWorkFactory,
    limit: int,
    *,
    ready: Callable[[int], bool] = lambda _chat: True,
    busy: set[int] | None = None,
) -> list[OutboxMessage]:
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_each_chat(
            NOW, limit, ready=ready, busy_chats=busy or set()
        )
        await uow.commit()
    return claimed


async def test_claim_each_chat_takes_the_most_urgent_row_of_each_chat(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add(uow, "a-notice-1", chat_id=1, due_at=NOW - 3 * MINUTE)
        await add(uow, "a-notice-2", chat_id=1, due_at=NOW - 2 * MINUTE)
        await add(uow, "a-alert", chat_id=1, due_at=NOW - MINUTE, priority=100)
        await add(uow, "b-reminder", chat_id=2, due_at=NOW - MINUTE)
        await add(uow, "c-later", chat_id=3, due_at=NOW + MINUTE)
        await uow.commit()
    assert keys(await claim_each(uow_factory, 10)) == ["a-alert", "b-reminder"]
    # The chat's backlog stays pending for its turn, and a chat with a send in flight
    # gets nothing more meanwhile.
    assert keys(await claim_each(uow_factory, 10, busy={1})) == []
    assert keys(await claim_each(uow_factory, 10)) == ["a-notice-1"]


async def test_claim_each_chat_passes_over_chats_that_must_wait_and_reaches_those_behind(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """However long one chat's backlog, the first row of another chat behind it is found."""
    async with uow_factory() as uow:
        for n in range(300):
            await add(uow, f"busy-{n}", chat_id=1, due_at=NOW - 2 * MINUTE)
        await add(uow, "other", chat_id=2, due_at=NOW - MINUTE)
        await uow.commit()
    assert keys(await claim_each(uow_factory, 1, ready=lambda chat: chat != 1)) == ["other"]
    assert keys(await claim_each(uow_factory, 1, ready=lambda chat: chat != 1)) == []
    assert keys(await claim_each(uow_factory, 5)) == ["busy-0"]


async def test_claim_each_chat_respects_the_limit_and_refuses_a_bad_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for n in range(5):
            await add(uow, f"m{n}", chat_id=100 + n, due_at=NOW - (5 - n) * MINUTE)
        await uow.commit()
    assert keys(await claim_each(uow_factory, 2)) == ["m0", "m1"]
    with pytest.raises(ValueError, match="limit"):
        await claim_each(uow_factory, 0)


@pytest.mark.parametrize("each_chat", [False, True], ids=["claim_due", "claim_each_chat"])
async def test_two_processes_claim_every_row_exactly_once(
    database_url: str, engine: AsyncEngine, backend: str, each_chat: bool
) -> None:
    """Two engines (two pools, as two bot processes would have) drain 500 due rows.

    On SQLite, the embedded single-process database, the two claimers share one engine.
    """
    due = [
        records.outbox_message(dedup_key=f"m{n}", due_at=NOW - n * MINUTE, chat_id=9_000 + n)
        for n in range(500)
    ]
    async with engine.begin() as connection:
        await connection.execute(
            insert(OutboxRow),
            [row_values(replace(m, next_attempt_at=m.due_at)) for m in due],
        )
        all_ids = set((await connection.scalars(text("SELECT id FROM outbox"))).all())
    other = create_engine(database_url) if backend == "postgresql" else engine
    start = asyncio.Event()

    async def drain(factory: UnitOfWorkFactory) -> list[int]:
        await start.wait()
        ids: list[int] = []
        while True:
            async with factory() as uow:
                if each_chat:
                    batch = await uow.outbox.claim_each_chat(NOW, 7, ready=lambda _chat: True)
                else:
                    batch = await uow.outbox.claim_due(NOW, 7)
                await asyncio.sleep(0)  # let the other claimer run while this one holds rows
                await uow.commit()
            if not batch:
                return ids
            ids.extend(message.id for message in batch)

    try:
        for each in {engine, other}:  # connect first, so both claimers start together
            async with each.connect() as connection:
                await connection.execute(text("SELECT 1"))
        tasks = [asyncio.create_task(drain(make_uow_factory(e))) for e in (engine, other)]
        start.set()
        first, second = await asyncio.gather(*tasks)
    finally:
        if other is not engine:
            await other.dispose()

    assert len(all_ids) == 500
    assert len(first) + len(second) == 500
    assert set(first) | set(second) == all_ids
    if backend == "postgresql":
        assert first
        assert second
    async with engine.connect() as connection:
        # A row claimed twice would show a second attempt.
        assert await connection.scalar(text("SELECT max(attempts) FROM outbox")) == 1
    async with make_uow_factory(engine)() as uow:
        assert await uow.outbox.count_by_state() == dict.fromkeys(OutboxState, 0) | {
            OutboxState.SENDING: 500
        }


async def test_the_sqlite_the_engine_uses_has_update_returning(tmp_path: Path) -> None:
    """The claim is one UPDATE ... RETURNING, which SQLite has since 3.35."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'version.sqlite3'}")
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SELECT sqlite_version()"))
    finally:
        await engine.dispose()
    assert tuple(int(part) for part in str(version).split(".")) >= (3, 35, 0)


# --- expiry and the next wake-up ------------------------------------------------------


async def test_skip_expired_takes_pending_rows_expired_at_or_before_now(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        at_now = await add(uow, "at-now", expires_at=NOW)
        before = await add(uow, "before", expires_at=NOW - MINUTE)
        await add(uow, "after", expires_at=NOW + timedelta(microseconds=1))
        await add(uow, "never")
        await add(uow, "in-flight", expires_at=NOW - MINUTE, state=OutboxState.SENDING)
        await uow.commit()

    async with uow_factory() as uow:
        skipped = await uow.outbox.skip_expired(NOW.astimezone(INDIA))
        await uow.commit()

    assert sorted(skipped, key=lambda m: m.id) == [
        replace(m, state=OutboxState.SKIPPED_STALE, last_error=EXPIRED_REASON)
        for m in (at_now, before)
    ]
    for message in skipped:
        assert await stored(uow_factory, message.id) == message
    assert keys(await claim(uow_factory, NOW, 10)) == ["after", "never"]
    async with uow_factory() as uow:
        assert await uow.outbox.skip_expired(NOW) == []


async def test_next_attempt_at_is_the_earliest_among_pending_rows(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.next_attempt_at() is None
        await add(uow, "sent", due_at=NOW - 60 * MINUTE, state=OutboxState.SENT)
        await add(uow, "cancelled", due_at=NOW - 50 * MINUTE, state=OutboxState.CANCELLED)
        await add(uow, "later", due_at=NOW + 5 * MINUTE)
        await add(uow, "retry", due_at=NOW - 40 * MINUTE, next_attempt_at=NOW + 2 * MINUTE)
        await uow.commit()

    async with uow_factory() as uow:
        earliest = await uow.outbox.next_attempt_at()
    assert earliest == NOW + 2 * MINUTE
    assert earliest is not None
    assert earliest.tzinfo is UTC


# --- outcomes -------------------------------------------------------------------------

Outcome = Callable[[OutboxRepository, int], Awaitable[bool]]

OUTCOMES: dict[str, tuple[Outcome, OutboxState]] = {
    "mark_sent": (
        lambda outbox, message_id: outbox.mark_sent(
            message_id, sent_at=NOW, telegram_message_id=1, lateness_ms=0
        ),
        OutboxState.SENT,
    ),
    "mark_failed": (
        lambda outbox, message_id: outbox.mark_failed(message_id, "400"),
        OutboxState.FAILED,
    ),
    "mark_uncertain": (
        lambda outbox, message_id: outbox.mark_uncertain(message_id, "read timeout"),
        OutboxState.UNCERTAIN,
    ),
    "retry_later": (
        lambda outbox, message_id: outbox.retry_later(
            message_id, next_attempt_at=NOW + MINUTE, reason="502"
        ),
        OutboxState.PENDING,
    ),
}


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
async def test_an_outcome_changes_only_a_row_being_sent(
    uow_factory: UnitOfWorkFactory, outcome: str
) -> None:
    record, state_after = OUTCOMES[outcome]
    not_sending = [s for s in OutboxState if s is not OutboxState.SENDING]
    async with uow_factory() as uow:
        sending = await add(uow, "sending", state=OutboxState.SENDING)
        others = [await add(uow, f"other-{s.value}", state=s) for s in not_sending]
        await uow.commit()

    async with uow_factory() as uow:
        assert await record(uow.outbox, sending.id) is True
        for other in others:
            assert await record(uow.outbox, other.id) is False
        assert await record(uow.outbox, 9999) is False
        await uow.commit()

    assert (await stored(uow_factory, sending.id)).state is state_after
    for other in others:
        assert await stored(uow_factory, other.id) == other
    # Once recorded, the same outcome cannot be recorded twice.
    async with uow_factory() as uow:
        assert await record(uow.outbox, sending.id) is False


async def test_mark_sent_stores_when_and_how_late(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add(uow, "m", due_at=NOW - MINUTE)
        await uow.commit()
    [claimed] = await claim(uow_factory, NOW, 1)

    sent_at = NOW + timedelta(milliseconds=250)
    async with uow_factory() as uow:
        assert await uow.outbox.mark_sent(
            claimed.id,
            sent_at=sent_at.astimezone(INDIA),
            telegram_message_id=9_876_543_210,
            lateness_ms=60_250,
        )
        await uow.commit()

    after = await stored(uow_factory, claimed.id)
    assert after == replace(
        claimed,
        state=OutboxState.SENT,
        sent_at=sent_at,
        telegram_message_id=9_876_543_210,
        lateness_ms=60_250,
    )
    assert after.sent_at is not None
    assert after.sent_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        ("mark_failed", OutboxState.FAILED),
        ("mark_uncertain", OutboxState.UNCERTAIN),
    ],
)
async def test_a_final_outcome_keeps_its_reason(
    uow_factory: UnitOfWorkFactory, outcome: str, state: OutboxState
) -> None:
    async with uow_factory() as uow:
        await add(uow, "m")
        await uow.commit()
    [claimed] = await claim(uow_factory, NOW, 1)

    async with uow_factory() as uow:
        assert await getattr(uow.outbox, outcome)(claimed.id, "the reason")
        await uow.commit()

    assert await stored(uow_factory, claimed.id) == replace(
        claimed, state=state, last_error="the reason"
    )


async def test_retry_later_waits_then_claims_again_with_due_at_kept(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add(uow, "m", due_at=NOW)
        await uow.commit()
    [claimed] = await claim(uow_factory, NOW, 1)

    retry_at = NOW + 30 * MINUTE
    async with uow_factory() as uow:
        assert await uow.outbox.retry_later(
            claimed.id, next_attempt_at=retry_at.astimezone(INDIA), reason="429: retry after 1800"
        )
        await uow.commit()

    waiting = await stored(uow_factory, claimed.id)
    assert waiting == replace(
        claimed,
        state=OutboxState.PENDING,
        next_attempt_at=retry_at,
        last_error="429: retry after 1800",
    )
    assert waiting.due_at == NOW
    async with uow_factory() as uow:
        assert await uow.outbox.next_attempt_at() == retry_at
    assert await claim(uow_factory, retry_at - timedelta(microseconds=1), 1) == []
    [again] = await claim(uow_factory, retry_at, 1)
    assert (again.id, again.attempts, again.claimed_at) == (claimed.id, 2, retry_at)


async def test_recover_in_flight_makes_sending_rows_uncertain(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        first = await add(uow, "first", state=OutboxState.SENDING, claimed_at=NOW)
        second = await add(uow, "second", state=OutboxState.SENDING, claimed_at=NOW)
        pending = await add(uow, "pending")
        sent = await add(uow, "sent", state=OutboxState.SENT)
        await uow.commit()

    async with uow_factory() as uow:
        recovered = await uow.outbox.recover_in_flight("the bot stopped while sending")
        await uow.commit()

    assert sorted(recovered, key=lambda m: m.id) == [
        replace(m, state=OutboxState.UNCERTAIN, last_error="the bot stopped while sending")
        for m in (first, second)
    ]
    for message in (*recovered, pending, sent):
        assert await stored(uow_factory, message.id) == message
    async with uow_factory() as uow:
        assert await uow.outbox.recover_in_flight("again") == []


# --- cancelling and rescheduling ------------------------------------------------------


async def test_cancel_pending_by_client_appointment_or_chat(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        practitioner, first_client = await records.practitioner_and_client(uow)
        second_client = await uow.clients.add(
            records.client(practitioner.id, full_name="Second Client", telegram_user_id=2)
        )
        first_session = await uow.appointments.add(
            records.appointment(practitioner.id, first_client.id)
        )
        second_session = await uow.appointments.add(
            records.appointment(practitioner.id, first_client.id)
        )
        first = {"client_id": first_client.id, "chat_id": 8_000_000_001}
        second = {"client_id": second_client.id, "chat_id": 2}
        rows = {
            "first-session": await add(uow, "a", appointment_id=first_session.id, **first),
            "second-session": await add(uow, "b", appointment_id=second_session.id, **first),
            "first-client": await add(uow, "c", **first),
            "first-sending": await add(uow, "d", state=OutboxState.SENDING, **first),
            "second-client": await add(uow, "e", **second),
            "practitioner": await add(uow, "f", chat_id=7_123_456_789),
        }
        await uow.commit()

    async def cancel(**filters: Any) -> int:
        async with uow_factory() as uow:
            count = await uow.outbox.cancel_pending(**filters, reason="session cancelled")
            await uow.commit()
            return count

    async def states() -> dict[str, OutboxState]:
        return {name: (await stored(uow_factory, m.id)).state for name, m in rows.items()}

    assert await cancel(appointment_id=first_session.id) == 1
    assert [n for n, s in (await states()).items() if s is OutboxState.CANCELLED] == [
        "first-session"
    ]
    assert await cancel(client_id=first_client.id) == 2
    assert await cancel(client_id=first_client.id) == 0
    assert await cancel(chat_id=9) == 0
    assert await cancel(chat_id=2, appointment_id=second_session.id) == 1
    assert await states() == {
        "first-session": OutboxState.CANCELLED,
        "second-session": OutboxState.CANCELLED,
        "first-client": OutboxState.CANCELLED,
        "first-sending": OutboxState.SENDING,
        "second-client": OutboxState.CANCELLED,
        "practitioner": OutboxState.PENDING,
    }
    assert (await stored(uow_factory, rows["second-client"].id)).last_error == "session cancelled"
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match="client_id, appointment_id, chat_id or dedup_prefix"):
            await uow.outbox.cancel_pending(reason="everything")


async def test_a_cancelled_row_frees_its_dedup_key(uow_factory: UnitOfWorkFactory) -> None:
    """A session moved away and back must get its reminders again under the same key."""
    async with uow_factory() as uow:
        first = await add(uow, "reminder:1:1440")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.cancel_pending(chat_id=first.chat_id, reason="moved") == 1
        again = await add(uow, "reminder:1:1440")
        await uow.commit()
    assert again.id != first.id
    assert again.state is OutboxState.PENDING
    cancelled = await stored(uow_factory, first.id)
    assert cancelled.state is OutboxState.CANCELLED
    assert cancelled.dedup_key == f"reminder:1:1440~{first.id}"
    async with uow_factory() as uow:
        assert await uow.outbox.by_dedup_key("reminder:1:1440") == again


async def test_cancel_pending_by_dedup_prefix(uow_factory: UnitOfWorkFactory) -> None:
    """Escalations of one flag are cancelled together when it is acknowledged."""
    async with uow_factory() as uow:
        rows = [await add(uow, key) for key in ("flag:1:again", "flag:1:backup", "flag:10:again")]
        odd = await add(uow, "flag:1%:x")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.cancel_pending(dedup_prefix="flag:1:", reason="acknowledged") == 2
        await uow.commit()
    states = [(await stored(uow_factory, m.id)).state for m in [*rows, odd]]
    assert states == [
        OutboxState.CANCELLED,
        OutboxState.CANCELLED,
        OutboxState.PENDING,
        OutboxState.PENDING,
    ]


# --- counts and lateness --------------------------------------------------------------


async def test_count_by_state_names_every_state(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.count_by_state() == dict.fromkeys(OutboxState, 0)
        for n in range(3):
            await add(uow, f"pending-{n}")
        await add(uow, "sent", state=OutboxState.SENT)
        await add(uow, "failed-1", state=OutboxState.FAILED)
        await add(uow, "failed-2", state=OutboxState.FAILED)
        await uow.commit()

    async with uow_factory() as uow:
        counts = await uow.outbox.count_by_state()
    assert counts == dict.fromkeys(OutboxState, 0) | {
        OutboxState.PENDING: 3,
        OutboxState.SENT: 1,
        OutboxState.FAILED: 2,
    }
    assert all(isinstance(state, OutboxState) for state in counts)


async def test_lateness_of_messages_sent_since_smallest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def sent(key: str, at: datetime, lateness: int) -> OutboxMessage:
        return records.outbox_message(
            dedup_key=key, state=OutboxState.SENT, sent_at=at, lateness_ms=lateness
        )

    async with uow_factory() as uow:
        await uow.outbox.add(sent("before", NOW - timedelta(microseconds=1), 5))
        await uow.outbox.add(sent("at", NOW, 900))
        await uow.outbox.add(sent("after", NOW + MINUTE, 12))
        await uow.outbox.add(sent("much-later", NOW + 60 * MINUTE, 300))
        await add(uow, "failed", state=OutboxState.FAILED, sent_at=NOW + MINUTE, lateness_ms=1)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.outbox.lateness_ms(NOW.astimezone(INDIA)) == [12, 300, 900]
        assert await uow.outbox.lateness_ms(NOW + 2 * 60 * MINUTE) == []


# --- times ----------------------------------------------------------------------------

NAIVE = datetime(2026, 3, 2, 9, 30)

NAIVE_CALLS: dict[str, Callable[[OutboxRepository], Awaitable[object]]] = {
    "claim_due": lambda outbox: outbox.claim_due(NAIVE, 1),
    "skip_expired": lambda outbox: outbox.skip_expired(NAIVE),
    "mark_sent": lambda outbox: outbox.mark_sent(
        1, sent_at=NAIVE, telegram_message_id=1, lateness_ms=0
    ),
    "retry_later": lambda outbox: outbox.retry_later(1, next_attempt_at=NAIVE, reason="x"),
    "lateness_ms": lambda outbox: outbox.lateness_ms(NAIVE),
}


@pytest.mark.parametrize("call", sorted(NAIVE_CALLS))
async def test_a_naive_time_is_refused(uow_factory: UnitOfWorkFactory, call: str) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match="timezone-aware"):
            await NAIVE_CALLS[call](uow.outbox)


# --- indexes --------------------------------------------------------------------------

WAITING_ROWS = 20_000


@contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (and its driver parameters) ``engine`` runs inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        _connection, _cursor, statement, parameters = args[:4]
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def plan(engine: AsyncEngine, backend: str, statement: str, parameters: Any) -> str:
    """The query plan of ``statement``, as text; nothing is executed."""
    prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


QUERIES: dict[str, tuple[Callable[[OutboxRepository], Awaitable[object]], str]] = {
    "claim_due": (lambda outbox: outbox.claim_due(NOW, 10), "ix_outbox_state_next_attempt_at"),
    "next_attempt_at": (lambda outbox: outbox.next_attempt_at(), "ix_outbox_state_next_attempt_at"),
    "skip_expired": (lambda outbox: outbox.skip_expired(NOW), "ix_outbox_state_expires_at"),
    "awaiting_follow_up": (lambda outbox: outbox.awaiting_follow_up(20), "ix_outbox_follow_up"),
}


@pytest.mark.parametrize("query", sorted(QUERIES))
async def test_the_engine_queries_read_an_index_when_most_rows_wait(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, backend: str, query: str
) -> None:
    """With many pending rows of which few are due, the queries use an index, not a scan."""
    run, index = QUERIES[query]
    fill = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
        "INSERT INTO outbox (chat_id, kind, template, payload, due_at, next_attempt_at, "
        "dedup_key, state, priority, attempts, silent) "
        "SELECT 1, 'reminder', 'reminder.day_before', '{}', :at, :at, 'waiting:' || i, "
        "'pending', 0, 0, :silent FROM n"
    ).bindparams(bindparam("at", type_=UTCDateTime()))
    async with engine.begin() as connection:
        parameters = {"count": WAITING_ROWS, "at": NOW + timedelta(days=1), "silent": False}
        await connection.execute(fill, parameters)
        await connection.execute(text("ANALYZE outbox" if backend == "postgresql" else "ANALYZE"))
    async with uow_factory() as uow:
        for n in range(3):
            await add(uow, f"due-{n}", due_at=NOW - n * MINUTE)
            await add(uow, f"expired-{n}", due_at=NOW - 9 * MINUTE, expires_at=NOW - MINUTE)
            await add(uow, f"failed-{n}", state=OutboxState.FAILED, follow_up=FollowUp.UNREACHABLE)
        await uow.commit()

    with statements_run(engine) as seen:
        async with uow_factory() as uow:
            result = await run(uow.outbox)
    [(statement, parameters)] = seen

    expected = {
        "claim_due": ["due-0", "due-1", "due-2"],
        "next_attempt_at": NOW - 9 * MINUTE,
        "skip_expired": ["expired-0", "expired-1", "expired-2"],
        "awaiting_follow_up": ["failed-0", "failed-1", "failed-2"],
    }[query]
    assert (sorted(keys(result)) if isinstance(result, list) else result) == expected
    assert index in await plan(engine, backend, statement, parameters)
