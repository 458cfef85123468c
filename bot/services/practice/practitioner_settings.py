"""A practitioner's own settings: ``/settings`` shows them, and its button turns the daily
digest (yesterday's answers in the morning list) on or off. The other settings are the
operator's to change (``stillpoint practitioner add``), so they are only shown."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from bot.domain import callbacks
from bot.domain.models import Practitioner
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import embed
from bot.services.access import require_practitioner
from bot.services.context import UseCaseContext
from bot.services.policy import Policy


async def show_settings(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """``/settings``: the practitioner's settings, with a button to turn the digest on or
    off."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "settings.show")
    return settings_message(practitioner, ctx.policy)


async def set_digest(ctx: UseCaseContext, *, actor: int, on: bool) -> OutgoingMessage:
    """The settings' button: the daily digest on (or off), audited, and the settings as
    they now are. A press that changes nothing (a double tap) writes nothing."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "settings.digest")
        if practitioner.digest != on:
            practitioner = await uow.practitioners.update(
                dataclasses.replace(practitioner, digest=on)
            )
            await uow.audit.record(
                now,
                "practitioner.updated",
                actor_telegram_id=actor,
                subject_type="practitioner",
                subject_id=practitioner.id,
                detail={"source": "settings", "fields": ["digest"], "digest": on},
            )
            await uow.commit()
    return settings_message(practitioner, ctx.policy)


def settings_message(practitioner: Practitioner, policy: Policy) -> OutgoingMessage:
    """What ``/settings`` shows: each setting as it applies (the operator's default marked
    as such), and the button that turns the digest the other way."""
    own_reminders = bool(practitioner.reminder_offsets_minutes)
    own_checkins = bool(practitioner.checkin_days or practitioner.checkin_time)
    schedule = policy.checkins_for(practitioner)
    reminders = ", ".join(_duration(o) for o in policy.reminder_offsets_for(practitioner))
    checkin_days = ", ".join(str(day) for day in schedule.days)
    params: dict[str, Any] = {
        "digest": embed(
            Text("settings.digest_on" if practitioner.digest else "settings.digest_off")
        ),
        "timezone": practitioner.timezone,
        "reminders": _marked(Text("settings.reminders", {"offsets": reminders}), own_reminders),
        "checkins": _marked(
            Text("settings.checkins", {"days": checkin_days, "time": f"{schedule.at:%H:%M}"}),
            own_checkins,
        ),
        "location": practitioner.location or embed(Text("settings.no_location")),
    }
    turn = Text("settings.turn_digest_off" if practitioner.digest else "settings.turn_digest_on")
    button = Button(turn, callbacks.digest(not practitioner.digest))
    return OutgoingMessage(Text("settings.shown", params), ((button,),))


def _marked(text: Text, own: bool) -> dict[str, Any]:
    """``text``, marked as the operator's default unless the practitioner has their own."""
    return embed(text if own else Text("settings.default", {"value": embed(text)}))


def _duration(offset: timedelta) -> str:
    """``24 h`` or ``90 min``: units both catalogs' languages read alike."""
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
