"""An alert about a flag that could not be delivered is passed on at once.

A practitioner who blocked the bot, deleted their account or whose chat Telegram refuses
must not leave a client's urgent words unread. When an alert row about an open flag fails
for good, the practice's backup contact gets the alert now (not after the usual wait) and
the operator hears that a practitioner's chat cannot be reached, without anything about
the client. Nothing pending for the practitioner is cancelled: their later alerts are
tried as planned, and ``/flags`` shows everything open when they are back.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from bot.domain.models import FlagState, OutboxKind, OutboxMessage
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWork
from bot.services.delivery.outbox import outbox_row
from bot.services.flags import views
from bot.services.flags.lifecycle import PRIORITY, escalation_prefix

_log = logging.getLogger(__name__)

_FLAG_KEY = re.compile(r"flag:(\d+):")


async def alert_undelivered(
    uow: UnitOfWork,
    row: OutboxMessage,
    *,
    now: datetime,
    quiet: QuietHours,
    backup_chat_id: int | None,
    operator_chat_id: int | None,
) -> list[str]:
    """Schedule, in the caller's transaction, the backup contact's and the operator's
    messages about the failed alert ``row``; returns who will be told (``backup``,
    ``operator``). Nothing for a row that is not about an open flag, and nobody is told
    through the chat that just failed."""
    found = _FLAG_KEY.match(row.dedup_key) if row.kind is OutboxKind.FLAG_ALERT else None
    flag = None if found is None else await uow.flags.get(int(found.group(1)))
    if flag is None or flag.state is not FlagState.OPEN:
        return []
    practitioner = await uow.practitioners.get(flag.practitioner_id)
    client = await uow.clients.get(flag.client_id)
    if practitioner is None or client is None:
        return []
    texts = {
        "backup": views.undelivered_text(
            practitioner.display_name, client, flag.level, flag.reasons
        ),
        "operator": Text("operator.alert_undelivered", {"practitioner": practitioner.display_name}),
    }
    told = []
    for role, chat_id in (("backup", backup_chat_id), ("operator", operator_chat_id)):
        if chat_id is None or chat_id in (row.chat_id, practitioner.telegram_user_id):
            continue
        await uow.outbox.add(
            outbox_row(
                OutgoingMessage(texts[role]),
                Recipient.practitioner(practitioner, chat_id=chat_id),
                kind=OutboxKind.FLAG_ALERT,
                dedup_key=f"{escalation_prefix(flag.id)}undelivered:{role}",
                now=now,
                quiet=quiet,
                priority=PRIORITY[flag.level],
                about_client_id=flag.client_id,
            )
        )
        told.append(role)
    _log.warning(
        "an alert about flag %s could not be delivered to chat %s; told: %s",
        flag.id,
        row.chat_id,
        ",".join(told) or "nobody else can be",
    )
    return told
