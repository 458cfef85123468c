"""Booking on real databases: a double tap on the last booking step books once.

The two presses run at once, and only the practitioner's row lock (``practitioners.lock``,
which the fakes cannot hold) keeps the second from booking the same time again. The rest
of the session use cases (booking, a client's taps, the practitioner's changes, changes
undone) run on the in-memory fakes, in ``tests/unit/services/``.
"""

from __future__ import annotations

import asyncio

from bot.domain.callbacks import BookPress
from bot.domain.outgoing import OutgoingMessage
from bot.services.sessions import booking
from tests.integration.journey_support import Practice, outbox_rows
from tests.unit.services.support import PRACTITIONER, reminders, sessions_of


async def test_a_double_tap_on_the_last_booking_step_books_once(practice: Practice) -> None:
    press = BookPress(practice.client.id, "20261204", "1100")

    outcomes = await asyncio.gather(
        *(
            booking.guided_step(
                practice.ctx,
                actor=PRACTITIONER,
                press=press,
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )

    keys = [o.text.key if isinstance(o, OutgoingMessage) else repr(o) for o in outcomes]
    assert "booking.booked" in keys
    assert len(await sessions_of(practice.uow, practice.practitioner)) == 1
    assert len(reminders(await outbox_rows(practice.engine))) == 2
