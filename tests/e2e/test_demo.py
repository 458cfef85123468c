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
    for sent in ("Practitioner ▸ /start", "Client ▸ /start", "Client ▸ /help", "Client ▸ /privacy"):
        assert sent in out
    assert "registered as a practitioner" in out
    assert "use the invite link" in out
    assert "Only your own practitioner" in out
    assert messages.render_plain("input.not_text").split(".")[0] in out
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], "the demo leaves no files behind"
