"""Scheduling messages: a row in the outbox, written in the caller's transaction.

The row keeps the message as a catalog key with JSON parameters and button specs, so
it is rendered in the reader's language when it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.delivery_rules import place
from bot.domain.models import OutboxKind, OutboxMessage, OutboxState
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.timing import QuietHours
from bot.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a use case wants sent, to whom, when, and until when it still makes sense."""

    chat_id: int
    kind: OutboxKind
    message: OutgoingMessage
    locale: str
    due_at: datetime
    dedup_key: str
    expires_at: datetime | None = None
    priority: int = 0
    client_id: int | None = None
    practitioner_id: int | None = None
    appointment_id: int | None = None
    about_client_id: int | None = None
    """The client whose name or words a message to someone else carries."""
    forget_after_send: bool = False


async def schedule(
    uow: UnitOfWork, delivery: Delivery, *, timezone: str, quiet: QuietHours, now: datetime
) -> OutboxMessage:
    """Add the row (once per ``dedup_key``), moved out of the recipient's quiet hours."""
    placement = place(
        delivery.due_at,
        kind=delivery.kind,
        timezone=timezone,
        quiet=quiet,
        deadline=delivery.expires_at,
    )
    return await uow.outbox.add(
        OutboxMessage(
            id=0,
            chat_id=delivery.chat_id,
            kind=delivery.kind,
            template=delivery.message.text.key,
            payload=encode(delivery.message),
            due_at=placement.due_at,
            dedup_key=delivery.dedup_key,
            state=OutboxState.PENDING,
            expires_at=delivery.expires_at,
            priority=delivery.priority,
            silent=placement.silent or delivery.message.silent,
            client_id=delivery.client_id,
            practitioner_id=delivery.practitioner_id,
            appointment_id=delivery.appointment_id,
            created_at=now,
            about_client_id=delivery.about_client_id,
            forget_after_send=delivery.forget_after_send,
            locale=delivery.locale,
        )
    )


async def reschedule(
    uow: UnitOfWork,
    dedup_key: str,
    *,
    kind: OutboxKind,
    due_at: datetime,
    expires_at: datetime | None,
    timezone: str,
    quiet: QuietHours,
) -> OutboxMessage | None:
    """Move a still-pending message, out of quiet hours again; ``None`` if none is pending."""
    placement = place(due_at, kind=kind, timezone=timezone, quiet=quiet, deadline=expires_at)
    return await uow.outbox.reschedule(
        dedup_key, due_at=placement.due_at, expires_at=expires_at, silent=placement.silent
    )


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
    return await schedule(
        uow,
        Delivery(
            chat_id=practitioner.telegram_user_id,
            kind=OutboxKind.NOTICE,
            message=OutgoingMessage(text, buttons),
            locale=practitioner.locale,
            due_at=now,
            dedup_key=dedup_key,
            practitioner_id=practitioner.id,
            about_client_id=about_client_id,
            forget_after_send=forget_after_send,
        ),
        timezone=practitioner.timezone,
        quiet=quiet,
        now=now,
    )
