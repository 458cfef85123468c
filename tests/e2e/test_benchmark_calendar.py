"""``python -m benchmarks calendar --json`` at a small size, on SQLite and PostgreSQL: the
calendars are served from a process of their own, synced from cold and read again
unchanged in the benchmark's process, then synced by the real bot against the emulator
while others are answered; the last line is one JSON object with every field. No time
is asserted."""

from __future__ import annotations

import json

import pytest

from benchmarks.__main__ import main
from benchmarks.suite import QUICK, table
from tests.conftest import PostgresServer

pytestmark = pytest.mark.e2e

FIELDS = (
    "practitioners",
    "events",
    "wall_s",
    "cpu_s",
    "parse_cpu_s",
    "unchanged_requests",
    "unchanged_conditional",
    "unchanged_not_modified",
    "unchanged_parses",
    "bookings",
    "questions_asked",
    "questions_waiting",
    "reply_p99_ms",
    "quiet_reply_p99_ms",
    "method",
    "targets",
    "met",
)


def test_the_calendar_benchmark_prints_its_figures_as_one_json_line(
    backend: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    database = []
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database = ["--database", server.admin_url]
    # Every event names a client: nothing is left to ask, so each calendar's version is
    # kept and the unchanged read is conditional.
    small = ["--practitioners", "2", "--events", "60", "--clients", "8", "--named-every", "1"]

    assert main(["calendar", *small, "--over", "5", *database, "--json"]) == 0

    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(FIELDS) <= set(result)
    assert result["database"] == backend
    assert (result["practitioners"], result["events"], result["clients_each"]) == (2, 60, 8)
    assert result["profiled"] is False
    assert (result["calendars_read"], result["cold_requests"], result["parses"]) == (2, 2, 2)
    assert result["events_read"] > 0
    assert result["bookings"] > 0
    assert result["bookings"] + result["not_booked"] == result["entries_stored"]
    assert result["questions_asked"] == result["questions_waiting"] == 0
    assert result["versions_kept"] == 2
    assert result["unchanged_calendars_read"] == 2
    assert result["unchanged_requests"] == 2
    assert result["unchanged_conditional"] == result["unchanged_not_modified"] == 2
    assert result["unchanged_parses"] == 0
    assert result["reply_method"] == "end_to_end"
    assert result["reply_sync_calendars"] == 2
    assert result["reply_sync_finished"] is True
    answered, written = result["replies"].split("/")
    assert answered == written
    assert result["replies_all_answered"] is True
    assert set(result["met"]) == set(result["targets"])
    assert result["met"]["unchanged_requests"] is True
    assert result["met"]["unchanged_parses"] is True

    text, verdicts = table({backend: {"calendar": result}}, QUICK)
    assert "calendar: unchanged, parses" in text
    assert [v[backend]["met"] for v in verdicts if v["measure"].startswith("calendar")] == [
        result["met"][name]
        for name in ("wall_s", "cpu_s", "unchanged_requests", "unchanged_parses", "reply_p99_ms")
    ]
