import messages
from bot.domain import callbacks
from bot.domain.models import Client, ClientStatus, Practitioner
from bot.services.practice.practitioners import ensure_configured
from tests.fakes import FixedClock
from tests.handlers.conftest import GUEST_ID, PRACTITIONER_ID, Harness

CLIENT_TG = 3131


async def _practitioner(harness: Harness) -> None:
    await ensure_configured(
        harness.db, [PRACTITIONER_ID], timezone="UTC", locale="en", clock=FixedClock()
    )


async def _press(harness: Harness, data: str, user_id: int = PRACTITIONER_ID) -> None:
    await harness.feed(
        {
            "callback_query": {
                "id": "q1",
                "chat_instance": "c",
                "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": "User"},
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": user_id, "type": "private"},
                    "text": "?",
                },
            }
        }
    )


async def _digest(harness: Harness) -> bool:
    practitioner = await harness.db.practitioners.by_telegram_id(PRACTITIONER_ID)
    assert practitioner is not None
    return practitioner.digest


async def test_settings_show_the_digest_and_its_button_turns_it_off_in_place(
    harness: Harness,
) -> None:
    await _practitioner(harness)

    [answer] = await harness.send(PRACTITIONER_ID, "/settings")

    assert "<b>Daily digest:</b> on" in answer
    markup = harness.request.calls[-1].params["reply_markup"]
    assert [b["callback_data"] for b in markup["inline_keyboard"][0]] == [callbacks.digest(False)]

    await _press(harness, callbacks.digest(False))

    edit = harness.request.calls[-1]
    assert edit.method == "editMessageText"
    assert "<b>Daily digest:</b> off" in edit.params["text"]
    assert edit.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        callbacks.digest(True)
    )
    assert await _digest(harness) is False


async def test_a_malformed_digest_press_is_answered_as_stale(harness: Harness) -> None:
    await _practitioner(harness)

    await _press(harness, "st:digest:maybe")

    call = harness.request.calls[-1]
    assert call.method == "answerCallbackQuery"
    assert call.params["text"] == messages.render("input.stale_button")
    assert await _digest(harness) is True


async def test_a_client_and_a_guest_get_what_other_practitioner_commands_answer(
    harness: Harness,
) -> None:
    practitioner = await harness.db.practitioners.add(Practitioner(0, 55, "P", "UTC"))
    await harness.db.clients.add(
        Client(0, practitioner.id, "Client", ClientStatus.ACTIVE, "UTC", telegram_user_id=CLIENT_TG)
    )
    for user_id in (CLIENT_TG, GUEST_ID):
        assert await harness.send(user_id, "/settings") == await harness.send(user_id, "/clients")
        assert await harness.send(user_id, "/settings") == [
            messages.render("access.practitioners_only")
        ]
