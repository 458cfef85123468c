"""A practitioner's own settings: /settings shows them as they apply, its button turns the
daily digest off and on (stored and audited, shown again), and nobody else gets either."""

from __future__ import annotations

import dataclasses

from bot.domain import callbacks
from bot.domain.models import AuditEntry, Practitioner
from bot.domain.outgoing import OutgoingMessage
from bot.services.practice import practitioner_settings
from messages import render_plain
from tests.unit.services.support import (
    BERLIN,
    CLIENT,
    GUEST,
    PRACTITIONER,
    Practice,
    button_data,
    later,
    refusals,
    refused,
    shown,
)

DEFAULTS = """⚙️ <b>Your settings</b>

<b>Daily digest:</b> {digest}
<b>Time zone:</b> Europe/Berlin
<b>Reminders:</b> 24 h, 2 h before each session (the default)
<b>Check-ins:</b> days 1, 3, 7 after a session, at 10:00 (the default)
<b>Location:</b> Treatment room 2

The daily digest adds your clients' answers of the past day to your morning list. The other \
settings are changed by whoever runs Stillpoint for your practice."""


async def stored(practice: Practice) -> Practitioner:
    async with practice.uow() as uow:
        found = await uow.practitioners.get(practice.practitioner.id)
    assert found is not None
    return found


async def digest_changes(practice: Practice) -> list[AuditEntry]:
    """The audit entries of the digest's changes, oldest first."""
    async with practice.uow() as uow:
        entries = await uow.audit.recent()
    return [e for e in reversed(entries) if e.action == "practitioner.updated"]


def button_labels(message: OutgoingMessage) -> list[str]:
    return [
        render_plain(b.label.key, "en", **b.label.params) for row in message.buttons for b in row
    ]


async def test_a_practitioner_sees_their_settings_with_the_digest_on(practice: Practice) -> None:
    answer = await practitioner_settings.show_settings(practice.ctx, actor=PRACTITIONER)

    assert shown(answer) == DEFAULTS.format(digest="on")
    assert button_labels(answer) == ["Turn the daily digest off"]
    assert button_data(answer) == [callbacks.digest(False)]
    assert await digest_changes(practice) == []


async def test_own_reminders_and_check_ins_are_shown_as_their_own(practice: Practice) -> None:
    own = dataclasses.replace(
        practice.practitioner,
        location=None,
        reminder_offsets_minutes=(2880, 90),
        checkin_days=(2, 5),
        checkin_time="18:30",
    )
    async with practice.uow() as uow:
        await uow.practitioners.update(own)
        await uow.commit()

    answer = await practitioner_settings.show_settings(practice.ctx, actor=PRACTITIONER)

    lines = shown(answer).splitlines()
    assert lines[4:7] == [
        "<b>Reminders:</b> 48 h, 90 min before each session",
        "<b>Check-ins:</b> days 2, 5 after a session, at 18:30",
        "<b>Location:</b> none given",
    ]
    german = render_plain(answer.text.key, "de", **answer.text.params).splitlines()
    assert german[2:7] == [
        "<b>Tagesübersicht:</b> eingeschaltet",
        f"<b>Zeitzone:</b> {BERLIN}",
        "<b>Erinnerungen:</b> 48 h, 90 min vor jeder Sitzung",
        "<b>Nachfragen:</b> an den Tagen 2, 5 nach einer Sitzung, um 18:30 Uhr",
        "<b>Ort:</b> nicht angegeben",
    ]


async def test_the_button_turns_the_digest_off_and_on_and_each_change_is_audited(
    practice: Practice,
) -> None:
    off = await practitioner_settings.set_digest(practice.ctx, actor=PRACTITIONER, on=False)

    assert (await stored(practice)).digest is False
    assert shown(off) == DEFAULTS.format(digest="off")
    assert button_labels(off) == ["Turn the daily digest on"]
    assert button_data(off) == [callbacks.digest(True)]

    later(practice)
    on = await practitioner_settings.set_digest(practice.ctx, actor=PRACTITIONER, on=True)

    assert (await stored(practice)).digest is True
    assert shown(on) == DEFAULTS.format(digest="on")
    assert button_data(on) == [callbacks.digest(False)]
    turned_off, turned_on = await digest_changes(practice)
    for entry, value in ((turned_off, False), (turned_on, True)):
        assert (entry.actor_telegram_id, entry.subject_type, entry.subject_id) == (
            PRACTITIONER,
            "practitioner",
            practice.practitioner.id,
        )
        assert entry.detail == {"source": "settings", "fields": ["digest"], "digest": value}
        assert entry.client_id is None
    assert turned_on.at > turned_off.at


async def test_a_second_press_on_an_old_button_changes_and_records_nothing(
    practice: Practice,
) -> None:
    await practitioner_settings.set_digest(practice.ctx, actor=PRACTITIONER, on=False)

    again = await practitioner_settings.set_digest(practice.ctx, actor=PRACTITIONER, on=False)

    assert shown(again) == DEFAULTS.format(digest="off")
    assert (await stored(practice)).digest is False
    assert len(await digest_changes(practice)) == 1


async def test_a_client_is_refused_kindly_and_the_refusal_audited(practice: Practice) -> None:
    shown_to_client = await refused(practitioner_settings.show_settings(practice.ctx, actor=CLIENT))
    pressed = await refused(practitioner_settings.set_digest(practice.ctx, actor=CLIENT, on=False))

    assert shown_to_client.key == pressed.key == "access.practitioners_only"
    assert (await stored(practice)).digest is True
    assert [e.detail for e in await refusals(practice.uow)] == [
        {"action": "settings.digest", "reason": "not a practitioner"},
        {"action": "settings.show", "reason": "not a practitioner"},
    ]
    assert {e.client_id for e in await refusals(practice.uow)} == {practice.client.id}


async def test_a_stranger_is_refused_and_nothing_is_written(practice: Practice) -> None:
    shown_to_guest = await refused(practitioner_settings.show_settings(practice.ctx, actor=GUEST))
    pressed = await refused(practitioner_settings.set_digest(practice.ctx, actor=GUEST, on=False))

    assert shown_to_guest.key == pressed.key == "access.practitioners_only"
    assert (await stored(practice)).digest is True
    assert await refusals(practice.uow) == []
    assert await digest_changes(practice) == []
