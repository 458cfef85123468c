"""At start-up the bot finds out which alert chats Telegram does not know, and says so once."""

import logging

import pytest
from telegram import Bot

from bot.sandbox import SandboxClient
from bot.telegram.alert_chats import check_alert_chats
from tests.integration import records


async def test_the_operator_hears_once_of_every_chat_alerts_cannot_reach(
    bot: Bot, client: SandboxClient, caplog: pytest.LogCaptureFixture
) -> None:
    started = await client.create_user("Started")
    await client.send(started, "/start")
    never_started = await client.create_user("Never")
    backup = await client.create_user("Backup")
    operator = await client.create_user("Operator")
    await client.send(operator, "/start")
    practitioners = [
        records.practitioner(started, display_name="Ada Started"),
        records.practitioner(never_started, display_name="Bea Never"),
    ]

    unreachable = await check_alert_chats(
        bot, practitioners, backup_chat_id=backup, operator_chat_id=operator
    )

    assert unreachable == ["Bea Never", "the backup contact"]
    [notice] = [m for m in await client.messages(operator) if m["from"] == "bot"]
    assert "Bea Never, the backup contact" in notice["text"]
    assert "Ada" not in notice["text"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("chat not found" in w.lower() for w in warnings)


async def test_all_reachable_is_silent(bot: Bot, client: SandboxClient) -> None:
    practitioner = await client.create_user("Started")
    await client.send(practitioner, "/start")
    operator = await client.create_user("Operator")
    await client.send(operator, "/start")

    unreachable = await check_alert_chats(
        bot,
        [records.practitioner(practitioner)],
        backup_chat_id=None,
        operator_chat_id=operator,
    )

    assert unreachable == []
    assert [m for m in await client.messages(operator) if m["from"] == "bot"] == []
