"""Every repository round-trips domain records through a real database, on both backends."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.errors import RecordNotFoundError
from bot.domain.models import (
    AppointmentStatus,
    AuditEntry,
    CalendarEntry,
    CalendarEntryState,
    CalendarSubscription,
    CheckInState,
    ClientStatus,
    FlagState,
    OutboxKind,
    OutboxState,
    TriageLevel,
)
from bot.ports import UnitOfWorkFactory
from tests.integration import records
from tests.integration.records import BIG_TELEGRAM_ID, T0

# A time given in a zone five and a half hours ahead of UTC.
INDIA = timezone(timedelta(hours=5, minutes=30))


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is UTC


async def test_practitioners_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.practitioners.add(records.practitioner())
        other = await uow.practitioners.add(
            records.practitioner(42, display_name="Second Practitioner")
        )
        await uow.commit()

    assert added.id > 0
    assert added == records.practitioner(id=added.id)
    async with uow_factory() as uow:
        assert await uow.practitioners.get(added.id) == added
        assert await uow.practitioners.by_telegram_id(BIG_TELEGRAM_ID) == added
        assert await uow.practitioners.by_telegram_id(1) is None
        assert await uow.practitioners.get(9999) is None
        assert list(await uow.practitioners.list_all()) == [added, other]


async def test_created_at_falls_back_to_the_database_clock(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.practitioners.add(records.practitioner(created_at=None))
        await uow.commit()
    assert_utc(added.created_at)
    async with uow_factory() as uow:
        stored = await uow.practitioners.get(added.id)
    assert stored is not None
    assert_utc(stored.created_at)


async def test_a_telegram_account_is_one_practitioner(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.practitioners.add(records.practitioner())
        with pytest.raises(IntegrityError):
            await uow.practitioners.add(records.practitioner(display_name="Twin"))


async def test_clients_round_trip_and_stay_with_their_practitioner(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        second = await uow.practitioners.add(
            records.practitioner(42, display_name="Second Practitioner")
        )
        # The same Telegram account is a client of two practitioners.
        client_of_second = await uow.clients.add(
            records.client(second.id, full_name="Client of the second practitioner")
        )
        invited = await uow.clients.add(
            records.client(
                practitioner.id,
                full_name="Second Client",
                status=ClientStatus.INVITED,
                telegram_user_id=None,
                consented_at=None,
            )
        )
        await uow.commit()

    assert client == records.client(practitioner.id, id=client.id)
    assert isinstance(client.status, ClientStatus)
    async with uow_factory() as uow:
        assert await uow.clients.get(client.id) == client
        assert list(await uow.clients.for_practitioner(practitioner.id)) == [client, invited]
        assert list(await uow.clients.for_practitioner(second.id)) == [client_of_second]
        assert list(await uow.clients.by_telegram_id(8_000_000_001)) == [client, client_of_second]
        assert list(await uow.clients.by_telegram_id(1)) == []


async def test_client_update_writes_every_field(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        _, client = await records.practitioner_and_client(uow)
        await uow.commit()

    changed = replace(
        client, status=ClientStatus.STOPPED, checkins_paused=True, locale="en", created_at=None
    )
    async with uow_factory() as uow:
        updated = await uow.clients.update(changed)
        await uow.commit()

    assert updated == replace(changed, created_at=client.created_at)
    async with uow_factory() as uow:
        assert await uow.clients.get(client.id) == updated
        with pytest.raises(RecordNotFoundError, match="clients"):
            await uow.clients.update(replace(client, id=9999))


async def test_clients_asked_to_keep_their_check_ins_are_chosen_by_the_database(
    uow_factory: UnitOfWorkFactory,
) -> None:
    asked = T0 - timedelta(days=3)
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(records.practitioner())
        ids = iter(range(8_000_000_100, 8_000_000_200))

        async def add(name: str, **changes: object) -> int:
            values = {"full_name": name, "telegram_user_id": next(ids)} | changes
            return (await uow.clients.add(records.client(practitioner.id, **values))).id

        silent = await add("Silent Client", checkin_prompt_at=asked)
        await add("Asked Just Now", checkin_prompt_at=T0)
        await add("Never Asked")
        await add("Already Paused", checkin_prompt_at=asked, checkins_paused=True)
        await add("Stopped", checkin_prompt_at=asked, status=ClientStatus.STOPPED)
        await add("Not Joined", checkin_prompt_at=asked, telegram_user_id=None)
        also_silent = await add("Asked In India", checkin_prompt_at=asked.astimezone(INDIA))
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.clients.asked_to_keep_before(T0 - timedelta(days=1))
    assert [c.id for c in found] == [silent, also_silent]


async def test_invites_by_token_hash(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        added = await uow.invites.add(records.invite(practitioner.id, client.id))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.invites.by_token_hash("a" * 64) == added
        assert await uow.invites.by_token_hash("b" * 64) is None
        used = await uow.invites.update(replace(added, used_at=T0 + timedelta(hours=2)))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.invites.by_token_hash("a" * 64) == used
        assert used.used_at == T0 + timedelta(hours=2)
        with pytest.raises(IntegrityError):
            await uow.invites.add(records.invite(practitioner.id, client.id))


async def test_audit_log_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.audit.record(T0, "client.invited", actor_telegram_id=BIG_TELEGRAM_ID)
        second = await uow.audit.record(
            T0 + timedelta(minutes=1),
            "appointment.booked",
            actor_telegram_id=BIG_TELEGRAM_ID,
            subject_type="appointment",
            subject_id=7,
            detail={"status": "booked", "ids": [1, 2]},
        )
        await uow.commit()

    assert second.detail == {"status": "booked", "ids": [1, 2]}
    assert first.detail == {}
    async with uow_factory() as uow:
        assert list(await uow.audit.recent()) == [second, first]
        assert list(await uow.audit.recent(limit=1)) == [second]


async def test_appointments_between_two_times(uow_factory: UnitOfWorkFactory) -> None:
    day = T0.replace(hour=0, minute=0)
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        second = await uow.practitioners.add(records.practitioner(42))
        second_client = await uow.clients.add(records.client(second.id))
        late = await uow.appointments.add(
            records.appointment(practitioner.id, client.id, starts_at=day + timedelta(hours=17))
        )
        early = await uow.appointments.add(
            records.appointment(practitioner.id, client.id, starts_at=day + timedelta(hours=8))
        )
        at_end = await uow.appointments.add(
            records.appointment(practitioner.id, client.id, starts_at=day + timedelta(days=1))
        )
        await uow.appointments.add(
            records.appointment(second.id, second_client.id, starts_at=day + timedelta(hours=9))
        )
        await uow.commit()

    async with uow_factory() as uow:
        today = await uow.appointments.for_practitioner_between(
            practitioner.id, day, day + timedelta(days=1)
        )
        assert list(today) == [early, late]
        tomorrow = await uow.appointments.for_practitioner_between(
            practitioner.id, day + timedelta(days=1), day + timedelta(days=2)
        )
        assert list(tomorrow) == [at_end]
        # The same window given in another zone selects the same sessions.
        in_india = await uow.appointments.for_practitioner_between(
            practitioner.id, day.astimezone(INDIA), (day + timedelta(days=1)).astimezone(INDIA)
        )
        assert list(in_india) == [early, late]
        with pytest.raises(ValueError, match="timezone-aware"):
            await uow.appointments.for_practitioner_between(
                practitioner.id, day.replace(tzinfo=None), day + timedelta(days=1)
            )


async def test_appointments_within_several_spans(uow_factory: UnitOfWorkFactory) -> None:
    day = T0.replace(hour=0, minute=0)
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        other = await uow.practitioners.add(records.practitioner(42))
        other_client = await uow.clients.add(records.client(other.id))
        stored = {
            hour: await uow.appointments.add(
                records.appointment(
                    practitioner.id, client.id, starts_at=day + timedelta(hours=hour)
                )
            )
            for hour in (8, 10, 12, 14)
        }
        await uow.appointments.add(
            records.appointment(other.id, other_client.id, starts_at=day + timedelta(hours=8))
        )
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.appointments.for_practitioner_within(
            practitioner.id,
            [
                (day + timedelta(hours=12), day + timedelta(hours=14)),  # the end left out
                (day + timedelta(hours=7), day + timedelta(hours=9)),
            ],
        )
        assert list(found) == [stored[8], stored[12]]
        assert list(await uow.appointments.for_practitioner_within(practitioner.id, [])) == []
        with pytest.raises(ValueError, match="timezone-aware"):
            await uow.appointments.for_practitioner_within(
                practitioner.id, [(day.replace(tzinfo=None), day + timedelta(days=1))]
            )


async def test_appointment_update(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        booked = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        await uow.commit()
    confirmed = replace(
        booked, status=AppointmentStatus.CONFIRMED, updated_at=T0 + timedelta(hours=3)
    )
    async with uow_factory() as uow:
        assert await uow.appointments.update(confirmed) == confirmed
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.appointments.get(booked.id)
    assert stored == confirmed
    assert stored is not None
    assert isinstance(stored.status, AppointmentStatus)


async def test_times_in_any_zone_are_stored_as_utc(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, backend: str
) -> None:
    starts_in_india = datetime(2026, 3, 3, 15, 0, tzinfo=INDIA)  # 09:30 UTC
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        added = await uow.appointments.add(
            records.appointment(practitioner.id, client.id, starts_at=starts_in_india)
        )
        await uow.commit()

    assert added.starts_at == datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    assert_utc(added.starts_at)
    async with uow_factory() as uow:
        stored = await uow.appointments.get(added.id)
    assert stored is not None
    assert stored.starts_at == starts_in_india
    assert_utc(stored.starts_at)
    assert_utc(stored.created_at)

    async with engine.connect() as connection:
        if backend == "sqlite":
            raw = await connection.scalar(text("SELECT starts_at FROM appointments"))
            assert str(raw).startswith("2026-03-03 09:30:00")
        else:
            raw = await connection.scalar(
                text("SELECT to_char(starts_at AT TIME ZONE 'UTC', 'HH24:MI') FROM appointments")
            )
            assert raw == "09:30"


async def test_naive_times_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        with pytest.raises(ValueError, match="starts_at must be timezone-aware"):
            await uow.appointments.add(
                records.appointment(
                    practitioner.id, client.id, starts_at=datetime(2026, 3, 3, 9, 30)
                )
            )
        with pytest.raises(ValueError, match="timezone-aware"):
            await uow.audit.record(datetime(2026, 3, 3, 9, 30), "x")


async def test_outbox_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        session = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        message = records.outbox_message(
            practitioner_id=practitioner.id,
            client_id=client.id,
            appointment_id=session.id,
            silent=True,
            attempts=2,
            last_error="429: retry after 3",
            claimed_at=T0 + timedelta(seconds=1),
            sent_at=T0 + timedelta(seconds=2),
            telegram_message_id=9_876_543_210,
            lateness_ms=2_000,
            state=OutboxState.SENT,
        )
        added = await uow.outbox.add(message)
        await uow.commit()

    # Added without a next attempt time, it is first tried when due.
    assert added == replace(message, id=added.id, next_attempt_at=message.due_at)
    assert isinstance(added.kind, OutboxKind)
    async with uow_factory() as uow:
        assert await uow.outbox.get(added.id) == added
        assert await uow.outbox.by_dedup_key(message.dedup_key) == added
        assert await uow.outbox.by_dedup_key("missing") is None


async def test_outbox_add_is_idempotent_on_the_dedup_key(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        first = await uow.outbox.add(records.outbox_message())
        await uow.commit()

    async with uow_factory() as uow:
        again = await uow.outbox.add(
            records.outbox_message(template="something.else", due_at=T0 + timedelta(hours=1))
        )
        # Within one transaction, too.
        third = await uow.outbox.add(records.outbox_message(chat_id=1))
        other = await uow.outbox.add(records.outbox_message(dedup_key="reminder:1:hour_before"))
        await uow.commit()

    assert again == first
    assert third == first
    assert other.id != first.id
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM outbox")) == 2


async def test_concurrent_scheduling_stores_one_row(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async def schedule(template: str) -> int:
        async with uow_factory() as uow:
            added = await uow.outbox.add(records.outbox_message(template=template))
            await uow.commit()
            return added.id

    ids = await asyncio.gather(*(schedule(f"t{n}") for n in range(5)))
    assert len(set(ids)) == 1
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM outbox")) == 1


async def test_checkins_for_an_appointment(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        session = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        other = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        day3 = await uow.checkins.add(records.checkin(client.id, session.id, day=3))
        day1 = await uow.checkins.add(records.checkin(client.id, session.id, day=1))
        await uow.checkins.add(records.checkin(client.id, other.id, day=1))
        await uow.commit()

    async with uow_factory() as uow:
        assert list(await uow.checkins.for_appointment(session.id)) == [day1, day3]
        assert await uow.checkins.get(day1.id) == day1
        sent = await uow.checkins.update(replace(day1, state=CheckInState.SENT))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.checkins.get(day1.id) == sent
        with pytest.raises(IntegrityError):
            await uow.checkins.add(records.checkin(client.id, session.id, day=3))


async def test_replies_are_versions_never_overwrites(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        session = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        checkin = await uow.checkins.add(records.checkin(client.id, session.id))
        tap = await uow.replies.add(
            records.reply(
                client.id,
                checkin_id=checkin.id,
                text=None,
                telegram_message_id=None,
                received_at=T0 + timedelta(days=2),
            )
        )
        original = await uow.replies.add(records.reply(client.id, checkin_id=checkin.id))
        edited = await uow.replies.add(
            replace(
                original,
                id=0,
                version=2,
                text="Worse today, a new pain in my chest",
                triage_level=TriageLevel.URGENT,
                triage_reasons=("chest_pain",),
                received_at=original.received_at + timedelta(minutes=5),
            )
        )
        await uow.commit()

    assert edited.id != original.id
    assert edited.body_areas == ("neck", "lower_back")
    assert edited.triage_reasons == ("chest_pain",)
    async with uow_factory() as uow:
        assert list(await uow.replies.for_client(client.id)) == [edited, original, tap]
        assert list(await uow.replies.for_client(client.id, limit=1)) == [edited]
        assert await uow.replies.get(original.id) == original
        assert list(await uow.replies.versions_of(client.id, 4242)) == [original, edited]
        assert list(await uow.replies.versions_of(client.id, 9999)) == []
        with pytest.raises(IntegrityError):
            await uow.replies.add(replace(original, id=0))


async def test_answers_for_client_are_the_scored_or_compared_replies_newest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        _, client = await records.practitioner_and_client(uow)
        at = T0 + timedelta(days=2)
        scored = await uow.replies.add(
            records.reply(client.id, comparison=None, telegram_message_id=1, received_at=at)
        )
        for n in range(5):  # words alone, however many, are not an answer
            await uow.replies.add(
                records.reply(
                    client.id,
                    score=None,
                    comparison=None,
                    telegram_message_id=10 + n,
                    received_at=at + timedelta(minutes=n + 1),
                )
            )
        compared = await uow.replies.add(
            records.reply(
                client.id, score=None, telegram_message_id=2, received_at=at + timedelta(hours=1)
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.replies.answers_for_client(client.id, 10)) == [compared, scored]
        assert list(await uow.replies.answers_for_client(client.id, 1)) == [compared]


async def test_a_practitioners_check_ins_and_replies_between_two_times(
    uow_factory: UnitOfWorkFactory,
) -> None:
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=2)
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        other, other_client = await records.practitioner_and_client(uow, telegram_user_id=42)
        found_checkins, found_replies = [], []
        for n, at in enumerate(
            (start - timedelta(seconds=1), end - timedelta(seconds=1), start, end)
        ):
            for owner, whose in ((practitioner, client), (other, other_client)):
                session = await uow.appointments.add(records.appointment(owner.id, whose.id))
                checkin = await uow.checkins.add(records.checkin(whose.id, session.id, due_at=at))
                reply = await uow.replies.add(
                    records.reply(whose.id, received_at=at, telegram_message_id=n)
                )
                if owner is practitioner and start <= at < end:
                    found_checkins.append(checkin)
                    found_replies.append(reply)
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.checkins.due_between(practitioner.id, start, end)) == [
            found_checkins[1],  # earliest first
            found_checkins[0],
        ]
        assert list(await uow.replies.received_between(practitioner.id, start, end)) == [
            found_replies[1],
            found_replies[0],
        ]


async def test_reply_outlives_a_deleted_session(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        session = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        checkin = await uow.checkins.add(records.checkin(client.id, session.id))
        answer = await uow.replies.add(records.reply(client.id, checkin_id=checkin.id))
        await uow.commit()

    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM appointments WHERE id = :id"), {"id": session.id}
        )

    async with uow_factory() as uow:
        assert await uow.checkins.get(checkin.id) is None
        assert await uow.replies.get(answer.id) == replace(answer, checkin_id=None)


async def test_open_flags_for_a_practitioner(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        second, second_client = await records.practitioner_and_client(uow, telegram_user_id=42)
        answer = await uow.replies.add(records.reply(client.id))
        ana_answer = await uow.replies.add(records.reply(second_client.id))
        newer = await uow.flags.add(
            records.flag(answer.id, client.id, practitioner.id, created_at=T0 + timedelta(days=3))
        )
        older = await uow.flags.add(
            records.flag(
                answer.id,
                client.id,
                practitioner.id,
                level=TriageLevel.URGENT,
                reasons=("self_harm",),
            )
        )
        closed = await uow.flags.add(
            records.flag(answer.id, client.id, practitioner.id, state=FlagState.ACKNOWLEDGED)
        )
        await uow.flags.add(records.flag(ana_answer.id, second_client.id, second.id))
        await uow.commit()

    assert older.reasons == ("self_harm",)
    async with uow_factory() as uow:
        assert list(await uow.flags.open_for_practitioner(practitioner.id)) == [older, newer]
        assert await uow.flags.get(closed.id) == closed
        acknowledged = await uow.flags.update(
            replace(
                older,
                state=FlagState.ACKNOWLEDGED,
                acknowledged_at=T0 + timedelta(days=3, minutes=2),
                alerts_sent=2,
            )
        )
        await uow.commit()

    async with uow_factory() as uow:
        assert list(await uow.flags.open_for_practitioner(practitioner.id)) == [newer]
        assert await uow.flags.get(older.id) == acknowledged


async def test_practitioner_update_keeps_a_new_name(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.practitioners.add(records.practitioner())
        await uow.commit()
    async with uow_factory() as uow:
        await uow.practitioners.update(replace(added, display_name="Renamed"))
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.practitioners.get(added.id)
    assert stored == replace(added, display_name="Renamed")


async def test_removing_a_client_erases_everything_that_hangs_on_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        other = await uow.clients.add(
            records.client(practitioner.id, full_name="Other Client", telegram_user_id=None)
        )
        session = await uow.appointments.add(records.appointment(practitioner.id, client.id))
        checkin = await uow.checkins.add(records.checkin(client.id, session.id))
        reply = await uow.replies.add(records.reply(client.id, checkin_id=checkin.id))
        flag = await uow.flags.add(records.flag(reply.id, client.id, practitioner.id))
        invite = await uow.invites.add(records.invite(practitioner.id, client.id))
        await uow.commit()

    async with uow_factory() as uow:
        await uow.clients.remove(client.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.clients.get(client.id) is None
        assert await uow.appointments.get(session.id) is None
        assert await uow.checkins.get(checkin.id) is None
        assert await uow.replies.get(reply.id) is None
        assert await uow.flags.get(flag.id) is None
        assert await uow.invites.get(invite.id) is None
        assert await uow.clients.get(other.id) == other
        assert await uow.practitioners.get(practitioner.id) == practitioner


async def test_calendar_subscriptions_entries_and_choices(uow_factory: UnitOfWorkFactory) -> None:
    url = "https://calendar.example/private-abc123/basic.ics"
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        other, _ = await records.practitioner_and_client(uow, telegram_user_id=42)
        mine = await uow.calendars.add_subscription(
            CalendarSubscription(0, practitioner.id, url, next_poll_at=T0)
        )
        later = await uow.calendars.add_subscription(
            CalendarSubscription(0, other.id, url, next_poll_at=T0 + timedelta(hours=1))
        )
        first = await uow.calendars.add_entry(
            CalendarEntry(
                0,
                mine.id,
                "uid-1",
                "",
                T0,
                T0 + timedelta(hours=1),
                "Anna",
                CalendarEntryState.ASKED,
            )
        )
        await uow.calendars.add_entry(
            replace(first, id=0, recurrence_id="2026-01-01T09:00:00+00:00", client_id=client.id)
        )
        await uow.calendars.choose(mine.id, "uid-1", None)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calendars.subscription_of(practitioner.id) == mine
        assert [s.id for s in await uow.calendars.due_subscriptions(T0)] == [mine.id]
        assert [s.id for s in await uow.calendars.due_subscriptions(T0 + timedelta(days=1))] == [
            mine.id,
            later.id,
        ]
        assert [e.recurrence_id for e in await uow.calendars.entries(mine.id)] == [
            "",
            "2026-01-01T09:00:00+00:00",
        ]
        [theirs] = await uow.calendars.entries_for_client(client.id)
        assert theirs.recurrence_id == "2026-01-01T09:00:00+00:00"
        assert (await uow.calendars.choose(mine.id, "uid-1", client.id)).client_id == client.id
        await uow.commit()
    async with uow_factory() as uow:
        choice = await uow.calendars.choice(mine.id, "uid-1")
        assert choice is not None
        assert choice.client_id == client.id
        with pytest.raises(IntegrityError):
            await uow.calendars.add_entry(replace(first, id=0))
    async with uow_factory() as uow:
        await uow.clients.remove(client.id)  # their entry and choice go with them
        await uow.commit()
    async with uow_factory() as uow:
        assert [e.id for e in await uow.calendars.entries(mine.id)] == [first.id]
        assert await uow.calendars.choice(mine.id, "uid-1") is None
        await uow.calendars.remove_subscription(mine.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calendars.subscription_of(practitioner.id) is None
        assert await uow.calendars.entry(first.id) is None


async def test_many_added_together_come_back_in_order_with_their_ids(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        subscription = await uow.calendars.add_subscription(
            CalendarSubscription(0, practitioner.id, "https://calendar.example/a.ics")
        )
        # Given latest first, so that an insert that kept the order by chance proves nothing.
        wanted = [
            records.appointment(practitioner.id, client.id, starts_at=T0 + timedelta(hours=n))
            for n in range(40, 0, -1)
        ]
        sessions = await uow.appointments.add_all(wanted)
        entries = await uow.calendars.add_entries(
            [
                CalendarEntry(
                    0,
                    subscription.id,
                    f"uid-{n}",
                    "",
                    s.starts_at,
                    s.starts_at + timedelta(hours=1),
                    "Session",
                    CalendarEntryState.BOOKED if n % 2 else CalendarEntryState.WAITING,
                    appointment_id=s.id if n % 2 else None,
                    client_id=client.id if n % 2 else None,
                )
                for n, s in enumerate(sessions)
            ]
        )
        unread = CalendarEntry(
            0,
            subscription.id,
            "uid-unread",
            "",
            T0,
            T0 + timedelta(hours=1),
            "Waiting",
            CalendarEntryState.WAITING,
        )
        await uow.calendars.insert_entries([unread])
        kept = await uow.outbox.add(records.outbox_message(dedup_key="a", template="first"))
        await uow.outbox.add_all(
            [
                records.outbox_message(dedup_key="a", template="second"),  # known: skipped
                records.outbox_message(dedup_key="b", appointment_id=sessions[0].id),
                records.outbox_message(dedup_key="b", template="again"),  # twice: once
                records.outbox_message(dedup_key="c", due_at=T0 + timedelta(hours=2)),
            ]
        )
        await uow.audit.record_all(
            [AuditEntry(0, T0, "appointment.booked", subject_id=s.id) for s in sessions[:3]]
        )
        await uow.commit()

    assert [s.starts_at for s in sessions] == [w.starts_at for w in wanted]
    assert len({s.id for s in sessions}) == 40
    assert [replace(s, id=0) for s in sessions] == wanted
    async with uow_factory() as uow:
        for session in sessions:
            assert await uow.appointments.get(session.id) == session
        for entry in entries:
            assert await uow.calendars.entry(entry.id) == entry
        stored = await uow.calendars.entries(subscription.id)
        assert [replace(e, id=0, created_at=None) for e in stored if e.uid == "uid-unread"] == [
            unread
        ]
        assert {(e.appointment_id, e.starts_at) for e in stored if e.appointment_id} == {
            (s.id, s.starts_at) for n, s in enumerate(sessions) if n % 2
        }
        assert await uow.outbox.by_dedup_key("a") == kept
        second = await uow.outbox.by_dedup_key("b")
        assert second is not None
        assert (second.template, second.appointment_id) == ("reminder.day_before", sessions[0].id)
        later = await uow.outbox.by_dedup_key("c")
        assert later is not None
        assert later.next_attempt_at == T0 + timedelta(hours=2)  # stored as due_at
        assert [e.subject_id for e in await uow.audit.recent()] == [s.id for s in sessions[:3]][
            ::-1
        ]
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM outbox")) == 3


async def test_the_first_waiting_events_are_found_marked_asked_and_counted(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def entry(
        subscription_id: int, uid: str, hours: int, state: CalendarEntryState
    ) -> CalendarEntry:
        at = T0 + timedelta(hours=hours)
        return CalendarEntry(
            0, subscription_id, uid, at.isoformat(), at, at + timedelta(hours=1), uid, state
        )

    async with uow_factory() as uow:
        practitioner, _ = await records.practitioner_and_client(uow)
        other, _ = await records.practitioner_and_client(uow, telegram_user_id=42)
        mine, theirs = [
            await uow.calendars.add_subscription(
                CalendarSubscription(0, p.id, "https://calendar.example/a.ics")
            )
            for p in (practitioner, other)
        ]
        waiting, asked = CalendarEntryState.WAITING, CalendarEntryState.ASKED
        await uow.calendars.add_entries(
            [
                entry(mine.id, "weekly", 30, waiting),
                entry(mine.id, "weekly", 198, waiting),
                entry(mine.id, "weekly", 6, asked),  # asked already: not counted
                entry(mine.id, "lunch", 10, waiting),
                entry(mine.id, "late", 500, waiting),
                entry(theirs.id, "early", 1, waiting),  # another practitioner's
            ]
        )
        await uow.commit()
    async with uow_factory() as uow:
        first = await uow.calendars.first_waiting(mine.id, 2)
        assert [(e.uid, e.starts_at) for e in first] == [
            ("lunch", T0 + timedelta(hours=10)),
            ("weekly", T0 + timedelta(hours=30)),
        ]
        assert await uow.calendars.count_entries(mine.id, waiting) == 4
        await uow.calendars.mark_asked(mine.id, {"weekly", "early"})
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calendars.count_entries(mine.id, waiting) == 2
        assert await uow.calendars.count_entries(mine.id, asked) == 3
        assert await uow.calendars.count_entries(theirs.id, waiting) == 1
        assert [e.uid for e in await uow.calendars.first_waiting(mine.id, 5)] == ["lunch", "late"]


async def test_the_counts_an_operator_watches(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        practitioner, client = await records.practitioner_and_client(uow)
        for n, (state, kind) in enumerate(
            [
                (OutboxState.PENDING, OutboxKind.REMINDER),
                (OutboxState.PENDING, OutboxKind.REMINDER),
                (OutboxState.SENT, OutboxKind.NOTICE),
            ]
        ):
            await uow.outbox.add(records.outbox_message(dedup_key=f"m{n}", state=state, kind=kind))
        reply = await uow.replies.add(records.reply(client.id))
        for hours, level, flag_state in [
            (5, TriageLevel.URGENT, FlagState.OPEN),
            (1, TriageLevel.URGENT, FlagState.OPEN),
            (2, TriageLevel.CONCERN, FlagState.ACKNOWLEDGED),
        ]:
            await uow.flags.add(
                records.flag(
                    reply.id,
                    client.id,
                    practitioner.id,
                    level=level,
                    state=flag_state,
                    created_at=T0 - timedelta(hours=hours),
                )
            )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.count_by_state_and_kind() == {
            (OutboxState.PENDING, OutboxKind.REMINDER): 2,
            (OutboxState.SENT, OutboxKind.NOTICE): 1,
        }
        assert await uow.flags.open_by_level() == {TriageLevel.URGENT: (2, T0 - timedelta(hours=5))}
