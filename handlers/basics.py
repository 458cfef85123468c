"""/start, /help and /privacy."""

from __future__ import annotations

from babel.units import format_unit
from telegram import Update
from telegram.ext import ContextTypes

from bot.domain.roles import Role
from bot.services.practice import practitioners
from bot.telegram.menus import set_chat_menu
from handlers import client
from handlers.common import actor_of, locale_of, reply, runtime


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user according to who they are."""
    user = update.effective_user
    if user is None:
        return
    if context.args:
        await client.start_with_token(update, context, context.args[0])
        return
    actor = await actor_of(update, context)
    role = actor.role
    if role is Role.PRACTITIONER:
        await practitioners.remember_name(runtime(context).uow, user.id, user.full_name)
    if role is not Role.GUEST:
        # A practitioner added while the bot runs, or a client, gets their own menu now.
        await set_chat_menu(context.bot, user.id, role, locale_of(update))
    key = f"start.{role}"
    if role is Role.CLIENT and actor.has_stopped:
        key = "start.client_stopped"  # promise nothing that will not come
    await reply(update, context, key, name=user.first_name)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List what this user can do."""
    actor = await actor_of(update, context)
    await reply(update, context, f"help.{actor.role}")


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What is stored, who sees it, how long, and how to stop and erase."""
    settings, locale = runtime(context).settings, locale_of(update)
    await reply(
        update,
        context,
        "privacy.text",
        answers_kept=format_unit(
            settings.retention_months, "duration-month", locale=locale, length="long"
        ),
        texts_kept=format_unit(
            settings.outbox_keep_days, "duration-day", locale=locale, length="long"
        ),
    )
