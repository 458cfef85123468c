"""Retention on real databases: finished messages lose their text after the keep days
(the row and its state stay), answers are erased after the retention months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.models import OutboxState
from bot.ports import UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.privacy.retention import Retention, apply_retention, months_before
from tests.fakes import FixedClock
from tests.integration import records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RETENTION = Retention(outbox_keep=timedelta(days=30), answer_months=24)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 24, datetime(2024, 12, 1, 9, 0, tzinfo=UTC)),
        (datetime(2026, 5, 31, tzinfo=UTC), 3, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 5, 31, tzinfo=UTC), 3, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 1, datetime(2025, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_before_keeps_the_day_where_it_exists(
    moment: datetime, months: int, expected: datetime
) -> None:
    assert months_before(moment, months) == expected


async def test_old_texts_and_answers_go_and_everything_else_stays(
    uow_factory: UnitOfWorkFactory,
) -> None:
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.add(records.practitioner())
        client = await uow.clients.add(records.client(practitioner.id))
        rows = {
            name: await uow.outbox.add(
                records.outbox_message(
                    dedup_key=name, state=state, created_at=created, payload={"words": name}
                )
            )
            for name, state, created in (
                ("old-sent", OutboxState.SENT, old),
                ("old-failed", OutboxState.FAILED, old),
                ("old-pending", OutboxState.PENDING, old),
                ("recent-sent", OutboxState.SENT, recent),
            )
        }
        ancient = await uow.replies.add(
            records.reply(client.id, received_at=NOW - timedelta(days=2 * 366))
        )
        kept = await uow.replies.add(
            records.reply(
                client.id, received_at=NOW - timedelta(days=700), telegram_message_id=4243
            )
        )
        await uow.commit()

    cleared = await apply_retention(
        UseCaseContext(uow_factory, FixedClock(NOW), records.policy()), RETENTION
    )

    assert (cleared.payloads, cleared.answers) == (2, 1)
    async with uow_factory() as uow:
        after = {name: await uow.outbox.get(row.id) for name, row in rows.items()}
        assert await uow.replies.get(ancient.id) is None
        assert await uow.replies.get(kept.id) is not None
    assert {name: row.payload for name, row in after.items() if row is not None} == {
        "old-sent": {},
        "old-failed": {},
        "old-pending": {"words": "old-pending"},  # still to be sent
        "recent-sent": {"words": "recent-sent"},
    }
    assert after["old-sent"] is not None
    assert after["old-sent"].state is OutboxState.SENT
    again = await apply_retention(
        UseCaseContext(uow_factory, FixedClock(NOW), records.policy()), RETENTION
    )
    assert (again.payloads, again.answers) == (0, 0)
