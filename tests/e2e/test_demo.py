"""``stillpoint demo``, the first command of the README, as a newcomer runs it."""

from pathlib import Path

import pytest

import messages
from tests.e2e.conftest import stillpoint

pytestmark = pytest.mark.e2e


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
        "Visitor ▸ /start",
    ]
    positions = [out.find(text) for text in scenes]
    assert -1 not in positions, [s for s, at in zip(scenes, positions, strict=True) if at < 0]
    assert positions == sorted(positions), "the story is told in order"
    assert out.count("Reminder: your session with") == 2
    assert "use the invite link" in out
    assert messages.render_plain("access.practitioners_only").split(".")[0] in out
    assert messages.render_plain("input.not_text").split(".")[0] in out
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], "the demo leaves no files behind"
