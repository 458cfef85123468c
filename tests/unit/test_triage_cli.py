"""``stillpoint triage``: JSON lines in, one JSON line out per input, in order."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str | bytes,
    *args: str,
) -> tuple[int, list[dict[str, Any]], str]:
    """Run the command; return its status, every stdout line as JSON, and stderr."""
    if isinstance(stdin, bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="ascii"))
    else:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["triage", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def lines(*items: Any) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)


def test_one_answer_per_line_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = lines(
        {"text": "so tired, a bit sore", "score": 3},
        {"text": "pain is worse", "score": 7, "previous_score": 3},
        {"text": "I dont wanna be here anymore"},
        {"text": "", "score": None, "previous_score": None},
        {"text": "ok", "score": 8},
    )
    code, answers, err = run(monkeypatch, capsys, stdin)
    assert code == 0
    assert err == ""
    assert answers == [
        {"level": "none", "reasons": []},
        {
            "level": "concern",
            "reasons": ["feeling worse", "discomfort rose by 4 points, from 3 to 7"],
        },
        {"level": "urgent", "reasons": ["self-harm language"]},
        {"level": "none", "reasons": []},
        {"level": "concern", "reasons": ["high discomfort: 8/10"]},
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "not valid JSON"),
        ('{"text": "unterminated', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        ("", "empty line"),
        ("   ", "empty line"),
        ('{"score": 3}', "text is missing"),
        ('{"text": null}', "text must be a string"),
        ('{"text": 5}', "text must be a string"),
        ('{"text": ["I want to die"]}', "text must be a string"),
        ('{"text": "ok", "score": 11}', "score must be a whole number from 0 to 10"),
        ('{"text": "ok", "score": -1}', "score must be"),
        ('{"text": "ok", "score": 7.5}', "score must be"),
        ('{"text": "ok", "score": "7"}', "score must be"),
        ('{"text": "ok", "score": true}', "score must be"),
        ('{"text": "ok", "previous_score": 99}', "previous_score must be"),
        ('{"text": "ok", "change": "awful"}', "change must be one of"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_an_invalid_line_gets_an_error_on_its_own_line_and_the_rest_goes_on(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    error: str,
) -> None:
    stdin = lines({"text": "fine"}, line, {"text": "I want to die"})
    code, answers, _ = run(monkeypatch, capsys, stdin)
    assert code == 0
    assert len(answers) == 3
    assert answers[0] == {"level": "none", "reasons": []}
    assert list(answers[1]) == ["error"]
    assert error in answers[1]["error"]
    assert answers[2]["level"] == "urgent"


def test_empty_text_is_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, answers, _ = run(monkeypatch, capsys, lines({"text": ""}, {"text": "", "score": 9}))
    assert [a["level"] for a in answers] == ["none", "concern"]


def test_no_input_no_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, "") == (0, [], "")


def test_bytes_that_are_not_utf8_get_an_error_whatever_the_terminal_encoding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = '{"text": "Müde 😴, aber gut"}\n'.encode() + b"\xff\xfe{\n" + b'{"text": "ok"}'
    code, answers, _ = run(monkeypatch, capsys, stdin)
    assert code == 0
    assert answers == [
        {"level": "none", "reasons": []},
        {"error": "the line is not UTF-8 text"},
        {"level": "none", "reasons": []},
    ]


def test_change_and_previous_change_may_be_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = lines(
        {"text": "", "change": "worse", "previous_change": "worse"},
        {"text": "", "change": "worse"},
    )
    _, answers, _ = run(monkeypatch, capsys, stdin)
    assert answers == [
        {"level": "concern", "reasons": ["worse two check-ins in a row"]},
        {"level": "none", "reasons": []},
    ]


@pytest.mark.parametrize("locale", ["de", "de-AT", "DE"])
def test_german(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], locale: str
) -> None:
    stdin = lines({"text": "Mir tut die Brust weh"}, {"text": "Keine Kopfschmerzen, nur müde"})
    _, answers, _ = run(monkeypatch, capsys, stdin, "--locale", locale)
    assert answers == [
        {"level": "urgent", "reasons": ["Notfallzeichen: Brustschmerzen"]},
        {"level": "none", "reasons": []},
    ]


def test_an_unknown_locale_is_a_usage_error_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines({"text": "ok"})))
    with pytest.raises(SystemExit) as exit_:
        main(["triage", "--locale", "fr"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2
    assert out == ""
    assert "no triage rules for 'fr'" in err


def test_needs_no_settings_database_or_env_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=nonsense\nDEFAULT_TIMEZONE=Mars/Base\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUIET_HOURS", "not a time")
    code, answers, err = run(monkeypatch, capsys, lines({"text": "I can't breathe"}))
    assert (code, err) == (0, "")
    assert answers == [{"level": "urgent", "reasons": ["emergency sign: trouble breathing"]}]
    assert list(tmp_path.iterdir()) == [tmp_path / ".env"]  # no database file appeared


def test_answers_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Same answers under different hash seeds: nothing depends on set or dict order."""
    corpus = Path(__file__).resolve().parents[1] / "triage_corpus" / "development" / "en.jsonl"
    stdin = corpus.read_bytes() + b"sooooo tooooo gooood sleeeeeppp offfff\n"
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "triage"],
            input=stdin,
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=tmp_path,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_explain_shows_every_finding_with_its_context(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = lines(
        {"text": "my grandfather had a heart attack in 2010"},
        {"text": "a stroke? no, nothing like that"},
        {"text": "took all my sleeping pills"},
    )
    code, answers, err = run(monkeypatch, capsys, stdin, "--explain")
    assert (code, err) == (0, "")
    assert [answer["level"] for answer in answers] == ["none", "none", "urgent"]
    other, negated, overdose = (answer["explain"][0] for answer in answers)
    assert (other["category"], other["words"]) == ("chest", "heart attack")
    assert (other["experiencer"], other["time"], other["negated"]) == ("other", "historical", False)
    assert other["effect"].startswith("none")
    assert (negated["category"], negated["negated"], negated["effect"]) == (
        "stroke",
        True,
        "none (negated)",
    )
    assert overdose["category"] == "overdose"
    assert overdose["words"] == "took all my sleeping pills"
    assert (overdose["experiencer"], overdose["time"], overdose["joke"]) == ("client", "now", False)
    assert overdose["effect"].startswith("urgent")


def test_without_explain_the_output_keeps_its_two_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, answers, _ = run(monkeypatch, capsys, lines({"text": "took all my sleeping pills"}))
    assert set(answers[0]) == {"level", "reasons"}
