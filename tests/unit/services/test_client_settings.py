"""A client's own settings: their time zone (found by a city or a zone's name; changing it
reschedules the reminders ahead) and pausing check-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.models import OutboxKind, OutboxState
from bot.services.practice import client_settings
from tests.integration import records
from tests.unit.services.support import (
    BERLIN,
    CLIENT,
    FRIDAY_ELEVEN,
    Practice,
    book,
    outbox_rows,
    reminders,
    shown,
)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("  America/New_York ", "America/New_York"),
        ("europe/berlin", "Europe/Berlin"),
        ("Mars/Olympus", None),
        ("", None),
    ],
)
def test_find_timezone(text: str, zone: str | None) -> None:
    assert client_settings.find_timezone(text) == zone


async def test_a_new_time_zone_reschedules_the_reminders_ahead(practice: Practice) -> None:
    await book(practice)

    answer = await client_settings.set_timezone(practice.ctx, actor=CLIENT, text="Tokyo")

    assert (answer.text.key, answer.text.params["timezone"]) == ("timezone.changed", "Asia/Tokyo")
    async with practice.uow() as uow:
        stored = await uow.clients.get(practice.client.id)
    assert stored is not None
    assert stored.timezone == "Asia/Tokyo"
    rows = outbox_rows(practice)
    old = reminders(rows, OutboxState.CANCELLED)
    assert [r.payload["params"]["when"]["tz"] for r in old] == [BERLIN, BERLIN]
    new = reminders(rows)
    assert [r.payload["params"]["when"]["tz"] for r in new] == ["Asia/Tokyo", "Asia/Tokyo"]
    assert {r.expires_at for r in new} == {FRIDAY_ELEVEN}


async def test_pause_cancels_pending_checkins_and_not_the_reminders(practice: Practice) -> None:
    await book(practice)
    async with practice.uow() as uow:
        for day in (1, 3):
            await uow.outbox.add(
                records.outbox_message(
                    CLIENT,
                    kind=OutboxKind.CHECKIN,
                    template="checkin.ask",
                    dedup_key=f"checkin:test:{day}",
                    due_at=FRIDAY_ELEVEN + timedelta(days=day),
                    client_id=practice.client.id,
                )
            )
        await uow.commit()

    paused = await client_settings.set_paused(practice.ctx, actor=CLIENT, paused=True)
    again = await client_settings.set_paused(practice.ctx, actor=CLIENT, paused=True)

    assert (paused.text.key, again.text.key) == ("checkins.paused", "checkins.already_paused")
    async with practice.uow() as uow:
        stored = await uow.clients.get(practice.client.id)
    assert stored is not None
    assert stored.checkins_paused
    rows = outbox_rows(practice)
    assert [r.state for r in rows if r.kind is OutboxKind.CHECKIN] == [OutboxState.CANCELLED] * 2
    assert len(reminders(rows)) == 2
    resumed = await client_settings.set_paused(practice.ctx, actor=CLIENT, paused=False)
    assert resumed.text.key == "checkins.resumed"


async def test_show_timezone_names_the_clients_zone(practice: Practice) -> None:
    answer = await client_settings.show_timezone(practice.ctx, actor=CLIENT)

    assert answer.text.params["timezone"] == BERLIN
    assert "10:00" in shown(answer)
