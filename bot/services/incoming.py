"""What someone writes to the bot, in one unit of work: who is writing, found once, and
their words passed to the one use case they are for.

A practitioner's text after pressing Reply under a flag goes to the client
(``flags.replies``); a client's words are logged and triaged against their check-in
(``checkins.replies``); anyone else's get the caller's answer for anyone, by their role.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.actor import Actor
from bot.domain.outgoing import OutgoingMessage
from bot.services.checkins import replies as checkin_replies
from bot.services.context import UseCaseContext
from bot.services.flags import replies as flag_replies
from bot.services.identity import actor_in


@dataclass(frozen=True, slots=True)
class Words:
    """A message's words: its text, or a caption. ``edited``: a new version of an earlier
    message; ``caption``: the words under a photo or file."""

    message_id: int
    text: str
    edited: bool = False
    caption: bool = False


@dataclass(frozen=True, slots=True)
class Heard:
    """Who wrote, and the answer for them (``None``: the caller answers as for anyone)."""

    actor: Actor
    answer: OutgoingMessage | None


async def receive_words(
    ctx: UseCaseContext,
    *,
    sender: int,
    named_practitioners: Collection[int],
    words: Words,
) -> Heard:
    """Pass words on to the use case they are for; ``Refused`` when the sender may not
    (a Reply to a flag that is gone)."""
    async with ctx.uow() as uow:
        actor = await actor_in(uow, sender, named_practitioners)
        answer = None
        if actor.practitioner is not None and not (words.edited or words.caption):
            answer = await flag_replies.deliver_reply(
                uow, ctx.clock, ctx.policy, actor, text=words.text, message_id=words.message_id
            )
        if answer is None and actor.clients:
            answer = await checkin_replies.record_text(
                uow,
                ctx.clock,
                ctx.policy,
                actor,
                message_id=words.message_id,
                text=words.text,
                edited=words.edited,
            )
    return Heard(actor, answer)


async def receive_media(
    ctx: UseCaseContext,
    *,
    sender: int,
    named_practitioners: Collection[int],
    message_id: int,
    kind: str,
) -> Heard:
    """A photo, voice note, sticker or file without words: a kind request for words
    while a check-in of this client waits for an answer."""
    async with ctx.uow() as uow:
        actor = await actor_in(uow, sender, named_practitioners)
        answer = None
        if actor.clients:
            answer = await checkin_replies.record_not_text(
                uow, ctx.clock, actor, message_id=message_id, kind=kind
            )
    return Heard(actor, answer)
