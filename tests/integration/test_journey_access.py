"""Invites on real databases: what the database holds of an invite's token, and one invite
used once when two people agree at the same moment.

The rest of who may do, see and receive what (invites and consent, refusals of other
people's records, /stop, the lists, a client's own settings) runs on the in-memory fakes,
in ``tests/unit/services/``.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.tables import Base, InviteRow
from bot.domain import callbacks
from bot.services.practice import invites
from tests.integration.journey_support import Practice
from tests.unit.services.support import (
    GUEST,
    INVITED,
    NEWCOMER,
    NOW,
    button_data,
    consent,
    new_invite,
    shown,
)


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
