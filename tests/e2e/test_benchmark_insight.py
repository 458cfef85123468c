"""``python -m benchmarks insight --json`` at a small size, on SQLite and PostgreSQL: the
real bot draws charts against the emulator while others are answered, the morning lists
are built, and the last line is one JSON object with every field. No time is asserted."""

from __future__ import annotations

import json

import pytest

from benchmarks.__main__ import main
from benchmarks.suite import QUICK, table
from tests.conftest import PostgresServer

pytestmark = pytest.mark.e2e

FIELDS = (
    "chart_p99_ms",
    "reply_delay_p99_ms",
    "morning_lists",
    "morning_build_s",
    "chart_checkins",
    "charting_practitioners",
    "morning_clients_each",
    "matplotlib_loaded_at_start",
    "quiet_reply_p99_ms",
    "method",
    "targets",
    "met",
)


def test_the_insight_benchmark_prints_its_figures_as_one_json_line(
    backend: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    database = []
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database = ["--database", server.admin_url]
    small = ["--checkins", "8", "--renders", "2", "--practitioners", "2", "--over", "2"]
    morning = ["--morning-practitioners", "3", "--morning-clients", "16"]

    assert main(["insight", *small, *morning, *database, "--json"]) == 0

    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(FIELDS) <= set(result)
    assert result["database"] == backend
    assert (result["chart_checkins"], result["chart_points"]) == (8, 8)
    assert result["charting_practitioners"] == 2
    assert result["method"] == "end_to_end"
    assert result["chart_rounds"] >= 1
    sent, asked = result["charts_sent"].split("/")
    assert sent == asked == str(2 * result["chart_rounds"])
    answered, written = result["replies"].split("/")
    assert answered == written
    assert int(written) > 0
    # 16 clients: a digest of two pages each, one line per client.
    assert (result["morning_lists"], result["morning_clients_each"]) == (3, 16)
    assert (result["morning_rows"], result["digest_lines"]) == ("6/6", "48/48")
    assert result["morning_complete"] is True
    assert result["matplotlib_loaded_at_start"] is False
    assert result["chart_drawn"] is True
    assert result["matplotlib_loaded_after_chart"] is False  # drawn in its own process
    assert set(result["met"]) == set(result["targets"])
    assert result["met"]["matplotlib_loaded_at_start"] is True

    text, verdicts = table({backend: {"insight": result}}, QUICK)
    assert "insight: matplotlib loaded at start-up" in text
    assert [v[backend]["met"] for v in verdicts if v["measure"].startswith("insight")] == [
        result["met"][name] for name in ("chart_p99_ms", "reply_delay_p99_ms", "morning_build_s")
    ] + [True]
