"""What reaches the check-in conversation through the real application (offline Bot API,
fake database): words and their edits, presses that redraw the check-in, media, captions."""

from __future__ import annotations

from bot.domain import callbacks
from bot.domain.aftercare import BODY_AREAS
from bot.domain.callbacks import CheckInAction
from bot.domain.models import CheckInStep, TriageLevel
from bot.services.checkins import views
from messages import render
from tests.fakes import FakeDatabase
from tests.unit.checkins.support import (
    CLIENT,
    GUEST,
    Bot,
    add_checkin,
    message,
    open_aftercare,
    replies_of,
    user,
)


async def test_a_clients_words_and_edits_reach_the_conversation_and_others_the_fallbacks(
    db: FakeDatabase, bot: Bot
) -> None:
    world = await open_aftercare(db)
    await add_checkin(world)

    [calm] = await bot.feed({"message": message(CLIENT, 41, text="feeling sleepy")})
    [crisis] = await bot.feed(
        {"edited_message": {**message(CLIENT, 41, text="I want to die"), "edit_date": 1}}
    )
    [guest] = await bot.feed({"message": message(GUEST, 42, text="I am so tired")})
    assert (
        await bot.feed({"edited_message": {**message(GUEST, 42, text="x"), "edit_date": 1}}) == []
    )

    assert calm.params["text"] == render("checkin.noted_open")
    assert crisis.method == "sendMessage"
    assert "TelefonSeelsorge" in crisis.params["text"]
    assert crisis.params["parse_mode"] == "HTML"
    assert guest.params["text"] == render("input.free_text_guest")
    assert [(r.telegram_message_id, r.version) for r in await replies_of(world)] == [
        (41, 1),
        (41, 2),
    ]


async def test_a_press_edits_the_check_in_in_place_and_media_gets_a_kind_ask(
    db: FakeDatabase, bot: Bot
) -> None:
    world = await open_aftercare(db)
    checkin = await add_checkin(world, step=CheckInStep.AREAS)
    picker = views.areas_question(checkin.id, {0})
    keyboard = [
        [{"text": "area", "callback_data": b.callback_data} for b in row] for row in picker.buttons
    ]
    done = callbacks.checkin(checkin.id, CheckInAction.AREAS_DONE)
    sent = message(CLIENT, 51, text="Where?", reply_markup={"inline_keyboard": keyboard})
    sent["from"] = {"id": 7000, "is_bot": True, "first_name": "Stillpoint"}

    calls = await bot.feed(
        {
            "callback_query": {
                "id": "q1",
                "chat_instance": "c",
                "data": done,
                "from": user(CLIENT),
                "message": sent,
            }
        }
    )
    [photo] = await bot.feed(
        {
            "message": message(
                CLIENT, 52, photo=[{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
            )
        }
    )

    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    assert calls[1].params["text"] == render("checkin.text_question")
    [reply] = await replies_of(world)
    assert reply.body_areas == (BODY_AREAS[0],)
    assert photo.params["text"] == render("checkin.not_text")


async def test_a_caption_is_read_as_words_and_crisis_words_in_it_get_their_answer_and_alert(
    db: FakeDatabase, bot: Bot
) -> None:
    world = await open_aftercare(db)
    await add_checkin(world, step=CheckInStep.TEXT)
    photo = [{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
    [crisis] = await bot.feed(
        {"message": message(CLIENT, 61, photo=photo, caption="I want to die, this is me tonight")}
    )
    assert "TelefonSeelsorge" in crisis.params["text"]
    # An edited caption is a new version of the words (answered only if more worrying).
    edit = message(CLIENT, 61, photo=photo, caption="sorry, feeling a bit calmer now")
    assert await bot.feed({"edited_message": {**edit, "edit_date": 1}}) == []
    stored = await replies_of(world)
    assert [(r.telegram_message_id, r.version, r.triage_level) for r in stored] == [
        (61, 1, TriageLevel.URGENT),
        (61, 2, TriageLevel.NONE),
    ]
    assert await db.flags.open_for_practitioner(world.client.practitioner_id)
