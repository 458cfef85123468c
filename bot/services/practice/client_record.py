"""A client's record for their practitioner: the trend chart (Chart on the card) and the
CSV of every answer (Export on the card, and an operator's ``stillpoint export``).

The chart itself is drawn by the Telegram layer (``bot.telegram.charts``) off the event
loop; here the trend is read and put in words for the caption, so the picture is never
the only carrier of what it shows. Every chart and export is written to the audit log.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.models import CheckIn, Client, Practitioner, Reply
from bot.domain.outgoing import OutgoingMessage, Text
from bot.domain.text_params import embed, when
from bot.domain.trend import Trend, trend
from bot.ports import UnitOfWork
from bot.services.access import require_practitioner
from bot.services.context import UseCaseContext
from bot.services.practice.client_card import audit_view, readable_client

CSV_COLUMNS = (
    "received_at",
    "checkin_day",
    "discomfort_0_to_10",
    "compared_with_before_the_session",
    "body_areas",
    "words",
    "level",
    "reasons",
)
"""One row per answer the client gave (each step of a check-in, each edit, each message)."""


@dataclass(frozen=True, slots=True)
class ChartRequest:
    """A chart to draw: whose, the trend, the zone for its axis, and its caption."""

    client_name: str
    trend: Trend
    timezone: str
    caption: Text


@dataclass(frozen=True, slots=True)
class RecordExport:
    """One client's answers as CSV, with its caption, and their chart if there is one."""

    document: bytes
    file_name: str
    caption: Text
    chart: ChartRequest | None


@dataclass(frozen=True, slots=True)
class _Record:
    client: Client
    checkins: Sequence[CheckIn]
    replies: Sequence[Reply]
    trend: Trend


async def chart(
    ctx: UseCaseContext, *, actor: int, client_id: int
) -> ChartRequest | OutgoingMessage:
    """Chart on the card: the trend to draw, or the words alone when there are fewer than
    two scores."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "client.chart")
        client = await readable_client(uow, ctx.clock, practitioner, client_id, "client.chart")
        record = await _read(uow, client)
        await audit_view(uow, ctx.clock.now(), actor, client, "client.chart_viewed")
        await uow.commit()
    request = _chart_request(record, practitioner.timezone)
    return request if request is not None else OutgoingMessage(_too_few(record, practitioner))


async def export(
    ctx: UseCaseContext, *, actor: int, client_id: int
) -> RecordExport | OutgoingMessage:
    """Export on the card: every answer as a CSV document, and the chart."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "client.export")
        client = await readable_client(uow, ctx.clock, practitioner, client_id, "client.export")
        record = await _read(uow, client)
        now = ctx.clock.now()
        if not record.replies:
            return OutgoingMessage(Text("export.nothing", {"client": client.full_name}))
        await audit_view(
            uow, now, actor, client, "client.exported", format="csv", rows=len(record.replies)
        )
        await uow.commit()
    zone = practitioner.timezone
    return RecordExport(
        document=answers_csv(record.replies, record.checkins, zone).encode("utf-8"),
        file_name=_file_name(client, now, zone),
        caption=Text(
            "export.caption",
            {"client": client.full_name, "count": len(record.replies), "zone": zone},
        ),
        chart=_chart_request(record, zone),
    )


async def operator_csv(ctx: UseCaseContext, client_id: int) -> str | None:
    """``stillpoint export --format csv``: the client's answers as CSV in their
    practitioner's zone; ``None`` if there is no such client. Audited."""
    async with ctx.uow() as uow:
        client = await uow.clients.get(client_id)
        if client is None:
            return None
        practitioner = await uow.practitioners.get(client.practitioner_id)
        zone = practitioner.timezone if practitioner else client.timezone
        record = await _read(uow, client)
        await audit_view(
            uow,
            ctx.clock.now(),
            None,
            client,
            "client.exported",
            format="csv",
            rows=len(record.replies),
        )
        await uow.commit()
    return answers_csv(record.replies, record.checkins, zone)


def answers_csv(replies: Sequence[Reply], checkins: Sequence[CheckIn], timezone: str) -> str:
    """One row per answer, oldest first, times in ``timezone`` (ISO 8601 with offset)."""
    zone = ZoneInfo(timezone)
    day_of = {c.id: c.day for c in checkins}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for reply in sorted(replies, key=lambda r: (r.received_at, r.version, r.id)):
        writer.writerow(
            (
                reply.received_at.astimezone(zone).isoformat(timespec="minutes"),
                "" if reply.checkin_id is None else day_of.get(reply.checkin_id, ""),
                "" if reply.score is None else reply.score,
                reply.comparison or "",
                ";".join(reply.body_areas),
                reply.text or "",
                str(reply.triage_level),
                ";".join(reply.triage_reasons),
            )
        )
    return out.getvalue()


async def _read(uow: UnitOfWork, client: Client) -> _Record:
    checkins = await uow.checkins.for_client(client.id)
    replies = await uow.replies.for_client(client.id)
    sessions = await uow.appointments.for_client(client.id)
    return _Record(client, checkins, replies, trend(checkins, replies, sessions))


def _chart_request(record: _Record, timezone: str) -> ChartRequest | None:
    if not record.trend.drawable:
        return None
    return ChartRequest(
        record.client.full_name, record.trend, timezone, caption(record.trend, timezone)
    )


def caption(drawn: Trend, timezone: str) -> Text:
    """The chart in words: how discomfort moved since the last session, and how many
    answers were passed on and how many check-ins went unanswered."""
    session, since = drawn.since_last_session()
    first, last = since[0].score, since[-1].score
    if session is None:
        moved = Text("chart.moved", {"first": first, "last": last, "count": len(since)})
    elif len(since) == 1:
        moved = Text("chart.one_since", {"score": last, "day": when(session, timezone, "date")})
    else:
        moved = Text(
            "chart.moved_since",
            {
                "first": first,
                "last": last,
                "count": len(since),
                "day": when(session, timezone, "date"),
            },
        )
    lines = [embed(moved)]
    flagged = sum(1 for p in drawn.points if p.flagged)
    if flagged:
        lines.append(embed(Text("chart.passed_on_count", {"count": flagged})))
    unanswered = sum(1 for p in drawn.points if not p.answered)
    if unanswered:
        lines.append(embed(Text("chart.unanswered_count", {"count": unanswered})))
    return Text("chart.caption", {"lines": lines})


def _too_few(record: _Record, practitioner: Practitioner) -> Text:
    scored = record.trend.scored
    name = record.client.full_name
    if not scored:
        return Text("chart.nothing", {"client": name})
    only = scored[0]
    return Text(
        "chart.one",
        {"client": name, "score": only.score, "day": when(only.at, practitioner.timezone, "date")},
    )


def _file_name(client: Client, now: datetime, timezone: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", client.full_name).encode("ascii", "ignore").decode()
    slug = "-".join("".join(c if c.isalnum() else " " for c in ascii_name).lower().split())
    day = now.astimezone(ZoneInfo(timezone)).date().isoformat()
    return f"stillpoint-{slug or 'client'}-{day}.csv"
