"""Sending, editing, deleting, forwarding and copying messages through PTB's Bot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    MessageOriginUser,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.sandbox import SandboxClient, SandboxServer
from bot.sandbox.client import SandboxError
from bot.sandbox.media import tiny_png


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


async def test_send_message_returns_telegrams_message(
    bot: Bot, client: SandboxClient, server: SandboxServer, user: int
) -> None:
    message = await bot.send_message(user, "Hello")
    assert message.message_id == 2  # the user's /start is message 1
    assert message.chat.id == user
    assert message.chat.type == "private"
    assert message.chat.first_name == "Client"
    assert message.from_user is not None
    assert message.from_user.id == bot.id
    assert message.from_user.is_bot
    assert message.text == "Hello"
    assert abs((message.date - server.clock.now()).total_seconds()) < 5
    listing = await client.messages(user)
    assert [(m["message_id"], m["from"], m["text"]) for m in listing] == [
        (1, "user", "/start"),
        (2, "bot", "Hello"),
    ]
    assert listing[1]["edited"] is False
    assert listing[1]["silent"] is False


async def test_message_ids_increase_per_chat(bot: Bot, client: SandboxClient, user: int) -> None:
    other = await client.create_user("Other client")
    await client.send(other, "/start")
    first = await bot.send_message(user, "a")
    second = await bot.send_message(user, "b")
    elsewhere = await bot.send_message(other, "c")
    assert (first.message_id, second.message_id, elsewhere.message_id) == (2, 3, 2)


async def test_message_date_follows_the_sandbox_clock(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    before = await bot.send_message(user, "before")
    await client.advance(3 * 86400)
    after = await bot.send_message(user, "after")
    assert after.date - before.date >= timedelta(days=3)


async def test_html_entities_come_back_with_utf16_offsets(bot: Bot, user: int) -> None:
    message = await bot.send_message(
        user, "😀 <b>Feeling</b> <i>&lt;better&gt;</i> é", parse_mode=ParseMode.HTML
    )
    assert message.text == "😀 Feeling <better> é"
    assert message.parse_entities() == {
        MessageEntity("bold", 3, 7): "Feeling",
        MessageEntity("italic", 11, 8): "<better>",
    }


async def test_silent_messages_are_marked(bot: Bot, client: SandboxClient, user: int) -> None:
    await bot.send_message(user, "quiet", disable_notification=True)
    assert (await client.messages(user, after=1))[0]["silent"] is True


async def test_reply_keyboard_is_listed(bot: Bot, client: SandboxClient, user: int) -> None:
    markup = ReplyKeyboardMarkup([["Yes", "No"]], one_time_keyboard=True)
    message = await bot.send_message(user, "Choose", reply_markup=markup)
    assert message.reply_markup is None  # Telegram echoes inline keyboards only
    assert (await client.messages(user, after=1))[0]["keyboard"] == {"keyboard": [["Yes", "No"]]}


async def test_unknown_chat(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(123, "hi")


async def test_a_user_the_bot_has_never_seen_is_chat_not_found(
    bot: Bot, client: SandboxClient
) -> None:
    stranger = await client.create_user("Stranger")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(stranger, "hi")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.get_chat(stranger)


async def test_a_user_seen_only_in_a_group_cannot_be_messaged_first(
    bot: Bot, client: SandboxClient
) -> None:
    member = await client.create_user("Member")
    await client.create_group("Practice team", member)
    with pytest.raises(
        Forbidden, match=r"^Forbidden: bot can't initiate conversation with a user$"
    ):
        await bot.send_message(member, "hi")


async def test_blocked_user(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.block(user)
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(user, "hi")
    with pytest.raises(Forbidden, match=r"blocked"):
        await bot.send_chat_action(user, "typing")
    await client.block(user, blocked=False)
    assert (await bot.send_message(user, "welcome back")).text == "welcome back"


@pytest.mark.parametrize("text", ["", "   ", "<b></b>"])
async def test_empty_text(bot: Bot, user: int, text: str) -> None:
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(user, text, parse_mode=ParseMode.HTML)


async def test_text_length_limit(bot: Bot, user: int) -> None:
    assert len((await bot.send_message(user, "a" * 4096)).text or "") == 4096
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(user, "a" * 4097)


async def test_unparsable_html(bot: Bot, user: int) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(user, "<b>unclosed", parse_mode=ParseMode.HTML)
    assert caught.value.message == (
        "Can't parse entities: can't find end tag corresponding to start tag \"b\""
    )


async def test_callback_data_limit(bot: Bot, user: int) -> None:
    sent = await bot.send_message(user, "ok", reply_markup=keyboard("x" * 64))
    assert sent.reply_markup == keyboard("x" * 64)
    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await bot.send_message(user, "too long", reply_markup=keyboard("x" * 65))


async def test_button_url_must_be_http_or_tg(bot: Bot, user: int) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match=r"^Button_url_invalid$"):
        await bot.send_message(user, "link", reply_markup=markup)


async def test_edit_message_text(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "Draft", reply_markup=keyboard("yes", "no"))
    edited = await bot.edit_message_text(
        "<b>Final</b>", chat_id=user, message_id=sent.message_id, parse_mode="HTML",
        reply_markup=keyboard("yes"),
    )  # fmt: skip
    assert not isinstance(edited, bool)
    assert edited.text == "Final"
    assert edited.edit_date is not None
    assert edited.entities == (MessageEntity("bold", 0, 5),)
    listing = (await client.messages(user, after=1))[0]
    assert (listing["text"], listing["edited"]) == ("Final", True)
    assert listing["buttons"] == [[{"text": "Yes", "data": "yes"}]]


async def test_editing_text_without_markup_removes_the_keyboard(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    sent = await bot.send_message(user, "Pick", reply_markup=keyboard("a"))
    await bot.edit_message_text("Picked", chat_id=user, message_id=sent.message_id)
    assert (await client.messages(user, after=1))[0]["buttons"] == []


async def test_edit_errors(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "Same", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match=r"^Message is not modified: specified new message"):
        await bot.edit_message_text(
            "Same", chat_id=user, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", chat_id=user, message_id=999)
    with pytest.raises(BadRequest, match=r"^Message can't be edited$"):
        await bot.edit_message_text("x", chat_id=user, message_id=1)  # the user's /start
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.edit_message_text(" ", chat_id=user, message_id=sent.message_id)


async def test_edit_reply_markup(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "Pick", reply_markup=keyboard("a"))
    edited = await bot.edit_message_reply_markup(
        chat_id=user, message_id=sent.message_id, reply_markup=keyboard("b")
    )
    assert not isinstance(edited, bool)
    assert edited.reply_markup == keyboard("b")
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=user, message_id=sent.message_id, reply_markup=keyboard("b")
        )
    cleared = await bot.edit_message_reply_markup(chat_id=user, message_id=sent.message_id)
    assert not isinstance(cleared, bool)
    assert cleared.reply_markup is None


async def test_edit_message_caption(bot: Bot, client: SandboxClient, user: int) -> None:
    photo = await bot.send_photo(user, tiny_png(), caption="Before", reply_markup=keyboard("a"))
    edited = await bot.edit_message_caption(
        chat_id=user, message_id=photo.message_id, caption="<i>After</i>", parse_mode="HTML",
        reply_markup=keyboard("a"),
    )  # fmt: skip
    assert not isinstance(edited, bool)
    assert (edited.caption, edited.caption_entities) == ("After", (MessageEntity("italic", 0, 5),))
    listing = (await client.messages(user, after=1))[0]
    assert (listing["text"], listing["edited"], listing["kind"]) == ("After", True, "photo")
    text = await bot.send_message(user, "plain")
    with pytest.raises(BadRequest, match=r"^There is no caption in the message to edit$"):
        await bot.edit_message_caption(chat_id=user, message_id=text.message_id, caption="x")
    with pytest.raises(BadRequest, match=r"^There is no text in the message to edit$"):
        await bot.edit_message_text("x", chat_id=user, message_id=photo.message_id)


async def test_delete_message(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "oops")
    assert await bot.delete_message(user, sent.message_id) is True
    assert [m["message_id"] for m in await client.messages(user)] == [1]
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(user, sent.message_id)


async def test_messages_older_than_48_hours_cannot_be_deleted(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    sent = await bot.send_message(user, "old")
    await client.advance(49 * 3600)
    with pytest.raises(BadRequest, match=r"^Message can't be deleted for everyone$"):
        await bot.delete_message(user, sent.message_id)


async def test_forward_message(bot: Bot, client: SandboxClient, user: int) -> None:
    practitioner = (await client.info())["practitioner_user_id"]
    await client.send(practitioner, "/start")
    note = await client.send(user, "My shoulder feels lighter")
    forwarded = await bot.forward_message(practitioner, from_chat_id=user, message_id=note)
    assert forwarded.text == "My shoulder feels lighter"
    assert isinstance(forwarded.forward_origin, MessageOriginUser)
    assert forwarded.forward_origin.sender_user.id == user
    assert (await client.messages(practitioner, after=1))[0]["forwarded"] is True
    with pytest.raises(BadRequest, match=r"^Message to forward not found$"):
        await bot.forward_message(practitioner, from_chat_id=user, message_id=99)


async def test_copy_message(bot: Bot, client: SandboxClient, user: int) -> None:
    practitioner = (await client.info())["practitioner_user_id"]
    await client.send(practitioner, "/start")
    photo = await client.send_media(user, "photo", caption="bruise")
    copied = await bot.copy_message(
        practitioner, from_chat_id=user, message_id=photo, caption="<i>From a client</i>",
        parse_mode="HTML",
    )  # fmt: skip
    listing = (await client.messages(practitioner, after=copied.message_id - 1))[0]
    assert (listing["kind"], listing["text"], listing["forwarded"]) == (
        "photo",
        "From a client",
        False,
    )
    with pytest.raises(BadRequest, match=r"^Message to copy not found$"):
        await bot.copy_message(practitioner, from_chat_id=user, message_id=99)


async def test_reply_to_message(bot: Bot, client: SandboxClient, user: int) -> None:
    question = await client.send(user, "Is this normal?")
    answer = await bot.send_message(
        user, "Yes, quite normal.", reply_parameters=ReplyParameters(question)
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "Is this normal?"
    assert (await client.messages(user, after=question))[0]["reply_to"] == question
    with pytest.raises(BadRequest, match=r"^Message to be replied not found$"):
        await bot.send_message(user, "?", reply_parameters=ReplyParameters(77))
    loose = await bot.send_message(
        user, "ok", reply_parameters=ReplyParameters(77, allow_sending_without_reply=True)
    )
    assert loose.reply_to_message is None


async def test_send_chat_action(bot: Bot, user: int) -> None:
    assert await bot.send_chat_action(user, "typing") is True
    with pytest.raises(BadRequest, match=r"^Wrong parameter action in request$"):
        await bot.send_chat_action(user, "dancing")


async def test_get_chat(bot: Bot, client: SandboxClient, user: int) -> None:
    chat = await bot.get_chat(user)
    assert (chat.id, chat.type, chat.first_name) == (user, "private", "Client")
    group = await client.create_group("Practice team")
    info = await bot.get_chat(group)
    assert (info.id < 0, info.type, info.title) == (True, "group", "Practice team")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.get_chat(42)


async def test_send_photo_upload_and_file_id(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_photo(user, tiny_png(40, 30), caption="<b>Stretch</b>", parse_mode="HTML")
    assert (sent.photo[-1].width, sent.photo[-1].height) == (40, 30)
    assert sent.caption == "Stretch"
    assert sent.caption_entities == (MessageEntity("bold", 0, 7),)
    again = await bot.send_photo(user, sent.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id
    listing = await client.messages(user, after=1)
    assert [(m["kind"], m["text"]) for m in listing] == [("photo", "Stretch"), ("photo", "")]
    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(user, b"not an image")
    with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
        await bot.send_photo(user, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await bot.send_photo(user, sent.photo[-1].file_id, caption="c" * 1025)


async def test_send_document(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_document(user, b"%PDF-1.4 aftercare", filename="aftercare.pdf")
    assert sent.document is not None
    assert sent.document.file_name == "aftercare.pdf"
    assert sent.document.file_size == len(b"%PDF-1.4 aftercare")
    again = await bot.send_document(user, sent.document.file_id, caption="again")
    assert again.document is not None
    assert again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest, match=r"^Type of file mismatch$"):
        await bot.send_photo(user, sent.document.file_id)
    with pytest.raises(BadRequest, match=r"^File must be non-empty$"):
        await bot.send_document(user, b"", filename="empty.txt")
    assert (await client.messages(user, after=1))[0]["kind"] == "document"


async def test_the_control_api_returns_the_bytes_the_bot_sent(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    await bot.send_document(user, b'{"a": 1}', filename="copy.json")
    await bot.send_photo(user, tiny_png(40, 30))
    *_, document, photo = await client.messages(user)
    assert (document["kind"], document["file_name"]) == ("document", "copy.json")
    assert await client.file(document["file_id"]) == b'{"a": 1}'
    assert photo["kind"] == "photo"
    assert "file_name" not in photo
    assert await client.file(photo["file_id"]) == tiny_png(40, 30)
    with pytest.raises(SandboxError, match="404"):
        await client.file("no-such-file")


async def test_get_file_downloads_the_bytes(bot: Bot, user: int) -> None:
    sent = await bot.send_document(user, b"hello file", filename="a.txt")
    assert sent.document is not None
    info = await bot.get_file(sent.document.file_id)
    assert info.file_size == len(b"hello file")
    assert await info.download_as_bytearray() == bytearray(b"hello file")


async def test_group_messages(bot: Bot, client: SandboxClient) -> None:
    practitioner = (await client.info())["practitioner_user_id"]
    group = await client.create_group("Practice team")
    assert group < 0
    said = await client.group_send(group, practitioner, "/today")
    sent = await bot.send_message(group, "No sessions today.")
    assert sent.chat.id == group
    assert sent.message_id == said + 1
    listing = await client.chat_messages(group)
    assert [(m["from"], m["text"]) for m in listing] == [
        ("user", "/today"),
        ("bot", "No sessions today."),
    ]
    assert listing[0]["user_id"] == practitioner
