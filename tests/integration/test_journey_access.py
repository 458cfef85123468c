"""Who may do, see and receive what, on real databases: invite links and consent, refusals
of other people's records (each audited), nothing more for a client who sent /stop, the
practitioner's lists, and a client's own settings.

Helpers and the practice set-up come from ``journey_support.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.tables import Base, InviteRow
from bot.domain import callbacks
from bot.domain.callbacks import BookPress, ListName, SessionAction
from bot.domain.models import AppointmentStatus, ClientStatus, Invite, OutboxKind, OutboxState
from bot.domain.outgoing import OutgoingMessage
from bot.ports import UnitOfWorkFactory
from bot.sandbox.text import message_text, utf16_length
from bot.services.access import STRANGER_REFUSALS
from bot.services.practice import client_settings, invites
from bot.services.practice.invites import ConsentOutcome, NewInvite
from bot.services.privacy.rights import stop_messages
from bot.services.sessions import booking
from bot.services.sessions import lists as session_lists
from tests.fakes import FixedClock
from tests.integration import records
from tests.integration.journey_support import (
    BERLIN,
    CANCELLED,
    CLIENT,
    FRIDAY_ELEVEN,
    GUEST,
    INVITED,
    MONDAY_ELEVEN,
    NOW,
    OTHER_CLIENT,
    OTHER_PRACTITIONER,
    POLICY,
    PRACTITIONER,
    Practice,
    add_client,
    add_practitioner,
    add_session,
    book,
    book_line,
    button_data,
    client_press,
    later,
    notices_to,
    outbox_rows,
    practitioner_press,
    refusals,
    refused,
    reminders,
    session,
    sessions_of,
    shown,
)

NEWCOMER = 8_100_000_500  # the Telegram user who opens the second client's invite


async def new_invite(
    practice: Practice, name: str = "Second Client", actor: int = PRACTITIONER
) -> NewInvite:
    return await invites.create(practice.uow, practice.clock, POLICY, actor=actor, full_name=name)


async def open_link(practice: Practice, token: str, actor: int = NEWCOMER) -> OutgoingMessage:
    """``/start <token>``."""
    return await invites.consent_request(practice.uow, practice.clock, actor=actor, token=token)


async def consent(
    practice: Practice, token: str, *, agreed: bool = True, actor: int = NEWCOMER
) -> ConsentOutcome:
    return await invites.answer_consent(
        practice.uow, practice.clock, POLICY, actor=actor, token=token, agreed=agreed, locale="en"
    )


async def stored_invite(practice: Practice, invite_id: int) -> Invite:
    async with practice.uow() as uow:
        found = await uow.invites.get(invite_id)
    assert found is not None
    return found


async def everything_stored(engine: AsyncEngine) -> list[tuple[str, tuple[object, ...]]]:
    """Every row of every table, as (table, values)."""
    found = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (
                await connection.execute(select(table).order_by(*table.primary_key.columns))
            ).all()
            found += [(table.name, tuple(row)) for row in rows]
    return found


# --- invites and consent ------------------------------------------------------------------------


async def test_the_invite_token_is_stored_only_as_its_hash(practice: Practice) -> None:
    new = await new_invite(practice)

    link = invites.invite_answer(new, "stillpoint_bot")

    assert f"https://t.me/stillpoint_bot?start={new.token}" in shown(link)
    assert button_data(link) == [None, callbacks.revoke_invite(new.invite.id)]
    stored = await everything_stored(practice.engine)
    assert not [row for row in stored if new.token in repr(row)]
    async with practice.engine.connect() as connection:
        row = (await connection.execute(select(InviteRow.__table__))).mappings().one()
    assert row["token_hash"] == hashlib.sha256(new.token.encode()).hexdigest()
    assert (new.client.status, new.client.telegram_user_id) == (INVITED, None)
    assert new.invite.expires_at == NOW + timedelta(days=7)


async def test_an_invite_works_once(practice: Practice) -> None:
    new = await new_invite(practice)
    assert (await consent(practice, new.token)).answer.text.key == "consent.welcome"

    opened_again = await open_link(practice, new.token, actor=GUEST)
    agreed_again = await consent(practice, new.token, actor=GUEST)

    assert opened_again.text.key == "invite.link_used"
    assert (agreed_again.answer.text.key, agreed_again.joined) == ("invite.link_used", None)
    async with practice.uow() as uow:
        assert await uow.clients.by_telegram_id(GUEST) == []
        assert [c.telegram_user_id for c in await uow.clients.by_telegram_id(NEWCOMER)] == [
            NEWCOMER
        ]


async def test_an_invite_expires_after_its_lifetime(practice: Practice) -> None:
    new = await new_invite(practice)
    practice.clock.current = NOW + timedelta(days=7) - timedelta(minutes=1)
    assert (await open_link(practice, new.token)).text.key == "consent.request"

    practice.clock.current = NOW + timedelta(days=7)

    assert (await open_link(practice, new.token)).text.key == "invite.link_expired"
    late = await consent(practice, new.token)
    assert (late.answer.text.key, late.joined) == ("invite.link_expired", None)
    async with practice.uow() as uow:
        assert await uow.clients.by_telegram_id(NEWCOMER) == []


async def test_a_revoked_invite_no_longer_works(practice: Practice) -> None:
    new = await new_invite(practice)

    answer = await invites.revoke(
        practice.uow, practice.clock, actor=PRACTITIONER, invite_id=new.invite.id
    )

    assert answer.text.key == "invite.revoked"
    assert (await stored_invite(practice, new.invite.id)).revoked_at == NOW
    assert (await open_link(practice, new.token)).text.key == "invite.link_revoked"
    assert (await consent(practice, new.token)).answer.text.key == "invite.link_revoked"
    again = await invites.revoke(
        practice.uow, practice.clock, actor=PRACTITIONER, invite_id=new.invite.id
    )
    assert again.text.key == "invite.revoke_revoked"
    listed = await invites.open_invites(practice.uow, practice.clock, actor=PRACTITIONER)
    assert listed.text.key == "invite.none_open"


async def test_revoking_another_practitioners_invite_is_refused_and_audited(
    practice: Practice,
) -> None:
    await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    theirs = await new_invite(practice, "Neighbour Client", actor=OTHER_PRACTITIONER)

    answer = await refused(
        invites.revoke(practice.uow, practice.clock, actor=PRACTITIONER, invite_id=theirs.invite.id)
    )

    assert answer.key == "access.not_found"
    assert (await stored_invite(practice, theirs.invite.id)).revoked_at is None
    assert (await open_link(practice, theirs.token)).text.key == "consent.request"
    [entry] = await refusals(practice.uow)
    assert (entry.actor_telegram_id, entry.subject_type, entry.subject_id) == (
        PRACTITIONER,
        "invite",
        theirs.invite.id,
    )
    assert entry.detail == {"action": "invite.revoke", "reason": "not their invite"}


@pytest.mark.parametrize(
    "token", ["A" * 32, "nope", "../../etc/passwd", "x" * 65, "ÄÖÜ" * 8, "<b>hi</b>" * 3]
)
async def test_a_made_up_token_is_unknown_and_stores_nothing(
    practice: Practice, token: str
) -> None:
    before = await everything_stored(practice.engine)

    opened = await open_link(practice, token)
    agreed = await consent(practice, token)

    assert opened.text.key == "invite.link_unknown"
    assert (agreed.answer.text.key, agreed.joined) == ("invite.link_unknown", None)
    assert await everything_stored(practice.engine) == before


async def test_the_practitioner_opening_their_own_link_changes_nothing(
    practice: Practice,
) -> None:
    new = await new_invite(practice)
    before = await everything_stored(practice.engine)

    opened = await open_link(practice, new.token, actor=PRACTITIONER)
    agreed = await consent(practice, new.token, actor=PRACTITIONER)

    assert opened.text.key == "invite.own_link"
    assert (agreed.answer.text.key, agreed.joined) == ("invite.own_link", None)
    assert await everything_stored(practice.engine) == before


async def test_a_second_invite_for_the_same_waiting_client_replaces_the_first(
    practice: Practice,
) -> None:
    first = await new_invite(practice, "Second Client")

    second = await new_invite(practice, "  second   CLIENT ")

    assert second.client.id == first.client.id
    assert (await stored_invite(practice, first.invite.id)).revoked_at == NOW
    assert (await open_link(practice, first.token)).text.key == "invite.link_revoked"
    assert (await open_link(practice, second.token)).text.key == "consent.request"
    async with practice.uow() as uow:
        clients = await uow.clients.for_practitioner(practice.practitioner.id)
    assert [c.full_name for c in clients] == ["Sample Client", "Second Client"]
    listed = await invites.open_invites(practice.uow, practice.clock, actor=PRACTITIONER)
    assert button_data(listed) == [callbacks.revoke_invite(second.invite.id)]


async def test_opening_a_link_asks_for_consent_and_stores_nothing(practice: Practice) -> None:
    new = await new_invite(practice)
    before = await everything_stored(practice.engine)

    answer = await open_link(practice, new.token)

    assert answer.text.key == "consent.request"
    assert "Sixth Client" in shown(answer)
    assert button_data(answer) == [
        callbacks.consent(True, new.token),
        callbacks.consent(False, new.token),
    ]
    assert await everything_stored(practice.engine) == before


async def test_declining_stores_nothing_about_the_user_closes_the_link_and_tells_the_practitioner(
    practice: Practice,
) -> None:
    new = await new_invite(practice)

    first = await consent(practice, new.token, agreed=False)
    second = await consent(practice, new.token, agreed=False)

    assert [first.answer.text.key, second.answer.text.key] == [
        "consent.declined",
        "invite.link_revoked",
    ]
    assert (first.joined, second.joined) == (None, None)
    async with practice.uow() as uow:
        clients = await uow.clients.for_practitioner(practice.practitioner.id)
        audit = await uow.audit.recent()
    assert [(c.full_name, c.telegram_user_id, c.status) for c in clients] == [
        ("Sample Client", CLIENT, ClientStatus.ACTIVE),
        ("Second Client", None, INVITED),
    ]
    assert [e for e in audit if e.actor_telegram_id == NEWCOMER] == []
    rows = await outbox_rows(practice.engine)
    assert [r for r in rows if r.chat_id == NEWCOMER] == []
    [told] = notices_to(rows, PRACTITIONER)
    assert (told.template, told.payload["params"]) == (
        "invite.practitioner_declined",
        {"client": "Second Client"},
    )
    assert not [row for row in await everything_stored(practice.engine) if NEWCOMER in row[1]]
    # "No thanks" closed the link: nobody else can use it now.
    assert (await open_link(practice, new.token)).text.key == "invite.link_revoked"
    assert (await consent(practice, new.token, actor=NEWCOMER + 1)).joined is None


async def test_a_joined_client_cannot_take_over_another_clients_invite(
    practice: Practice,
) -> None:
    new = await new_invite(practice, "Second Client")

    opened = await open_link(practice, new.token, actor=CLIENT)
    tapped = await consent(practice, new.token, actor=CLIENT)

    assert opened.text.key == tapped.answer.text.key == "invite.already_joined"
    assert tapped.joined is None
    async with practice.uow() as uow:
        [mine] = await uow.clients.by_telegram_id(CLIENT)
    assert (mine.full_name, mine.status) == ("Sample Client", ClientStatus.ACTIVE)
    # The link still works for the person it was made for.
    joined = (await consent(practice, new.token)).joined
    assert joined is not None
    assert (joined.full_name, joined.telegram_user_id) == ("Second Client", NEWCOMER)


async def test_agreeing_links_the_account_and_tells_the_practitioner(practice: Practice) -> None:
    new = await new_invite(practice)

    outcome = await consent(practice, new.token)

    assert outcome.answer.text.key == "consent.welcome"
    assert outcome.answer.text.params["timezone"] == BERLIN
    joined = outcome.joined
    assert joined is not None
    assert (joined.id, joined.telegram_user_id, joined.status, joined.consented_at) == (
        new.client.id,
        NEWCOMER,
        ClientStatus.ACTIVE,
        NOW,
    )
    assert (await stored_invite(practice, new.invite.id)).used_at == NOW
    [told] = notices_to(await outbox_rows(practice.engine), PRACTITIONER)
    assert (told.template, told.payload["params"], told.state) == (
        "invite.practitioner_joined",
        {"client": "Second Client"},
        OutboxState.PENDING,
    )
    async with practice.uow() as uow:
        assert (await uow.audit.recent(1))[0].action == "client.joined"
    # and now the practitioner can book them
    assert (await book_line(practice, "Second")).text.key == "booking.booked"


async def test_an_invite_is_used_once_even_when_two_people_agree_at_once(
    practice: Practice,
) -> None:
    new = await new_invite(practice)

    outcomes = await asyncio.gather(
        consent(practice, new.token, actor=NEWCOMER), consent(practice, new.token, actor=GUEST)
    )

    keys = sorted(o.answer.text.key for o in outcomes)
    assert keys == ["consent.welcome", "invite.link_used"]
    [welcomed] = [o.joined for o in outcomes if o.joined is not None]
    async with practice.uow() as uow:
        second_client = await uow.clients.get(new.client.id)
    assert second_client is not None
    assert second_client.telegram_user_id == welcomed.telegram_user_id


async def test_a_guest_cannot_make_invites_and_is_counted_not_audited(
    practice: Practice,
) -> None:
    """Anyone can send commands: a stranger's refusals must not grow the audit log."""
    before = STRANGER_REFUSALS["invite.create"]
    for _ in range(50):
        answer = await refused(new_invite(practice, "Second Client", actor=GUEST))
        assert answer.key == "access.practitioners_only"

    async with practice.uow() as uow:
        assert len(await uow.clients.for_practitioner(practice.practitioner.id)) == 1
    assert await refusals(practice.uow) == []
    assert STRANGER_REFUSALS["invite.create"] == before + 50


async def test_a_client_trying_a_practitioner_command_is_audited(practice: Practice) -> None:
    await refused(new_invite(practice, "Second Client", actor=CLIENT))

    [entry] = await refusals(practice.uow)
    assert (entry.actor_telegram_id, entry.detail) == (
        CLIENT,
        {"action": "invite.create", "reason": "not a practitioner"},
    )


async def test_an_invite_needs_a_name(practice: Practice) -> None:
    answer = await refused(new_invite(practice, "   "))

    assert answer.key == "invite.name_needed"
    async with practice.uow() as uow:
        assert len(await uow.clients.for_practitioner(practice.practitioner.id)) == 1


# --- other people's records ---------------------------------------------------------------------


async def test_booking_another_practitioners_client_by_id_is_refused(practice: Practice) -> None:
    other = await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    theirs = await add_client(practice.uow, other, "Neighbour Client", OTHER_CLIENT)
    press = BookPress(theirs.id, "20261204", "1100")

    answer = await refused(
        booking.guided_step(practice.uow, practice.clock, POLICY, actor=PRACTITIONER, press=press)
    )

    assert answer.key == "access.not_found"
    assert await sessions_of(practice.uow, practice.practitioner) == []
    assert await sessions_of(practice.uow, other) == []
    assert await outbox_rows(practice.engine) == []
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
    rows_before = await outbox_rows(practice.engine)

    answer = await refused(
        client_press(practice, appointment, SessionAction.CONFIRM, actor=OTHER_CLIENT)
    )

    assert answer.key == "access.not_found"
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    assert await outbox_rows(practice.engine) == rows_before
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
    rows_before = await outbox_rows(practice.engine)

    answer = await refused(
        practitioner_press(practice, appointment, SessionAction.PRACTITIONER_CANCEL, actor=actor)
    )

    assert answer.key == key
    assert (await session(practice.uow, appointment.id)).status is AppointmentStatus.BOOKED
    assert await outbox_rows(practice.engine) == rows_before
    [entry] = await refusals(practice.uow)
    assert entry.actor_telegram_id == actor
    assert entry.detail == {"action": "appointment.pcxy", "reason": reason}


@pytest.mark.parametrize("step", ["show", "set", "pause"])
async def test_a_guest_has_no_client_settings(practice: Practice, step: str) -> None:
    uow, clock = practice.uow, practice.clock
    calls = {
        "show": lambda: client_settings.show_timezone(uow, clock, actor=GUEST),
        "set": lambda: client_settings.set_timezone(uow, clock, POLICY, actor=GUEST, text="Tokyo"),
        "pause": lambda: client_settings.set_paused(uow, clock, POLICY, actor=GUEST, paused=True),
    }

    answer = await refused(calls[step]())

    assert answer.key == "client.not_joined"
    async with uow() as check:
        assert await check.audit.recent() == []
        assert [
            c.timezone for c in await check.clients.for_practitioner(practice.practitioner.id)
        ] == [BERLIN]


# --- a client who sent /stop gets nothing more ---------------------------------------------------


async def pending_to(practice: Practice, chat_id: int) -> list[str]:
    rows = await outbox_rows(practice.engine)
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
    await stop_messages(practice.uow, practice.clock, POLICY.quiet, CLIENT)
    assert await pending_to(practice, CLIENT) == []
    later(practice)

    await practitioner_press(practice, appointment, action, argument)

    assert await pending_to(practice, CLIENT) == []


# --- the practitioner's lists -------------------------------------------------------------------


def listed_clients(message: OutgoingMessage) -> list[str]:
    return [line["params"]["client"] for line in message.text.params["lines"]]


async def test_today_is_the_practitioners_local_today(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    # 09:00 UTC on 1 December is 22:00 on 1 December in Auckland (UTC+13).
    practitioner = await add_practitioner(uow_factory, timezone="Pacific/Auckland")
    starts = {
        "Yesterday": datetime(2026, 11, 30, 10, 0, tzinfo=UTC),  # 30 Nov 23:00 there
        "Early": datetime(2026, 11, 30, 19, 0, tzinfo=UTC),  # 1 Dec 08:00 there
        "Called Off": datetime(2026, 12, 1, 8, 0, tzinfo=UTC),  # 1 Dec 21:00, cancelled
        "Late": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),  # 1 Dec 23:00 there
        "Midnight": datetime(2026, 12, 1, 11, 0, tzinfo=UTC),  # 2 Dec 00:00 there
    }
    for n, (name, starts_at) in enumerate(starts.items()):
        client = await add_client(uow_factory, practitioner, name, 8_100_000_010 + n)
        status = CANCELLED if name == "Called Off" else AppointmentStatus.BOOKED
        await add_session(uow_factory, client, starts_at, status=status)

    answer = await session_lists.sessions_today(uow_factory, clock, actor=PRACTITIONER)

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

    upcoming = await session_lists.sessions_upcoming(
        practice.uow, practice.clock, actor=PRACTITIONER
    )
    today = await session_lists.sessions_today(practice.uow, practice.clock, actor=PRACTITIONER)

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

    answer = await session_lists.client_list(practice.uow, practice.clock, actor=PRACTITIONER)

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
    assert button_data(answer) == [callbacks.book(practice.client.id)]
    text = shown(answer)
    assert "Third Client</b> · invited, not joined yet" in text
    assert "Sample Client</b> · joined · next: Friday 4 December at 11:00" in text


async def all_pages(practice: Practice, name: ListName) -> list[OutgoingMessage]:
    """Every page of a list, by pressing More until there is none."""
    pages = [
        await session_lists.list_page(
            practice.uow, practice.clock, actor=PRACTITIONER, name=name, page=0
        )
    ]
    more = callbacks.list_page(name, len(pages))
    while more in button_data(pages[-1]) and len(pages) < 10:
        press = callbacks.parse_list_page(more)
        assert press == (name, len(pages))
        pages.append(
            await session_lists.list_page(
                practice.uow, practice.clock, actor=PRACTITIONER, name=name, page=press[1]
            )
        )
        more = callbacks.list_page(name, len(pages))
    return pages


def assert_pages_fit(pages: list[OutgoingMessage], total: int) -> None:
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
    past_the_end = await session_lists.client_list(
        practice.uow, practice.clock, actor=PRACTITIONER, page=99
    )
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


# --- the client's settings ----------------------------------------------------------------------


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

    answer = await client_settings.set_timezone(
        practice.uow, practice.clock, POLICY, actor=CLIENT, text="Tokyo"
    )

    assert (answer.text.key, answer.text.params["timezone"]) == ("timezone.changed", "Asia/Tokyo")
    async with practice.uow() as uow:
        stored = await uow.clients.get(practice.client.id)
    assert stored is not None
    assert stored.timezone == "Asia/Tokyo"
    rows = await outbox_rows(practice.engine)
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

    paused = await client_settings.set_paused(
        practice.uow, practice.clock, POLICY, actor=CLIENT, paused=True
    )
    again = await client_settings.set_paused(
        practice.uow, practice.clock, POLICY, actor=CLIENT, paused=True
    )

    assert (paused.text.key, again.text.key) == ("checkins.paused", "checkins.already_paused")
    async with practice.uow() as uow:
        stored = await uow.clients.get(practice.client.id)
    assert stored is not None
    assert stored.checkins_paused
    rows = await outbox_rows(practice.engine)
    assert [r.state for r in rows if r.kind is OutboxKind.CHECKIN] == [OutboxState.CANCELLED] * 2
    assert len(reminders(rows)) == 2
    resumed = await client_settings.set_paused(
        practice.uow, practice.clock, POLICY, actor=CLIENT, paused=False
    )
    assert resumed.text.key == "checkins.resumed"


async def test_show_timezone_names_the_clients_zone(practice: Practice) -> None:
    answer = await client_settings.show_timezone(practice.uow, practice.clock, actor=CLIENT)

    assert answer.text.params["timezone"] == BERLIN
    assert "10:00" in shown(answer)
