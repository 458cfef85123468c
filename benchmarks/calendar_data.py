"""Practitioners' calendars for the calendar benchmark (and the calendar feed's tests), and
a calendar server that serves them in a process of its own.

``generated_calendar`` writes a big calendar as Google exports it (the size the parse
tests and the ``calendar`` benchmark read); ``ics`` writes one from event bodies.
``serve_calendars`` runs an ``aiohttp.web`` server on 127.0.0.1 in a process of its own
(``python -m benchmarks.calendar_data``: its CPU is not the syncing process's), serving
practitioner ``n``'s calendar at ``/calendars/<n>.ics`` with an ``ETag``, answering 304
to a matching ``If-None-Match``, and counting what it was asked (``GET /stats``).

This module imports nothing of the bot: the server's process stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 120.0

BERLIN_ZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""

CALENDAR_TIMEZONE = "Europe/Berlin"
"""The zone the generated calendars are written in (and their practitioners live in)."""
COURSE_WEEKS = 12
"""The benchmark's weekly series end this many weeks after their first session, as a
course does."""


def ics(*events: str, header: str = "", zones: str = "") -> bytes:
    """A calendar of these ``VEVENT`` bodies (the lines between BEGIN and END), with
    CRLF line ends as RFC 5545 has them."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Stillpoint tests//EN"]
    if header:
        lines.append(header.strip())
    if zones:
        lines.append(zones.strip())
    for body in events:
        lines += ["BEGIN:VEVENT", body.strip(), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    text = "\n".join(lines)
    return ("\r\n".join(line.rstrip() for line in text.splitlines()) + "\r\n").encode()


def _numbered_title(i: int) -> str:
    return f"Massage - Client {i}"


def generated_calendar(
    now: datetime,
    *,
    events: int = 2000,
    repeating_every: int = 5,
    days_back: int = 365,
    days_ahead: int = 90,
    title: Callable[[int], str] = _numbered_title,
    course_weeks: int | None = None,
) -> bytes:
    """A practitioner's calendar as Google exports it: ``events`` sessions in
    Europe/Berlin spread evenly from ``days_back`` before ``now`` to ``days_ahead`` after,
    each with attendees and an alarm, every ``repeating_every``-th weekly (some every
    other week on two days, some ended, some with a cancelled and a moved date), and a
    few free, cancelled and all-day ones. ``title(i)`` is the i-th event's title (by
    default "Massage - Client <i>", which names no client). Series that have not ended
    go on for ever, or with ``course_weeks`` end that many weeks after their first
    session (a course of sessions)."""
    span = timedelta(days=days_back + days_ahead)
    first = (now - timedelta(days=days_back)).replace(minute=0, second=0, microsecond=0)
    bodies: list[str] = []
    for i in range(events):
        start = (first + span * i / events).replace(minute=(i % 4) * 15, second=0)
        local = start.astimezone(_BERLIN).replace(tzinfo=None)
        lines = [
            f"UID:session-{i}@generated",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART;TZID=Europe/Berlin:{local:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Berlin:{local + timedelta(minutes=50 + i % 3 * 10):%Y%m%dT%H%M%S}",
            f"SUMMARY:{title(i)}",
            "DESCRIPTION:Deep tissue\\, 60 min\\nRoom 2",
            "LOCATION:Studio\\; upstairs",
            "ATTENDEE;CN=Practitioner;ROLE=REQ-PARTICIPANT:mailto:p@example.org",
            "CREATED:20250101T000000Z",
            "LAST-MODIFIED:20250101T000000Z",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
        ]
        if i % 97 == 1:
            lines.append("TRANSP:TRANSPARENT")
        if i % 89 == 2:
            lines[-1] = "STATUS:CANCELLED"
        if i % repeating_every == 0:
            kind = i // repeating_every % 4
            course = (
                ""
                if course_weeks is None
                else f";UNTIL={start + timedelta(weeks=course_weeks):%Y%m%dT%H%M%SZ}"
            )
            if kind == 1:
                weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[local.weekday()]
                lines.append(f"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday},FR;WKST=MO{course}")
            elif kind == 2:
                until = (now - timedelta(days=30)).strftime("%Y%m%dT%H%M%SZ")
                lines.append(f"RRULE:FREQ=WEEKLY;UNTIL={until}")
            else:
                lines.append(f"RRULE:FREQ=WEEKLY{course}")
            moved = _weekly_after(local, now + timedelta(days=20))
            # A date is skipped and one moved only where the series has them.
            in_course = course_weeks is None or moved < local + timedelta(weeks=course_weeks)
            if kind == 3 and in_course:
                skipped = _weekly_after(local, now + timedelta(days=10))
                lines.append(f"EXDATE;TZID=Europe/Berlin:{skipped:%Y%m%dT%H%M%S}")
                bodies.append(
                    "\n".join(
                        [
                            f"UID:session-{i}@generated",
                            f"RECURRENCE-ID;TZID=Europe/Berlin:{moved:%Y%m%dT%H%M%S}",
                            f"DTSTART;TZID=Europe/Berlin:{moved + _3H:%Y%m%dT%H%M%S}",
                            f"DTEND;TZID=Europe/Berlin:{moved + _4H:%Y%m%dT%H%M%S}",
                            f"SUMMARY:{title(i)} (moved)",
                            "SEQUENCE:1",
                        ]
                    )
                )
        lines.append(
            "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Reminder\nTRIGGER:-PT15M\nEND:VALARM"
        )
        bodies.append("\n".join(lines))
        if i % 101 == 3:
            bodies.append(
                "\n".join(
                    [
                        f"UID:holiday-{i}@generated",
                        f"DTSTART;VALUE=DATE:{local:%Y%m%d}",
                        f"DTEND;VALUE=DATE:{local + timedelta(days=1):%Y%m%d}",
                        "SUMMARY:Holiday",
                    ]
                )
            )
    return ics(*bodies, header="X-WR-CALNAME:Practice", zones=BERLIN_ZONE)


_BERLIN = dt.timezone(timedelta(hours=1))  # close enough to spread the generated starts
_3H, _4H = timedelta(hours=3), timedelta(hours=4)


def _weekly_after(first: datetime, moment: datetime) -> datetime:
    """The first weekly repeat of ``first`` (local wall time) after ``moment``."""
    target = moment.astimezone(UTC).replace(tzinfo=None)
    weeks = max(0, (target - first).days // 7 + 1)
    return first + timedelta(weeks=weeks)


# --- the practice's calendars ----------------------------------------------------------------

FIRST_NAMES = (
    "Ada", "Bela", "Carys", "Dmitri", "Elin", "Farid", "Greta", "Hamid", "Ines", "Jonas",
    "Kasia", "Lars", "Mirela", "Nils", "Oona", "Piet", "Quinn", "Rosa", "Sven", "Tova",
    "Ulla", "Viggo", "Wanda", "Xaver", "Yara", "Zeno", "Alma", "Bruno", "Cleo", "Dario",
    "Edda", "Fenna", "Goran", "Hedda", "Ivo", "Juna", "Kalle", "Liv", "Malte", "Nora",
    "Olek", "Paula", "Rune", "Selma", "Timo", "Ursel", "Vera", "Wim", "Ylva", "Zora",
    "Arne", "Britt", "Caspar", "Dagny", "Emil", "Frida", "Gunnar", "Hilde", "Ilse", "Jens",
)  # fmt: skip
"""Distinct first names: a practice's clients never share one (so a first name alone
would name a client too)."""
SURNAMES = (
    "Lindqvist", "Olsen", "Berger", "Novak", "Haas", "Moreau", "Kowalski", "Jensen",
    "Rossi", "Varga", "Keller", "Nyberg", "Dubois", "Horvat", "Sato", "Weber",
)  # fmt: skip


def client_name(practitioner: int, client: int) -> str:
    """The full name of practitioner ``practitioner``'s client number ``client`` (from 0)."""
    first = FIRST_NAMES[client % len(FIRST_NAMES)]
    surname = SURNAMES[(practitioner + client // len(FIRST_NAMES)) % len(SURNAMES)]
    return f"{first} {surname}"


def practice_title(practitioner: int, clients: int, named_every: int) -> Callable[[int], str]:
    """Event titles for one practitioner's calendar: every ``named_every``-th event (with
    its repeats) names one of their ``clients`` clients; the others name no client."""

    def title(i: int) -> str:
        if named_every > 0 and i % named_every == 0:
            return f"Massage - {client_name(practitioner, (i // named_every) % clients)}"
        return _numbered_title(i)

    return title


@dataclass(frozen=True, slots=True)
class Practice:
    """What the server's calendars are made of: ``practitioners`` calendars of
    ``events`` events each around ``now``, each naming the practitioner's clients; series
    without end, or ending after ``course_weeks``."""

    now: datetime
    practitioners: int
    events: int
    clients: int
    named_every: int
    course_weeks: int | None = None

    def calendar(self, practitioner: int) -> bytes:
        """Practitioner ``practitioner``'s calendar (from 0)."""
        return generated_calendar(
            self.now,
            events=self.events,
            title=practice_title(practitioner, self.clients, self.named_every),
            course_weeks=self.course_weeks,
        )


# --- the server --------------------------------------------------------------------------------


@dataclass
class _Counts:
    """What the server was asked, since the last reset."""

    requests: int = 0
    conditional: int = 0
    not_modified: int = 0
    full: int = 0
    bytes_sent: int = 0
    by_path: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "conditional": self.conditional,
            "not_modified": self.not_modified,
            "full": self.full,
            "bytes_sent": self.bytes_sent,
            "most_requests_one_calendar": max(self.by_path.values(), default=0),
        }


def calendar_app(calendars: list[bytes]) -> web.Application:
    """The routes: ``/calendars/<n>.ics`` (ETag ``"cal-<n>-v1"``), ``/stats`` and
    ``POST /reset``."""
    counts = _Counts()
    etags = [f'"cal-{n}-v1"' for n in range(len(calendars))]

    async def calendar(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not name.isdigit() or int(name) >= len(calendars):
            return web.Response(status=404, text="no such calendar")
        n = int(name)
        counts.requests += 1
        counts.by_path[name] = counts.by_path.get(name, 0) + 1
        headers = {"ETag": etags[n]}
        asked = request.headers.get("If-None-Match")
        if asked is not None:
            counts.conditional += 1
            if asked == etags[n]:
                counts.not_modified += 1
                return web.Response(status=304, headers=headers)
        counts.full += 1
        counts.bytes_sent += len(calendars[n])
        return web.Response(body=calendars[n], content_type="text/calendar", headers=headers)

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(counts.as_json())

    async def reset(_request: web.Request) -> web.Response:
        nonlocal counts
        counts = _Counts()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/calendars/{name}.ics", calendar)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    return app


async def _serve(practice: Practice) -> None:
    calendars = [practice.calendar(n) for n in range(practice.practitioners)]
    runner = web.AppRunner(calendar_app(calendars), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    print(json.dumps({"port": port, "bytes": [len(c) for c in calendars]}), flush=True)
    try:
        await asyncio.Event().wait()  # until the process is terminated
    finally:
        await runner.cleanup()


@dataclass(frozen=True, slots=True)
class Served:
    """The running calendar server: where it is, and how big each calendar is."""

    base: str
    sizes: list[int]

    def url(self, practitioner: int) -> str:
        """Practitioner ``practitioner``'s calendar address (from 0)."""
        return f"{self.base}/calendars/{practitioner}.ics"


@contextlib.asynccontextmanager
async def serve_calendars(practice: Practice) -> AsyncIterator[Served]:
    """The practice's calendars served by ``python -m benchmarks.calendar_data`` on
    127.0.0.1, a process of its own; stopped at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.calendar_data",
        json.dumps(
            {
                "now": practice.now.isoformat(),
                "practitioners": practice.practitioners,
                "events": practice.events,
                "clients": practice.clients,
                "named_every": practice.named_every,
                "course_weeks": practice.course_weeks,
            }
        ),
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(
                f"the calendar server did not start within {START_TIMEOUT_S:g} s"
            ) from None
        if not line:
            raise RuntimeError(f"the calendar server exited with {await process.wait()}")
        started = json.loads(line)
        yield Served(f"http://127.0.0.1:{started['port']}", list(started["bytes"]))
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def main(argv: Sequence[str]) -> int:
    """Serve the calendars described by the JSON argument until terminated; the first
    line on stdout says where (``{"port": ..., "bytes": [...]}``)."""
    given = json.loads(argv[0])
    practice = Practice(
        now=datetime.fromisoformat(given["now"]),
        practitioners=int(given["practitioners"]),
        events=int(given["events"]),
        clients=int(given["clients"]),
        named_every=int(given["named_every"]),
        course_weeks=given["course_weeks"],
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(practice))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
