"""``stillpoint demo``: a scripted walk-through on the sandbox, printed as a transcript.

It drives the sandbox only through its control API, exactly as a test or a person would.
"""

from __future__ import annotations

import textwrap
from typing import Any

from bot.sandbox.client import SandboxClient

_WIDTH = 76


class Transcript:
    """Prints who said what, as a chat would show it."""

    def __init__(self, client: SandboxClient) -> None:
        self._client = client
        self._seen: dict[int, int] = {}

    def scene(self, title: str) -> None:
        """Start a new part of the story."""
        print(f"\n── {title} " + "─" * max(0, _WIDTH - len(title) - 4))

    async def say(self, user_id: int, name: str, text: str, *, replies: int = 1) -> None:
        """``name`` sends ``text``; print it and the bot's answers."""
        sent = await self._client.send(user_id, text)
        print(f"  {name} ▸ {text}")
        await self._print_replies(user_id, after=sent, count=replies)

    async def send_sticker(self, user_id: int, name: str) -> None:
        """``name`` sends a sticker where words were expected."""
        sent = await self._client.send_media(user_id, "sticker")
        print(f"  {name} ▸ [a sticker]")
        await self._print_replies(user_id, after=sent, count=1)

    async def _print_replies(self, user_id: int, *, after: int, count: int) -> None:
        for message in await self._client.wait_for_messages(user_id, after=after, count=count):
            self._print_bot_message(message)

    @staticmethod
    def _print_bot_message(message: dict[str, Any]) -> None:
        lines = message["text"].splitlines() or [""]
        first = True
        for line in lines:
            for piece in textwrap.wrap(line, _WIDTH - 16) or [""]:
                print(f"  {'Stillpoint ◂' if first else ' ' * 12} {piece}")
                first = False
        for row in message.get("buttons", []):
            print(" " * 15 + "  ".join(f"[{button['text']}]" for button in row))


async def play(sandbox_url: str) -> int:
    """Play the walk-through against a running sandbox; 0 when every answer arrived."""
    async with SandboxClient(sandbox_url) as client:
        info = await client.info()
        practitioner = info["practitioner_user_id"]
        newcomer = await client.create_user("Client", language_code="en")
        transcript = Transcript(client)
        print(
            f"Stillpoint demo: the real bot over HTTP, against its Telegram sandbox {sandbox_url}"
        )
        print(f"Bot: @{info['bot_username']}   Sandbox time: {info['now']}")

        transcript.scene("A practitioner opens the bot")
        await transcript.say(practitioner, "Practitioner", "/start")
        await transcript.say(practitioner, "Practitioner", "/help")

        transcript.scene("Someone without an invite finds the bot")
        await transcript.say(newcomer, "Client", "/start")
        await transcript.say(newcomer, "Client", "/help")
        await transcript.say(newcomer, "Client", "/privacy")
        await transcript.send_sticker(newcomer, "Client")

        stats = await client.stats()
        calls = dict(stats["calls"])
        print(f"\nDelivered {stats['delivered']} messages. Bot API calls: {calls}")
        if stats["errors_returned"]:
            print(f"Flood control and other errors answered: {dict(stats['errors_returned'])}")
    return 0
