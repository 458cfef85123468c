"""Chart and Export on the card, and an operator's export: the trend in words, the CSV of
every answer, who may ask, and the audit log."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta

import pytest

import messages
from bot.domain.models import ClientStatus, TriageLevel
from bot.domain.outgoing import OutgoingMessage
from bot.services.access import Refused
from bot.services.practice import client_record
from bot.services.practice.client_record import ChartRequest, RecordExport
from bot.services.privacy import client_copy
from tests.integration import records
from tests.unit.flags.support import CLIENT, NOW, OTHER_PRACTITIONER, PRACTITIONER, Practice, audit
from tests.unit.practice.support import answered_checkin, plain


async def _two_more_answers(practice: Practice) -> None:
    await answered_checkin(practice, NOW + timedelta(days=2), score=4, day=3, comparison="better")
    await answered_checkin(
        practice, NOW + timedelta(days=6), score=2, day=7, text='Much lighter, "slept", well'
    )


async def test_the_chart_caption_tells_the_trend_in_words(practice: Practice) -> None:
    await _two_more_answers(practice)
    practice.clock.current = NOW + timedelta(days=7)
    found = await client_record.chart(
        practice.ctx, actor=PRACTITIONER, client_id=practice.client.id
    )
    assert isinstance(found, ChartRequest)
    assert [p.score for p in found.trend.points] == [7, 4, 2]  # the stored answers, in order
    assert found.timezone == "Europe/Berlin"
    caption = messages.render(found.caption.key, "en", **found.caption.params)
    assert caption == (
        "Discomfort 7 → 2 over 3 check-ins since the session on Sunday 29 November\n"
        "1 answer was passed on to you (ringed)."
    )
    [entry] = [e for e in audit(practice) if e.action == "client.chart_viewed"]
    assert (entry.actor_telegram_id, entry.client_id) == (PRACTITIONER, practice.client.id)


async def test_fewer_than_two_scores_get_words_only(practice: Practice) -> None:
    one = await client_record.chart(practice.ctx, actor=PRACTITIONER, client_id=practice.client.id)
    assert isinstance(one, OutgoingMessage)
    assert plain(one) == (
        "Sample <i>Client</i> has given one discomfort score so far: 7/10 on Tuesday 1 December. "
        "A chart needs two."
    )
    newcomer = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="New Person", telegram_user_id=None)
    )
    none = await client_record.chart(practice.ctx, actor=PRACTITIONER, client_id=newcomer.id)
    assert isinstance(none, OutgoingMessage)
    assert "has not given a discomfort score yet" in plain(none)
    nothing = await client_record.export(practice.ctx, actor=PRACTITIONER, client_id=newcomer.id)
    assert isinstance(nothing, OutgoingMessage)
    assert plain(nothing) == (
        "New Person has not answered anything yet, so there is no record to export."
    )


async def test_export_is_one_csv_row_per_answer_in_the_practitioners_zone(
    practice: Practice,
) -> None:
    await _two_more_answers(practice)
    practice.clock.current = NOW + timedelta(days=7)
    export = await client_record.export(
        practice.ctx, actor=PRACTITIONER, client_id=practice.client.id
    )
    assert isinstance(export, RecordExport)
    assert export.file_name == "stillpoint-sample-i-client-i-2026-12-08.csv"
    rows = list(csv.DictReader(io.StringIO(export.document.decode("utf-8"))))
    assert [tuple(r.values()) for r in rows] == [
        (
            "2026-12-01T09:55+01:00",
            "1",
            "7",
            "worse",
            "neck;head_jaw",
            "It got <b>worse</b> & I </blockquote> can't sleep",
            "concern",
            "discomfort up by 4 points",
        ),
        ("2026-12-03T10:00+01:00", "3", "4", "better", "", "", "none", ""),
        ("2026-12-07T10:00+01:00", "7", "2", "", "", 'Much lighter, "slept", well', "none", ""),
    ]
    assert export.chart is not None
    assert len(export.chart.trend.scored) == 3
    caption = messages.render(export.caption.key, "en", **export.caption.params)
    assert caption.startswith("📄 The record of <b>Sample &lt;i&gt;Client&lt;/i&gt;</b>: 3 answers")
    [entry] = [e for e in audit(practice) if e.action == "client.exported"]
    assert entry.detail == {"format": "csv", "rows": 3}


async def test_only_their_practitioner_gets_a_chart_or_an_export(practice: Practice) -> None:
    client_id = practice.client.id
    for call in (client_record.chart, client_record.export):
        for actor in (OTHER_PRACTITIONER, CLIENT):
            with pytest.raises(Refused):
                await call(practice.ctx, actor=actor, client_id=client_id)
        with pytest.raises(Refused) as missing:
            await call(practice.ctx, actor=PRACTITIONER, client_id=client_id + 1000)
        assert missing.value.answer.key == "access.not_found"
    await practice.db.clients.update(
        dataclasses.replace(practice.client, status=ClientStatus.STOPPED)
    )
    for call in (client_record.chart, client_record.export):
        with pytest.raises(Refused) as stopped:
            await call(practice.ctx, actor=PRACTITIONER, client_id=client_id)
        assert stopped.value.answer.key == "card.client_stopped"
    refused = [e.detail for e in audit(practice) if e.action == "access.refused"]
    assert len(refused) == 8
    assert {d["action"] for d in refused} == {"client.chart", "client.export"}
    assert not [
        e for e in audit(practice) if e.action in {"client.exported", "client.chart_viewed"}
    ]


async def test_an_operator_exports_one_client_as_csv_or_json(practice: Practice) -> None:
    other = await practice.db.clients.add(
        records.client(practice.practitioner.id, full_name="Other Person", telegram_user_id=None)
    )
    await answered_checkin(
        practice, NOW, score=5, client=other, text="someone else's words", level=TriageLevel.NONE
    )
    text = await client_record.operator_csv(practice.ctx, practice.client.id)
    assert text is not None
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["discomfort_0_to_10"] == "7"
    assert "someone else" not in text
    copy = await client_copy.operator_copy(practice.ctx, practice.client.id)
    assert copy is not None
    [record] = copy.content["as_client_of"]
    assert record["profile"]["name"] == "Sample <i>Client</i>"
    assert "someone else" not in str(copy.content)
    assert "Other Person" not in str(copy.content)
    assert await client_record.operator_csv(practice.ctx, 99_999) is None
    assert await client_copy.operator_copy(practice.ctx, 99_999) is None
    exported = [e for e in audit(practice) if e.action == "client.exported"]
    assert [(e.actor_telegram_id, e.client_id, e.detail["format"]) for e in exported] == [
        (None, practice.client.id, "csv"),
        (None, practice.client.id, "json"),
    ]
