"""Other people's records: a practitioner cannot book another's client, a client cannot
press on another's session, only its practitioner may change a session (each refusal
audited); a guest has no client settings; a client who sent /stop gets nothing more."""

from __future__ import annotations

import pytest

from bot.domain.callbacks import BookPress, SessionAction
from bot.domain.models import AppointmentStatus, OutboxState
from bot.services.context import UseCaseContext
from bot.services.practice import client_settings
from bot.services.privacy.rights import stop_messages
from bot.services.sessions import booking
from tests.integration import records
from tests.unit.services.support import (
    BERLIN,
    CLIENT,
    GUEST,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    POLICY,
    PRACTITIONER,
    Practice,
    add_client,
    add_practitioner,
    book,
    client_press,
    later,
    outbox_rows,
    practitioner_press,
    refusals,
    refused,
    session,
    sessions_of,
)


async def test_booking_another_practitioners_client_by_id_is_refused(practice: Practice) -> None:
    other = await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    theirs = await add_client(practice.uow, other, "Neighbour Client", OTHER_CLIENT)
    press = BookPress(theirs.id, "20261204", "1100")

    answer = await refused(booking.guided_step(practice.ctx, actor=PRACTITIONER, press=press))

    assert answer.key == "access.not_found"
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert await sessions_of(practice.uow, other) == []
    assert outbox_rows(practice) == []
    [entry] = await refusals(practice.uow)
    assert (entry.actor_telegram_id, entry.subject_type, entry.subject_id) == (
        PRACTITIONER,
        "client",
        theirs.id,
    )
    assert entry.detail == {"action": "appointment.book", "reason": "not their client"}


async def test_a_press_by_another_client_is_not_found(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Fourth Client", OTHER_CLIENT)
    appointment = await book(practice)
    rows_before = outbox_rows(practice)

    answer = await refused(
        client_press(practice, appointment, SessionAction.CONFIRM, actor=OTHER_CLIENT)
    )

    assert answer.key == "access.not_found"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    assert outbox_rows(practice) == rows_before
    [entry] = await refusals(practice.uow)
    assert (entry.actor_telegram_id, entry.subject_id) == (OTHER_CLIENT, appointment.id)
    assert entry.detail == {"action": "appointment.ok", "reason": "not their session"}


@pytest.mark.parametrize(
    ("actor", "key", "reason"),
    [
        (OTHER_PRACTITIONER, "access.not_found", "not their session"),
        (CLIENT, "access.practitioners_only", "not a practitioner"),
    ],
)
async def test_only_its_practitioner_may_change_a_session(
    practice: Practice, actor: int, key: str, reason: str
) -> None:
    await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    appointment = await book(practice)
    rows_before = outbox_rows(practice)

    answer = await refused(
        practitioner_press(practice, appointment, SessionAction.PRACTITIONER_CANCEL, actor=actor)
    )

    assert answer.key == key
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    assert outbox_rows(practice) == rows_before
    [entry] = await refusals(practice.uow)
    assert entry.actor_telegram_id == actor
    assert entry.detail == {"action": "appointment.pcxy", "reason": reason}


@pytest.mark.parametrize("step", ["show", "set", "pause"])
async def test_a_guest_has_no_client_settings(practice: Practice, step: str) -> None:
    uow, clock = practice.uow, practice.clock
    calls = {
        "show": lambda: client_settings.show_timezone(
            UseCaseContext(uow, clock, records.policy()), actor=GUEST
        ),
        "set": lambda: client_settings.set_timezone(
            UseCaseContext(uow, clock, POLICY), actor=GUEST, text="Tokyo"
        ),
        "pause": lambda: client_settings.set_paused(
            UseCaseContext(uow, clock, POLICY), actor=GUEST, paused=True
        ),
    }

    answer = await refused(calls[step]())

    assert answer.key == "client.not_joined"
    async with uow() as check:
        assert await check.audit.recent() == []
        assert [
            c.timezone for c in await check.clients.for_practitioner(practice.practitioner.id)
        ] == [BERLIN]


def pending_to(practice: Practice, chat_id: int) -> list[str]:
    """The templates of the messages still to be sent to ``chat_id``."""
    rows = outbox_rows(practice)
    return [r.template for r in rows if r.chat_id == chat_id and r.state is OutboxState.PENDING]


@pytest.mark.parametrize(
    ("action", "argument"),
    [
        pytest.param(SessionAction.MOVE_TO, "202612071100", id="move"),
        pytest.param(SessionAction.PRACTITIONER_CANCEL, "", id="cancel"),
    ],
)
async def test_a_stopped_client_gets_no_message_when_their_session_changes(
    practice: Practice, action: SessionAction, argument: str
) -> None:
    appointment = await book(practice)
    later(practice)
    await stop_messages(practice.ctx, CLIENT)
    assert pending_to(practice, CLIENT) == []
    later(practice)

    await practitioner_press(practice, appointment, action, argument)

    assert pending_to(practice, CLIENT) == []
