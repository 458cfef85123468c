"""Invite links and consent: a link works once, until it expires or is revoked; opening it
or declining stores nothing about the user; agreeing links the account; only the
practitioner who made it may revoke it, and only practitioners may make one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import callbacks
from bot.domain.models import ClientStatus, OutboxState
from bot.services.access import STRANGER_REFUSALS
from bot.services.practice import invites
from tests.unit.services.support import (
    BERLIN,
    CLIENT,
    GUEST,
    INVITED,
    NEWCOMER,
    NOW,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    add_practitioner,
    book_line,
    button_data,
    consent,
    everything_stored,
    new_invite,
    notices_to,
    open_link,
    outbox_rows,
    refusals,
    refused,
    shown,
    stored_invite,
)


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
        practice.ctx,
        actor=PRACTITIONER,
        invite_id=new.invite.id,
    )

    assert answer.text.key == "invite.revoked"
    assert (await stored_invite(practice, new.invite.id)).revoked_at == NOW
    assert (await open_link(practice, new.token)).text.key == "invite.link_revoked"
    assert (await consent(practice, new.token)).answer.text.key == "invite.link_revoked"
    again = await invites.revoke(
        practice.ctx,
        actor=PRACTITIONER,
        invite_id=new.invite.id,
    )
    assert again.text.key == "invite.revoke_revoked"
    listed = await invites.open_invites(practice.ctx, actor=PRACTITIONER)
    assert listed.text.key == "invite.none_open"


async def test_revoking_another_practitioners_invite_is_refused_and_audited(
    practice: Practice,
) -> None:
    await add_practitioner(practice.uow, OTHER_PRACTITIONER)
    theirs = await new_invite(practice, "Neighbour Client", actor=OTHER_PRACTITIONER)

    answer = await refused(
        invites.revoke(
            practice.ctx,
            actor=PRACTITIONER,
            invite_id=theirs.invite.id,
        )
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
    before = everything_stored(practice.db)

    opened = await open_link(practice, token)
    agreed = await consent(practice, token)

    assert opened.text.key == "invite.link_unknown"
    assert (agreed.answer.text.key, agreed.joined) == ("invite.link_unknown", None)
    assert everything_stored(practice.db) == before


async def test_the_practitioner_opening_their_own_link_changes_nothing(
    practice: Practice,
) -> None:
    new = await new_invite(practice)
    before = everything_stored(practice.db)

    opened = await open_link(practice, new.token, actor=PRACTITIONER)
    agreed = await consent(practice, new.token, actor=PRACTITIONER)

    assert opened.text.key == "invite.own_link"
    assert (agreed.answer.text.key, agreed.joined) == ("invite.own_link", None)
    assert everything_stored(practice.db) == before


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
    listed = await invites.open_invites(practice.ctx, actor=PRACTITIONER)
    assert button_data(listed) == [callbacks.revoke_invite(second.invite.id)]


async def test_opening_a_link_asks_for_consent_and_stores_nothing(practice: Practice) -> None:
    new = await new_invite(practice)
    before = everything_stored(practice.db)

    answer = await open_link(practice, new.token)

    assert answer.text.key == "consent.request"
    assert "Sixth Client" in shown(answer)
    assert button_data(answer) == [
        callbacks.consent(True, new.token),
        callbacks.consent(False, new.token),
    ]
    assert everything_stored(practice.db) == before


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
    rows = outbox_rows(practice)
    assert [r for r in rows if r.chat_id == NEWCOMER] == []
    [told] = notices_to(rows, PRACTITIONER)
    assert (told.template, told.payload["params"]) == (
        "invite.practitioner_declined",
        {"client": "Second Client"},
    )
    assert not [row for row in everything_stored(practice.db) if NEWCOMER in row[1]]
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
    [told] = notices_to(outbox_rows(practice), PRACTITIONER)
    assert (told.template, told.payload["params"], told.state) == (
        "invite.practitioner_joined",
        {"client": "Second Client"},
        OutboxState.PENDING,
    )
    async with practice.uow() as uow:
        assert (await uow.audit.recent(1))[0].action == "client.joined"
    # and now the practitioner can book them
    assert (await book_line(practice, "Second")).text.key == "booking.booked"


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
