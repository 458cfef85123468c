"""The client card: who sees it, what it says, its buttons, and History behind it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.domain import callbacks
from bot.domain.callbacks import CardAction
from bot.domain.models import ClientStatus
from bot.services.access import Refused
from bot.services.practice import client_card
from tests.integration import records
from tests.unit.flags.support import (
    CLIENT,
    NOW,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    audit,
    button_data,
)
from tests.unit.practice.support import answered_checkin, plain


async def test_the_card_shows_status_sessions_and_the_last_check_ins(practice: Practice) -> None:
    await answered_checkin(
        practice, NOW - timedelta(hours=30), score=4, day=1, session_at=NOW - timedelta(days=3)
    )
    card = await client_card.card_by_name(practice.ctx, actor=PRACTITIONER, query="sample")

    text = plain(card)
    assert text.startswith(
        "🗂 Sample <i>Client</i>\nStatus: joined\n2 sessions so far\nNo session booked"
    )
    # Newest first; the change is from the check-in before, whichever session it followed.
    assert "The last 2 check-ins" in text
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert lines[0].startswith("• Tue 1 Dec · day 1 · 7/10 (↑3) · worse since the session")
    assert " · neck, head & jaw · " in lines[0]
    assert "“It got <b>worse</b> & I </blockquote> can't sleep”" in lines[0]
    assert lines[0].endswith("🟠 Concern")
    assert lines[1].startswith("• Mon 30 Nov · day 1 · 4/10 · ")
    assert lines[1].endswith("🟢 No concern")
    client_id = practice.client.id
    assert [[b.callback_data for b in row] for row in card.buttons] == [
        [
            callbacks.card(client_id, CardAction.CHART),
            callbacks.card(client_id, CardAction.HISTORY),
        ],
        [callbacks.card(client_id, CardAction.EXPORT), callbacks.book(client_id)],
    ]
    labels = [shown_label for row in card.buttons for shown_label in (b.label.key for b in row)]
    assert labels == [
        "card.button_chart",
        "card.button_history",
        "card.button_export",
        "card.button_book",
    ]
    [viewed] = [e for e in audit(practice) if e.action == "client.card_viewed"]
    assert (viewed.actor_telegram_id, viewed.client_id) == (PRACTITIONER, client_id)


async def test_long_words_are_cut_to_their_first_words(practice: Practice) -> None:
    await answered_checkin(practice, NOW, score=2, text="word " * 100)
    text = plain(
        await client_card.card(practice.ctx, actor=PRACTITIONER, client_id=practice.client.id)
    )
    [line] = [line for line in text.splitlines() if line.startswith("• ") and "2/10" in line]
    assert "word word" in line
    assert "…”" in line
    assert len(line) < 160


async def test_a_name_that_fits_several_gives_a_list_to_pick_from(practice: Practice) -> None:
    anna = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="Anna Berg", telegram_user_id=None)
    )
    other = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="Anna Kohl", telegram_user_id=None)
    )
    pick = await client_card.card_by_name(practice.ctx, actor=PRACTITIONER, query="anna")
    assert pick.text.key == "booking.which_client"
    assert button_data(pick) == [callbacks.card(anna.id), callbacks.card(other.id)]
    one = await client_card.card_by_name(practice.ctx, actor=PRACTITIONER, query="Kohl")
    assert one.text.key == "card.card"
    assert "No check-ins yet." in plain(one)
    with pytest.raises(Refused) as refused:
        await client_card.card_by_name(practice.ctx, actor=PRACTITIONER, query="Nobody")
    assert refused.value.answer.key == "booking.unknown_client"
    usage = await client_card.card_by_name(practice.ctx, actor=PRACTITIONER, query="  ")
    assert usage.text.key == "card.usage"


async def test_only_the_clients_own_practitioner_sees_the_card(practice: Practice) -> None:
    client_id = practice.client.id
    for actor, answer in (
        (OTHER_PRACTITIONER, "access.not_found"),
        (CLIENT, "access.practitioners_only"),
    ):
        for call in (client_card.card, client_card.history):
            with pytest.raises(Refused) as refused:
                await call(practice.ctx, actor=actor, client_id=client_id)
            assert refused.value.answer.key == answer
    with pytest.raises(Refused):
        await client_card.card(practice.ctx, actor=PRACTITIONER, client_id=client_id + 999)
    refusals = [e for e in audit(practice) if e.action == "access.refused"]
    assert {(e.actor_telegram_id, e.detail["reason"]) for e in refusals} == {
        (OTHER_PRACTITIONER, "not their client"),
        (CLIENT, "not a practitioner"),
        (PRACTITIONER, "no such client"),
    }
    assert not [e for e in audit(practice) if e.action == "client.card_viewed"]


async def test_a_client_who_stopped_keeps_a_card_without_their_answers(practice: Practice) -> None:
    await practice.db.clients.update(
        dataclasses.replace(practice.client, status=ClientStatus.STOPPED)
    )
    card = await client_card.card(practice.ctx, actor=PRACTITIONER, client_id=practice.client.id)
    text = plain(card)
    assert "stopped messages" in text
    assert "their answers are no longer shown" in text
    assert "7/10" not in text
    assert card.buttons == ()
    with pytest.raises(Refused) as refused:
        await client_card.history(practice.ctx, actor=PRACTITIONER, client_id=practice.client.id)
    assert refused.value.answer.key == "card.client_stopped"
    [entry] = [e for e in audit(practice) if e.action == "access.refused"]
    assert entry.detail == {"action": "client.history", "reason": "client stopped"}


async def test_history_shows_every_answer_in_full_and_leads_back(practice: Practice) -> None:
    answer = await client_card.history(
        practice.ctx, actor=PRACTITIONER, client_id=practice.client.id
    )
    text = plain(answer)
    assert "Sample <i>Client</i>: the last check-in" in text
    assert "It got <b>worse</b> & I </blockquote> can't sleep" in text
    assert button_data(answer) == [callbacks.card(practice.client.id, CardAction.BACK)]
    [entry] = [e for e in audit(practice) if e.action == "client.history_viewed"]
    assert entry.detail == {"checkins": 1}
