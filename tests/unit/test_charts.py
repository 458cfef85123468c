"""The trend chart: a PNG of the promised size, and matplotlib only loaded to draw one."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import screenshots
from bot.domain.models import CheckInState, TriageLevel
from bot.domain.trend import trend
from bot.sandbox.media import image_size
from bot.telegram.charts import HEIGHT_PX, WIDTH_PX, ChartWords, chart_words, render_trend
from tests.integration import records

WORDS = ChartWords(
    title="Sam Client",
    axis="Discomfort (0-10)",
    discomfort="Discomfort",
    session="Session",
    no_answer="No answer",
    passed_on="Passed on to you",
    better="Better than before",
    same="Same as before",
    worse="Worse than before",
)
SESSION = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_trend_with_a_flag_and_a_gap_draws_a_png_of_the_promised_size() -> None:
    checkins = [
        records.checkin(1, 1, id=n, day=day, due_at=SESSION + timedelta(days=day), state=state)
        for n, day, state in (
            (1, 1, CheckInState.ANSWERED),
            (2, 3, CheckInState.SENT),
            (3, 7, CheckInState.ANSWERED),
        )
    ]
    replies = [
        records.reply(
            1,
            id=1,
            checkin_id=1,
            score=7,
            comparison="worse",
            text=None,
            triage_level=TriageLevel.CONCERN,
            received_at=SESSION + timedelta(days=1),
        ),
        records.reply(
            1,
            id=3,
            checkin_id=3,
            score=2,
            comparison="better",
            text=None,
            received_at=SESSION + timedelta(days=7),
        ),
    ]
    chart = trend(checkins, replies, [records.appointment(1, 1, starts_at=SESSION)])

    png = render_trend(chart, timezone="Europe/Berlin", locale="de", words=WORDS)

    assert image_size(png) == (WIDTH_PX, HEIGHT_PX)


def test_matplotlib_is_loaded_by_the_first_chart_not_by_starting_the_bot() -> None:
    probe = "import sys, bot.app, bot.telegram.charts; print('matplotlib' in sys.modules)"
    shown = subprocess.run(  # noqa: S603 - our own interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert shown == "False"


def test_the_chart_speaks_the_readers_language() -> None:
    words = chart_words("Sam", "de")
    assert words.title == "Sam: Beschwerden nach jeder Sitzung"
    assert words.no_answer == "Keine Antwort"


def test_the_readme_picture_is_drawn_by_a_command(tmp_path: Path) -> None:
    assert screenshots.main([str(tmp_path)]) == 0
    png = (tmp_path / "trend-chart.png").read_bytes()
    assert image_size(png) == (WIDTH_PX, HEIGHT_PX)
    sample = screenshots.sample_trend()
    assert (len(sample.sessions), len(sample.points)) == (3, 9)
    assert [p.flagged for p in sample.points].count(True) == 1
    assert [p.answered for p in sample.points].count(False) == 1
