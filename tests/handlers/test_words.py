"""Words in a private chat: who wrote is found once, in the one unit of work of the use
case the words are for."""

import messages
from bot.domain.models import Client, ClientStatus, Practitioner
from tests.handlers.conftest import GUEST_ID, PRACTITIONER_ID, Harness

CLIENT_ID = 700


async def _practice(harness: Harness) -> Client:
    practitioner = await harness.db.practitioners.add(
        Practitioner(0, PRACTITIONER_ID, "Practitioner", "UTC")
    )
    return await harness.db.clients.add(
        Client(
            0, practitioner.id, "Client One", ClientStatus.ACTIVE, "UTC", telegram_user_id=CLIENT_ID
        )
    )


async def test_a_clients_words_are_logged_in_one_unit_of_work(harness: Harness) -> None:
    client = await _practice(harness)
    harness.db.opened = 0

    answers = await harness.send(CLIENT_ID, "a little sore in the neck today")

    assert harness.db.opened == 1
    [reply] = await harness.db.replies.for_client(client.id)
    assert reply.text == "a little sore in the neck today"
    assert len(answers) == 1


async def test_a_practitioners_words_without_a_reply_pending_get_the_general_answer(
    harness: Harness,
) -> None:
    await _practice(harness)
    harness.db.opened = 0

    answers = await harness.send(PRACTITIONER_ID, "just a note")

    assert harness.db.opened == 1
    assert answers == [messages.render("input.free_text", "en")]


async def test_a_strangers_words_are_answered_in_one_unit_of_work(harness: Harness) -> None:
    harness.db.opened = 0

    answers = await harness.send(GUEST_ID, "hello?")

    assert harness.db.opened == 1
    assert answers == [messages.render("input.free_text_guest", "en")]


async def test_a_clients_photo_without_words_gets_the_general_answer(harness: Harness) -> None:
    await _practice(harness)
    harness.db.opened = 0
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]

    answers = await harness.send(CLIENT_ID, photo=photo)

    assert harness.db.opened == 1
    assert answers == [messages.render("input.not_text", "en")]
