"""The practitioner's morning list: today's sessions and the flags open a day or more, once a
local morning, and the job that runs it. (The digest after it: ``test_digest.py``; turned
off here.)"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import AppointmentStatus, OutboxKind
from bot.sandbox.text import message_text
from bot.services.delivery.outbox import decode
from bot.services.flags import lifecycle
from bot.telegram import flag_jobs
from tests.integration import records
from tests.integration.support import Bot
from tests.unit.flags.support import (
    MORNING,
    NOW,
    PRACTITIONER,
    Practice,
    button_data,
    by_key,
    morning,
    raise_,
    rendered,
)


@pytest.fixture(autouse=True)
async def _digest_off(practice: Practice) -> None:
    await practice.db.practitioners.update(dataclasses.replace(practice.practitioner, digest=False))


async def test_a_flag_open_a_day_is_in_the_morning_list_once(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    assert await morning(practice, datetime(2026, 12, 2, 6, 59, tzinfo=UTC)) == []  # 07:59
    assert await morning(practice, MORNING) == []  # open 22 hours only, no sessions
    practice.clock.current = NOW - timedelta(hours=3)  # raise one that is old enough
    old = await raise_(practice, checkin_id=None)
    assert old is not None
    [row] = await morning(practice, MORNING)
    assert row.dedup_key == f"morning:{practice.practitioner.id}:2026-12-02"
    assert row.kind is OutboxKind.NOTICE
    assert row.chat_id == PRACTITIONER
    assert row.due_at == MORNING
    assert row.expires_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # local midnight
    html = rendered(row)
    assert "Flags still open after 24 hours</b> (1)" in html
    assert "Sample &lt;i&gt;Client&lt;/i&gt;" in html
    assert "Today's sessions" not in html
    message, _ = decode(row)
    assert button_data(message)[0] == callbacks.flag(old.id, FlagAction.ACKNOWLEDGE)
    message_text(html, "HTML")
    # Later runs that day add nothing; the next morning it comes again while still open.
    assert len(await morning(practice, MORNING + timedelta(minutes=30))) == 1
    assert len(await morning(practice, MORNING + timedelta(hours=2))) == 1
    assert len(await morning(practice, MORNING + timedelta(days=1))) == 2
    await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=old.id)
    await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    assert len(await morning(practice, MORNING + timedelta(days=2))) == 2  # nothing open


async def test_the_morning_list_lists_todays_sessions(practice: Practice) -> None:
    await practice.db.appointments.add(
        records.appointment(
            practice.practitioner.id,
            practice.client.id,
            starts_at=datetime(2026, 12, 2, 13, 0, tzinfo=UTC),
        )
    )
    await practice.db.appointments.add(
        records.appointment(
            practice.practitioner.id,
            practice.client.id,
            starts_at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
            status=AppointmentStatus.CANCELLED,
        )
    )
    [row] = await morning(practice, MORNING)
    html = rendered(row)
    assert "Today's sessions</b> (1)" in html
    assert "14:00" in html
    assert "Flags still open" not in html
    assert decode(row)[0].buttons == ()


async def test_no_morning_list_outside_the_morning_or_with_nothing_to_list(
    practice: Practice,
) -> None:
    assert await morning(practice, MORNING) == []
    practice.clock.current = NOW - timedelta(days=2)
    await raise_(practice)
    assert await morning(practice, datetime(2026, 12, 2, 12, 0, tzinfo=UTC)) == []  # 13:00
    assert len(await morning(practice, MORNING + timedelta(days=1))) == 1


async def test_the_morning_job_is_registered_once_and_runs_the_lists(
    practice: Practice, bot: Bot
) -> None:
    job_queue = bot.app.job_queue
    assert job_queue is not None
    await job_queue.start()
    try:
        flag_jobs.start_flag_jobs(bot.app)
        flag_jobs.start_flag_jobs(bot.app)  # a second start replaces, never doubles
        [job] = job_queue.get_jobs_by_name(flag_jobs.MORNING_JOB_ID)
        assert job.job.id == flag_jobs.MORNING_JOB_ID
        assert job.job.max_instances == 1
        assert job.job.coalesce is True
    finally:
        await job_queue.stop(wait=False)
    practice.clock.current = NOW - timedelta(days=2)
    await raise_(practice)
    practice.clock.current = MORNING
    await flag_jobs.morning_lists(SimpleNamespace(application=bot.app))  # type: ignore[arg-type]
    assert len(by_key(practice, "morning:")) == 1
