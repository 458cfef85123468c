"""``stillpoint demo``, the first command of the README, as a newcomer runs it."""

from pathlib import Path

import pytest

import messages
from tests.e2e.conftest import stillpoint

pytestmark = pytest.mark.e2e


_CHART = "[a chart picture, 1200\N{MULTIPLICATION SIGN}800 PNG, "


def test_demo_prints_the_whole_transcript(tmp_path: Path) -> None:
    process = stillpoint("demo", cwd=tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    scenes = [
        "Practitioner ▸ /newclient Sample Client",
        "Client ▸ [Agree]",
        "Sample Client agreed and joined",
        "Practitioner ▸ /book Sample",
        "Booked: Sample Client",
        "is booked for you",
        "Client ▸ [✅ Confirm]",
        "Sample Client confirmed their session",
        "Practitioner ▸ /today",
        "Practitioner ▸ [✅ Acknowledge]",
        "Practitioner ▸ [✉️ Reply]",
        # What a practitioner sees of a client: the card, the chart, the export, the digest.
        "Practitioner ▸ /client Sample",
        "🗂 Sample Client",
        "[📈 Chart]  [📋 History]",
        "[📄 Export]  [📅 Book]",
        "Practitioner ▸ [📈 Chart]",
        _CHART,
        "Discomfort 2 → 1 over 3 check-ins since the session on",
        "Practitioner ▸ [📄 Export]",
        "[a file: stillpoint-sample-client-",
        "The record of Sample Client: ",
        "┆ received_at,checkin_day,discomfort_0_to_10,",
        _CHART,
        "☀️ Good morning. Your list for",
        "Today's sessions (1)",
        "🌿 Answers since ",
        "• Sample Client · day 7 · 1/10 (↓5)",
        "[Sample Client]",
        "Client ▸ /mydata",
        "[a file: stillpoint-my-data.json, ",
        "Everything I keep about you, as of ",
        # The practitioner's own calendar: a session only there is booked, then moved.
        "Practitioner ▸ /calendar http://127.0.0.1:",
        "📅 Connected: http://127.0.0.1/…",
        "I deleted your message with the address from this chat",
        "is booked for you",
        "🔁 Your session with",
        "📅 Whose session is this event in your calendar?",
        "Practitioner ▸ [Not a client session]",
        "Noted: Supervision call is not a client session.",
        "Visitor ▸ /start",
    ]
    positions, at = [], 0
    for text in scenes:  # each after the one before
        at = out.find(text, at)
        assert at >= 0, f"not found in order: {text!r}"
        positions.append(at)
        at += len(text)
    assert out.count("Reminder: your session with") == 2
    assert out.count("[a chart picture, ") == 2, "Chart, then Export's chart"
    assert out.count("🌿 Answers since ") == 1

    # Each answer right under the step that caused it, and only once.
    lines = out.splitlines()
    acknowledge = lines.index("  Practitioner ▸ [✅ Acknowledge]")
    confirmation = lines[acknowledge + 1]
    assert confirmation.startswith("  Stillpoint ◂ ✅ Acknowledged at "), confirmation
    assert out.count("✅ Acknowledged at ") == 1
    export = lines.index("  Practitioner ▸ [📄 Export]")
    assert lines[export + 1].startswith("  Stillpoint ◂ [a file: stillpoint-sample-client-")
    not_a_session = lines.index("  Practitioner ▸ [Not a client session]")
    assert lines[not_a_session + 1].startswith("  Stillpoint ✎ Noted: Supervision call")
    agree = lines.index("  Client ▸ [Agree]")
    assert lines[agree + 1].startswith("  Stillpoint ✎ Welcome!"), "the consent, changed in place"

    assert "use the invite link" in out
    assert messages.render_plain("access.practitioners_only").split(".")[0] in out
    assert messages.render_plain("input.not_text").split(".")[0] in out
    assert "Traceback" not in err
    assert "Unclosed" not in err, "the calendar's connection is closed at shutdown"
    assert list(tmp_path.iterdir()) == [], "the demo leaves no files behind"
