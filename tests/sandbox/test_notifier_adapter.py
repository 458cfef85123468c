"""The Telegram adapter's Notifier over real HTTP: rendering, buttons, and every error class."""

import pytest
from telegram import Bot

import messages
from bot.domain.delivery import (
    MessageRejected,
    RateLimited,
    RecipientUnreachable,
    TemporaryFailure,
)
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.sandbox import SandboxClient
from bot.sandbox.text import message_text
from bot.telegram.notifier import TelegramNotifier

NOTICE = OutgoingMessage(
    Text("stop.practitioner_notice", {"client": "Client <&>"}),
    buttons=((Button(Text("erase.confirm_button"), "erase:yes"),),),
    silent=True,
)


async def test_a_message_arrives_rendered_in_the_readers_language(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    sent = await TelegramNotifier(bot).send(user, NOTICE, "de")
    assert sent.chat_id == user
    [message] = await client.messages(user, after=sent.message_id - 1)
    assert message["message_id"] == sent.message_id
    html = messages.render("stop.practitioner_notice", "de", client="Client <&>")
    assert message["text"] == message_text(html, "HTML").text
    assert "Client <&> hat /stop gesendet" in message["text"]
    assert message["buttons"] == [
        [{"text": messages.render_plain("erase.confirm_button", "de"), "data": "erase:yes"}]
    ]
    assert message["silent"] is True


async def test_a_blocked_user_is_unreachable(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.block(user)
    with pytest.raises(RecipientUnreachable, match="blocked"):
        await TelegramNotifier(bot).send(user, NOTICE, "en")


async def test_a_chat_that_was_never_opened_is_unreachable(bot: Bot, client: SandboxClient) -> None:
    never_wrote = await client.create_user("Never Wrote")
    for chat_id in (never_wrote, 123_456_789_012):
        with pytest.raises(RecipientUnreachable, match=r"(?i)chat not found"):
            await TelegramNotifier(bot).send(chat_id, NOTICE, "en")


@pytest.mark.parametrize(
    ("code", "expected"), [(429, RateLimited), (500, TemporaryFailure), (400, MessageRejected)]
)
async def test_injected_faults_map_to_what_to_do(
    bot: Bot, client: SandboxClient, user: int, code: int, expected: type[Exception]
) -> None:
    await client.fault("sendMessage", code, retry_after=7 if code == 429 else None, user_id=user)
    with pytest.raises(expected) as caught:
        await TelegramNotifier(bot).send(user, NOTICE, "en")
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    "message",
    [
        OutgoingMessage(Text("no.such.template")),
        OutgoingMessage(Text("stop.practitioner_notice")),  # its {client} is missing
        OutgoingMessage(Text("stop.done"), ((Button(Text("erase.kept"), "x" * 65),),)),
    ],
)
async def test_a_message_that_cannot_be_rendered_is_rejected_before_sending(
    bot: Bot, client: SandboxClient, user: int, message: OutgoingMessage
) -> None:
    before = (await client.stats())["calls"].get("sendMessage", 0)
    with pytest.raises(MessageRejected, match="cannot render"):
        await TelegramNotifier(bot).send(user, message, "en")
    assert (await client.stats())["calls"].get("sendMessage", 0) == before
