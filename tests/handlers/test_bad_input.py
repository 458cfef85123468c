import dataclasses
import logging

import pytest

import messages
from bot.runtime import install, runtime_of
from tests.handlers.conftest import GUEST_ID, Harness

GROUP = {"id": -100123, "type": "supergroup", "title": "Practice team"}


async def test_markup_in_an_unknown_command_is_shown_literally(harness: Harness) -> None:
    [answer] = await harness.send(GUEST_ID, "/<b>&amp;<i>")
    assert "/&lt;b&gt;&amp;amp;&lt;i&gt;" in answer
    assert "<b>" not in answer
    assert "<i>" not in answer


async def test_a_sticker_gets_a_kind_request_for_words(harness: Harness) -> None:
    sticker = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    [answer] = await harness.send(GUEST_ID, sticker=sticker)
    assert answer == messages.render("input.not_text")


async def test_a_photo_gets_a_kind_request_for_words_and_its_caption_is_read(
    harness: Harness,
) -> None:
    photo = [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]
    [answer] = await harness.send(GUEST_ID, photo=photo)
    assert answer == messages.render("input.not_text")
    # A caption is words: a guest's are answered as any words of theirs.
    [answer] = await harness.send(GUEST_ID, photo=photo, caption="my shoulder")
    assert answer == messages.render("input.free_text_guest")


async def test_a_very_long_message_is_answered_not_echoed(harness: Harness) -> None:
    [answer] = await harness.send(GUEST_ID, "ache " * 2000)
    assert answer == messages.render("input.too_long", limit=4096)


async def test_group_commands_get_one_answer_and_chatter_is_ignored(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert await harness.send(GUEST_ID, "/start", chat=GROUP) == [
        messages.render("input.group_chat")
    ]
    assert await harness.send(GUEST_ID, "hello everyone", chat=GROUP) == []
    assert "group chat -100123" in caplog.text
    assert "hello everyone" not in caplog.text


async def test_guest_free_text_points_to_the_invite(harness: Harness) -> None:
    [answer] = await harness.send(GUEST_ID, "<b>hi</b> & welcome")
    assert answer == messages.render("input.free_text_guest")


async def test_an_unknown_button_press_is_answered(harness: Harness) -> None:
    await harness.feed(
        {
            "callback_query": {
                "id": "cb1",
                "chat_instance": "ci",
                "data": "forged:1",
                "from": {"id": GUEST_ID, "is_bot": False, "first_name": "User"},
            }
        }
    )
    call = harness.request.calls[-1]
    assert call.method == "answerCallbackQuery"
    assert call.params["text"] == messages.render("input.stale_button")


async def test_an_edited_command_is_not_run_again(harness: Harness) -> None:
    before = len(harness.request.calls)
    await harness.feed({"edited_message": {**harness.message(GUEST_ID, "/start"), "edit_date": 1}})
    assert harness.request.calls[before:] == []


async def test_a_failing_handler_is_logged_and_the_bot_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("database went away")

    harness.db.clients.by_telegram_id = broken  # type: ignore[method-assign,assignment]
    [apology] = await harness.send(GUEST_ID, "/help")
    assert apology == messages.render("errors.generic")
    assert "error while handling an update" in caplog.text
    [answer] = await harness.send(GUEST_ID, "/privacy")
    assert answer == messages.render("privacy.text", answers_kept="24 months", texts_kept="30 days")


async def test_the_operator_hears_of_an_error_without_the_users_words(harness: Harness) -> None:
    rt = runtime_of(harness.app)
    settings = rt.settings.model_copy(update={"operator_chat_id": 4040})
    install(harness.app, dataclasses.replace(rt, settings=settings))

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    harness.db.clients.by_telegram_id = broken  # type: ignore[method-assign,assignment]
    await harness.send(GUEST_ID, "my private words")
    [alert] = harness.request.sent_texts(4040)
    assert alert == messages.render("operator.bot_error", error="RuntimeError")
    assert "private words" not in alert


async def test_a_user_who_blocked_the_bot_is_one_info_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    harness.request.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert await harness.send(GUEST_ID, "/help") == []
    assert f"chat {GUEST_ID} has blocked the bot" in caplog.text
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert await harness.send(GUEST_ID, "/help") == [messages.render("help.guest")]
