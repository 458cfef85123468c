"""An alert that cannot reach its practitioner goes to the backup contact and the operator;
an acknowledged flag is passed on to nobody; erasing the client cancels what quotes them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.domain.delivery import MessageRejected, RecipientUnreachable
from bot.domain.models import FlagState, OutboxState, TriageLevel
from bot.services.privacy import rights
from tests.unit.flags.support import (
    BACKUP,
    CLIENT,
    OPERATOR,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    WORDS,
    Practice,
    RefusingPractitioner,
    by_key,
    escalating_dispatcher,
    outbox_rows,
    raise_,
    stored_flag,
)


@pytest.mark.parametrize(
    "failure",
    [
        RecipientUnreachable("Forbidden: bot was blocked by the user"),
        MessageRejected("Bad Request: chat not found"),
    ],
)
async def test_an_alert_the_practitioner_cannot_get_goes_to_backup_and_operator_at_once(
    practice: Practice, failure: Exception
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    notifier = RefusingPractitioner(PRACTITIONER, failure)
    dispatcher = escalating_dispatcher(practice, notifier)
    await dispatcher.dispatch_due()
    [to_backup] = [text for chat, text in notifier.sent if chat == BACKUP]
    assert "could not be delivered" in to_backup
    assert "Sample &lt;i&gt;Client&lt;/i&gt;" in to_backup
    assert "sleep" not in to_backup  # never the client's words
    [to_operator] = [text for chat, text in notifier.sent if chat == OPERATOR]
    assert "First &lt;Practitioner&gt;" in to_operator
    assert "Client" not in to_operator
    assert "discomfort" not in to_operator
    # The practitioner's later alerts are still planned, and the flag stays open.
    [again] = by_key(practice, f"flag:{flag.id}:again")
    assert again.state is OutboxState.PENDING
    assert (await stored_flag(practice, flag.id)).state is FlagState.OPEN
    # The alert 15 minutes on fails too: nobody is told twice.
    practice.clock.current += timedelta(minutes=15)
    await dispatcher.dispatch_due()
    assert len([c for c, _ in notifier.sent if c in (BACKUP, OPERATOR)]) == 2


async def test_an_acknowledged_flag_is_not_passed_on_when_a_late_alert_fails(
    practice: Practice,
) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    await practice.db.flags.update(dataclasses.replace(flag, state=FlagState.ACKNOWLEDGED))
    notifier = RefusingPractitioner(PRACTITIONER, RecipientUnreachable("Forbidden"))
    dispatcher = escalating_dispatcher(practice, notifier)
    await dispatcher.dispatch_due()
    assert notifier.sent == []


async def test_erasing_the_client_cancels_alerts_that_would_quote_them(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=OTHER_PRACTITIONER)
    assert flag is not None

    await rights.erase(practice.ctx, CLIENT)

    pending = [r for r in outbox_rows(practice) if r.state is OutboxState.PENDING]
    assert [r.template for r in pending] == ["erase.practitioner_notice"]
    assert WORDS not in str(pending[0].payload)
