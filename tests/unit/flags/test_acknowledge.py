"""Acknowledge closes a flag and cancels its escalations, once; only the flag's own
practitioner may press it (or Reply, or History), and every refusal is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.domain import callbacks
from bot.domain.callbacks import FlagAction
from bot.domain.models import FlagState, OutboxState, TriageLevel
from bot.services.access import Refused
from bot.services.flags import lifecycle, replies
from tests.unit.flags.support import (
    BACKUP,
    CLIENT,
    NOW,
    OTHER_PRACTITIONER,
    PRACTITIONER,
    Practice,
    audit,
    button_data,
    outbox_rows,
    raise_,
    shown,
    stored_flag,
)


async def test_acknowledge_closes_the_flag_and_cancels_the_escalations(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT, backup=BACKUP)
    assert flag is not None
    practice.clock.current = NOW + timedelta(minutes=4)
    answer = await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    assert "Acknowledged at 10:04" in shown(answer)
    assert callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE) not in button_data(answer)
    assert callbacks.flag(flag.id, FlagAction.REPLY) in button_data(answer)
    stored = await stored_flag(practice, flag.id)
    assert stored.state is FlagState.ACKNOWLEDGED
    assert stored.acknowledged_at == NOW + timedelta(minutes=4)
    states = {r.dedup_key.split("~")[0]: r.state for r in outbox_rows(practice)}
    assert states == {
        f"flag:{flag.id}:alert": OutboxState.CANCELLED,  # still pending in this test
        f"flag:{flag.id}:again": OutboxState.CANCELLED,
        f"flag:{flag.id}:backup": OutboxState.CANCELLED,
    }
    [entry] = [e for e in audit(practice) if e.action == "flag.acknowledged"]
    assert entry.actor_telegram_id == PRACTITIONER
    assert entry.detail == {"client_id": practice.client.id, "level": "urgent", "cancelled": 3}


async def test_a_second_acknowledge_changes_nothing_and_says_when(practice: Practice) -> None:
    flag = await raise_(practice)
    assert flag is not None
    await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    before = audit(practice)
    practice.clock.current = NOW + timedelta(hours=2)
    again = await lifecycle.acknowledge(practice.ctx, actor=PRACTITIONER, flag_id=flag.id)
    assert again.text.key == "flag.already_acknowledged"
    assert "already acknowledged on Tue 1 Dec, 10:00" in shown(again)
    assert (await stored_flag(practice, flag.id)).acknowledged_at == NOW
    assert audit(practice) == before


async def test_another_practitioner_cannot_acknowledge_and_is_audited(practice: Practice) -> None:
    flag = await raise_(practice, TriageLevel.URGENT)
    assert flag is not None
    commits = practice.db.commits
    with pytest.raises(Refused) as refused:
        await lifecycle.acknowledge(
            practice.ctx,
            actor=OTHER_PRACTITIONER,
            flag_id=flag.id,
        )
    assert refused.value.answer.key == "access.not_found"
    assert (await stored_flag(practice, flag.id)).state is FlagState.OPEN
    assert all(r.state is OutboxState.PENDING for r in outbox_rows(practice))
    [entry] = [e for e in audit(practice) if e.action == "access.refused"]
    assert entry.actor_telegram_id == OTHER_PRACTITIONER
    assert entry.subject_type == "flag"
    assert entry.subject_id == flag.id
    assert entry.detail == {"action": "flag.acknowledge", "reason": "not their flag"}
    assert practice.db.commits == commits + 1, "the refusal is committed"


@pytest.mark.parametrize("press", [lifecycle.acknowledge, replies.ask_reply, lifecycle.history])
async def test_forged_presses_are_refused(practice: Practice, press: Any) -> None:
    flag = await raise_(practice)
    assert flag is not None
    commits = practice.db.commits
    with pytest.raises(Refused) as by_client:
        await press(practice.ctx, actor=CLIENT, flag_id=flag.id)
    assert by_client.value.answer.key == "access.practitioners_only"
    with pytest.raises(Refused) as no_such:
        await press(practice.ctx, actor=PRACTITIONER, flag_id=flag.id + 1000)
    assert no_such.value.answer.key == "access.not_found"
    with pytest.raises(Refused):
        await press(practice.ctx, actor=OTHER_PRACTITIONER, flag_id=flag.id)
    reasons = [e.detail["reason"] for e in audit(practice) if e.action == "access.refused"]
    assert reasons == ["not a practitioner", "no such flag", "not their flag"]
    assert practice.db.commits == commits + 3, "each refusal is committed"
    assert (await stored_flag(practice, flag.id)).state is FlagState.OPEN
