"""Scheduling messages: a row in the outbox, written in the caller's transaction.

The row keeps the message as a catalog key with JSON parameters and button specs, so
it is rendered in the reader's language when it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.delivery_rules import place
from bot.domain.models import OutboxKind, OutboxMessage, OutboxState, Practitioner
from bot.domain.outgoing import Button, OutgoingMessage, Recipient, Text
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWork


def outbox_row(
    message: OutgoingMessage,
    to: Recipient,
    *,
    kind: OutboxKind,
    dedup_key: str,
    now: datetime,
    quiet: QuietHours | None,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    priority: int = 0,
    appointment_id: int | None = None,
    about_client_id: int | None = None,
    forget_after_send: bool = False,
) -> OutboxMessage:
    """The row that schedules ``message`` (once per ``dedup_key``: ``uow.outbox.add``),
    due at ``due_at`` (default: now), moved out of the recipient's ``quiet`` hours
    (``None``: it goes whatever the hour); not stored yet.

    ``about_client_id`` names the client whose name or words a message to someone else
    carries; ``forget_after_send`` empties the payload once it is done."""
    row = OutboxMessage(
        id=0,
        chat_id=to.chat_id,
        kind=kind,
        template=message.text.key,
        payload=encode(message),
        due_at=now if due_at is None else due_at,
        dedup_key=dedup_key,
        state=OutboxState.PENDING,
        expires_at=expires_at,
        priority=priority,
        silent=message.silent,
        client_id=to.client_id,
        practitioner_id=to.practitioner_id,
        appointment_id=appointment_id,
        created_at=now,
        about_client_id=about_client_id,
        forget_after_send=forget_after_send,
        locale=to.locale,
    )
    return row if quiet is None else place(row, timezone=to.timezone, quiet=quiet)


def encode(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON payload of a row: the text's parameters and the buttons."""
    return {
        "params": dict(message.text.params),
        "buttons": [
            [
                {
                    "label": button.label.key,
                    "label_params": dict(button.label.params),
                    "data": button.callback_data,
                    "url": button.url,
                }
                for button in row
            ]
            for row in message.buttons
        ],
    }


def decode(row: OutboxMessage) -> tuple[OutgoingMessage, str]:
    """The message a row holds, and the locale to render it in."""
    payload = row.payload
    buttons = tuple(
        tuple(
            Button(
                Text(spec["label"], spec.get("label_params") or {}),
                spec.get("data"),
                spec.get("url"),
            )
            for spec in line
        )
        for line in payload.get("buttons", [])
    )
    message = OutgoingMessage(
        Text(row.template, payload.get("params", {})),
        buttons,
        row.silent,
        urgent=row.kind is OutboxKind.FLAG_ALERT,  # a practitioner's alert never waits
    )
    return message, row.locale


async def notify_practitioner(
    uow: UnitOfWork,
    practitioner_id: int,
    text: Text,
    *,
    dedup_key: str,
    now: datetime,
    quiet: QuietHours,
    buttons: tuple[tuple[Button, ...], ...] = (),
    about_client_id: int | None,
    forget_after_send: bool = False,
) -> OutboxMessage | None:
    """Schedule a notice to a practitioner, in their language and outside their quiet hours.

    ``about_client_id`` names the client the notice speaks of (``None``: none), so that
    erasing them reaches it."""
    practitioner = await uow.practitioners.get(practitioner_id)
    if practitioner is None:
        return None
    return await uow.outbox.add(
        practitioner_notice_row(
            practitioner,
            text,
            dedup_key=dedup_key,
            now=now,
            quiet=quiet,
            buttons=buttons,
            about_client_id=about_client_id,
            forget_after_send=forget_after_send,
        )
    )


def practitioner_notice_row(
    practitioner: Practitioner,
    text: Text,
    *,
    dedup_key: str,
    now: datetime,
    quiet: QuietHours,
    buttons: tuple[tuple[Button, ...], ...] = (),
    about_client_id: int | None,
    forget_after_send: bool = False,
) -> OutboxMessage:
    """The row of :func:`notify_practitioner`'s notice, not stored yet."""
    return outbox_row(
        OutgoingMessage(text, buttons),
        Recipient.practitioner(practitioner),
        kind=OutboxKind.NOTICE,
        dedup_key=dedup_key,
        now=now,
        quiet=quiet,
        about_client_id=about_client_id,
        forget_after_send=forget_after_send,
    )
