"""The practitioner's lists: today's sessions (their local today), the upcoming ones, every
client with their state, and long lists in pages that each fit one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import callbacks
from bot.domain.callbacks import ListName, SessionAction
from bot.domain.models import AppointmentStatus, ClientStatus
from bot.domain.outgoing import OutgoingMessage
from bot.sandbox.text import message_text, utf16_length
from bot.services.context import UseCaseContext
from bot.services.sessions import lists as session_lists
from tests.fakes import FixedClock
from tests.integration import records
from tests.unit.services.support import (
    CANCELLED,
    FRIDAY_ELEVEN,
    INVITED,
    MONDAY_ELEVEN,
    NOW,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    CheckedDatabase,
    Practice,
    add_client,
    add_practitioner,
    add_session,
    book,
    button_data,
    shown,
)


def listed_clients(message: OutgoingMessage) -> list[str]:
    return [line["params"]["client"] for line in message.text.params["lines"]]


async def test_today_is_the_practitioners_local_today(db: CheckedDatabase) -> None:
    clock = FixedClock(NOW)
    # 09:00 UTC on 1 December is 22:00 on 1 December in Auckland (UTC+13).
    practitioner = await add_practitioner(db, timezone="Pacific/Auckland")
    starts = {
        "Yesterday": datetime(2026, 11, 30, 10, 0, tzinfo=UTC),  # 30 Nov 23:00 there
        "Early": datetime(2026, 11, 30, 19, 0, tzinfo=UTC),  # 1 Dec 08:00 there
        "Called Off": datetime(2026, 12, 1, 8, 0, tzinfo=UTC),  # 1 Dec 21:00, cancelled
        "Late": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),  # 1 Dec 23:00 there
        "Midnight": datetime(2026, 12, 1, 11, 0, tzinfo=UTC),  # 2 Dec 00:00 there
    }
    for n, (name, starts_at) in enumerate(starts.items()):
        client = await add_client(db, practitioner, name, 8_100_000_010 + n)
        status = CANCELLED if name == "Called Off" else AppointmentStatus.BOOKED
        await add_session(db, client, starts_at, status=status)

    answer = await session_lists.sessions_today(
        UseCaseContext(db, clock, records.policy()), actor=PRACTITIONER
    )

    assert answer.text.key == "sessions.today"
    assert listed_clients(answer) == ["Early", "Late"]
    assert answer.text.params["count"] == 2
    assert "Tuesday 1 December at 23:00 · <b>Late</b>" in shown(answer)


async def test_upcoming_leaves_out_other_practitioners_and_cancelled_sessions(
    practice: Practice,
) -> None:
    other = await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    theirs = await add_client(practice.uow, other, "Not Mine", OTHER_CLIENT)
    await add_session(practice.uow, theirs, FRIDAY_ELEVEN)
    mine = await add_session(practice.uow, practice.client, MONDAY_ELEVEN)
    await add_session(practice.uow, practice.client, FRIDAY_ELEVEN, status=CANCELLED)

    upcoming = await session_lists.sessions_upcoming(practice.ctx, actor=PRACTITIONER)
    today = await session_lists.sessions_today(practice.ctx, actor=PRACTITIONER)

    assert upcoming.text.key == "sessions.upcoming"
    assert listed_clients(upcoming) == ["Sample Client"]
    assert button_data(upcoming) == [callbacks.session(mine.id, MONDAY_ELEVEN, SessionAction.SHOW)]
    assert "Not Mine" not in shown(upcoming)
    assert today.text.key == "sessions.none_today"


async def test_the_client_list_shows_every_client_and_their_state(practice: Practice) -> None:
    await add_client(practice.uow, practice.practitioner, "Third Client", None, status=INVITED)
    await add_client(
        practice.uow,
        practice.practitioner,
        "Fifth Client",
        OTHER_CLIENT,
        status=ClientStatus.STOPPED,
    )
    await book(practice)

    answer = await session_lists.client_list(practice.ctx, actor=PRACTITIONER)

    assert (answer.text.key, answer.text.params["count"]) == ("clients.list", 3)
    states = {
        line["params"]["client"]: line["params"]["status"]["$text"]
        for line in answer.text.params["lines"]
    }
    assert states == {
        "Sample Client": "client_status.active",
        "Third Client": "client_status.invited",
        "Fifth Client": "client_status.stopped",
    }
    # Every name opens the client's card; Book is beside the active client only.
    everyone = await practice.db.clients.for_practitioner(practice.practitioner.id)
    assert [[button.callback_data for button in row] for row in answer.buttons] == [
        [callbacks.card(c.id), callbacks.book(c.id)]
        if c.status is ClientStatus.ACTIVE
        else [callbacks.card(c.id)]
        for c in everyone
    ]
    text = shown(answer)
    assert "Third Client</b> · invited, not joined yet" in text
    assert "Sample Client</b> · joined · next: Friday 4 December at 11:00" in text


async def all_pages(practice: Practice, name: ListName) -> list[OutgoingMessage]:
    """Every page of a list, by pressing More until there is none."""
    pages = [
        await session_lists.list_page(
            practice.ctx,
            actor=PRACTITIONER,
            name=name,
            page=0,
        )
    ]
    more = callbacks.list_page(name, len(pages))
    while more in button_data(pages[-1]) and len(pages) < 10:
        press = callbacks.parse_list_page(more)
        assert press == (name, len(pages))
        pages.append(
            await session_lists.list_page(
                practice.ctx,
                actor=PRACTITIONER,
                name=name,
                page=press[1],
            )
        )
        more = callbacks.list_page(name, len(pages))
    return pages


def assert_pages_fit(pages: list[OutgoingMessage], total: int) -> None:
    """Pages numbered from 1, each counting ``total``, together listing ``total`` lines,
    each short enough for one Telegram message."""
    assert [p.text.params["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert {p.text.params["count"] for p in pages} == {total}
    assert sum(len(p.text.params["lines"]) for p in pages) == total
    for page in pages:
        assert utf16_length(message_text(shown(page), "HTML").text) <= 4096


async def test_a_long_client_list_comes_in_pages_that_each_fit_one_message(
    practice: Practice,
) -> None:
    for n in range(44):  # with the practice's own client, 45: three pages
        name = f"Client {n:02d} " + "W" * 90  # the longest names there are
        await add_client(practice.uow, practice.practitioner, name, None, status=INVITED)

    pages = await all_pages(practice, ListName.CLIENTS)

    assert len(pages) == 3
    assert_pages_fit(pages, 45)
    assert button_data(pages[1])[-2:] == [
        callbacks.list_page(ListName.CLIENTS, 0),
        callbacks.list_page(ListName.CLIENTS, 2),
    ]
    past_the_end = await session_lists.client_list(practice.ctx, actor=PRACTITIONER, page=99)
    assert past_the_end.text.params["page"] == 3


async def test_a_long_list_of_sessions_comes_in_pages_that_each_fit_one_message(
    practice: Practice,
) -> None:
    long_name = await add_client(
        practice.uow, practice.practitioner, "Long " + "W" * 95, OTHER_CLIENT
    )
    async with practice.uow() as uow:
        for n in range(41):
            await uow.appointments.add(
                records.appointment(
                    practice.practitioner.id,
                    long_name.id,
                    starts_at=practice.clock.now() + timedelta(days=1, minutes=30 * n),
                    created_at=practice.clock.now(),
                )
            )
        await uow.commit()

    pages = await all_pages(practice, ListName.UPCOMING)

    assert len(pages) == 3
    assert_pages_fit(pages, 41)
    assert len(button_data(pages[0])) == 20 + 1  # a card button a session, and More
