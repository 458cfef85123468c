import messages
from bot.domain.models import Client, ClientStatus, Practitioner
from handlers.privacy import ERASE_CANCEL, ERASE_CONFIRM
from tests.handlers.conftest import Harness

CLIENT_TG = 3131


async def _join(harness: Harness) -> Client:
    practitioner = await harness.db.practitioners.add(Practitioner(0, 55, "P", "UTC"))
    return await harness.db.clients.add(
        Client(0, practitioner.id, "Client", ClientStatus.ACTIVE, "UTC", telegram_user_id=CLIENT_TG)
    )


async def _press(harness: Harness, data: str) -> None:
    await harness.feed(
        {
            "callback_query": {
                "id": "q1",
                "chat_instance": "c",
                "data": data,
                "from": {"id": CLIENT_TG, "is_bot": False, "first_name": "User"},
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": CLIENT_TG, "type": "private"},
                    "text": "?",
                },
            }
        }
    )


async def test_stop_confirms_and_tells_the_practitioner(harness: Harness) -> None:
    await _join(harness)
    assert await harness.send(CLIENT_TG, "/stop") == [messages.render("stop.done")]
    [notice] = harness.db.outbox.pending()
    assert notice.chat_id == 55


async def test_start_after_stop_promises_nothing_that_will_not_come(harness: Harness) -> None:
    await _join(harness)
    [before] = await harness.send(CLIENT_TG, "/start")
    assert before == messages.render("start.client", name="User")
    await harness.send(CLIENT_TG, "/stop")
    [after] = await harness.send(CLIENT_TG, "/start")
    assert after == messages.render("start.client_stopped", name="User")


async def test_stop_from_a_guest_explains_there_is_nothing_to_stop(harness: Harness) -> None:
    assert await harness.send(CLIENT_TG, "/stop") == [messages.render("stop.nothing")]


async def test_erase_asks_first_then_erases_on_confirm(harness: Harness) -> None:
    client = await _join(harness)
    [question] = await harness.send(CLIENT_TG, "/erase")
    assert question == messages.render("erase.ask")
    markup = harness.request.calls[-1].params["reply_markup"]
    assert [b["callback_data"] for b in markup["inline_keyboard"][0]] == [
        ERASE_CONFIRM,
        ERASE_CANCEL,
    ]
    assert await harness.db.clients.get(client.id) is not None
    await _press(harness, ERASE_CONFIRM)
    assert await harness.db.clients.get(client.id) is None
    edit = harness.request.calls[-1]
    assert edit.method == "editMessageText"
    assert edit.params["text"] == messages.render("erase.done")


async def test_erase_cancel_keeps_everything(harness: Harness) -> None:
    client = await _join(harness)
    await _press(harness, ERASE_CANCEL)
    assert await harness.db.clients.get(client.id) == client
    assert harness.request.calls[-1].params["text"] == messages.render("erase.kept")


async def test_erase_for_someone_unknown_says_nothing_is_kept(harness: Harness) -> None:
    assert await harness.send(CLIENT_TG, "/erase") == [messages.render("erase.nothing")]
