"""``stillpoint sandbox`` as a subprocess, driven only through the control API."""

import pytest

import messages
from bot.sandbox.client import SandboxClient

pytestmark = pytest.mark.e2e


async def _answer(sandbox: SandboxClient, user_id: int, text: str) -> str:
    sent = await sandbox.send(user_id, text)
    [reply] = await sandbox.wait_for_messages(user_id, after=sent)
    return str(reply["text"])


async def test_a_newcomer_gets_start_help_and_privacy(sandbox: SandboxClient) -> None:
    user = await sandbox.create_user("Client", language_code="en")
    assert "use the invite link" in await _answer(sandbox, user, "/start")
    assert "/privacy" in await _answer(sandbox, user, "/help")
    privacy = await _answer(sandbox, user, "/privacy")
    assert "Only your own practitioner" in privacy
    assert "/erase" in privacy


async def test_the_sandbox_practitioner_is_recognised(sandbox: SandboxClient) -> None:
    info = await sandbox.info()
    answer = await _answer(sandbox, info["practitioner_user_id"], "/start")
    assert "registered as a practitioner" in answer


async def test_command_menus_are_published_per_scope(sandbox: SandboxClient) -> None:
    info = await sandbox.info()
    user = await sandbox.create_user("Client")
    await _answer(sandbox, user, "/help")  # the bot is up and has published its menus
    scopes = await sandbox.commands()
    private = {
        entry["language_code"] or "": entry["commands"]
        for entry in scopes
        if entry["scope"]["type"] == "all_private_chats"
    }
    assert set(private) == {"", "de"}
    assert [c["command"] for c in private[""]] == ["start", "help", "privacy"]
    assert private["de"][1] == {"command": "help", "description": "Was ich kann"}
    # Telegram knows no chat with a practitioner who never opened the bot: their own
    # menu is set when they press Start.
    practitioner = info["practitioner_user_id"]
    assert not [e for e in scopes if e["scope"].get("chat_id") == practitioner]
    await _answer(sandbox, practitioner, "/start")
    chats = [e for e in await sandbox.commands() if e["scope"].get("chat_id") == practitioner]
    assert chats, "the practitioner's own menu is set in their chat"


async def test_markup_and_media_are_handled_kindly(sandbox: SandboxClient) -> None:
    user = await sandbox.create_user("Client")
    answer = await _answer(sandbox, user, "/nosuch<b>&</b>")
    assert answer == messages.render_plain("input.unknown_command", command="/nosuch<b>&</b>")
    answer = await _answer(sandbox, user, "<b>bold</b> & <i>")
    assert answer == messages.render_plain("input.free_text_guest")
    sent = await sandbox.send_media(user, "sticker")
    [reply] = await sandbox.wait_for_messages(user, after=sent)
    assert reply["text"] == messages.render_plain("input.not_text")


async def test_a_group_hears_once_that_the_bot_works_in_private(sandbox: SandboxClient) -> None:
    member = await sandbox.create_user("Client")
    group = await sandbox.create_group("Practice team", member)
    command = await sandbox.group_send(group, member, "/start")
    [reply] = await sandbox.wait_for_messages(group, after=command)
    assert reply["text"] == messages.render_plain("input.group_chat")
    chatter = await sandbox.group_send(group, member, "hello everyone")
    follow_up = await sandbox.send(member, "/help")  # the bot has read the group by now
    await sandbox.wait_for_messages(member, after=follow_up)
    assert [
        m for m in await sandbox.chat_messages(group, after=chatter) if m["from"] == "bot"
    ] == []
