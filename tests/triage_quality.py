"""How well triage does on labelled replies: the three figures and urgent recall by category.

The corpora in ``tests/triage_corpus/`` are JSON Lines, one reply per line:
``{"text", "score", "previous_score", "expected", "category"}``, where ``expected`` is
``none``, ``concern`` or ``urgent`` and ``category`` names what the line is about
(``overdose``, ``stroke``, ``idiom_joke``...). ``development/`` holds the lines the
rules may be written against; ``blind/`` the lines written by someone who had read
neither the rules nor the development lines, kept apart so that their figures say how
triage does on words nobody tuned it to (their first score is in the README); ``scored/``
the blind lines whose first score is recorded and which wait to join the development set.

Run on a file: ``python -m tests.triage_quality FILE --locale en [--misses]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.models import TriageLevel
from bot.domain.triage import triage
from bot.triage_rules import load_lexicon
from bot.triage_second_opinion import second_opinion

CORPUS = Path(__file__).resolve().parent / "triage_corpus"
KEYS = {"text", "score", "previous_score", "expected", "category"}


@dataclass(frozen=True)
class Line:
    """One labelled reply."""

    text: str
    score: int | None
    previous_score: int | None
    expected: TriageLevel
    category: str


@dataclass
class Report:
    """The figures of one corpus."""

    lines: int = 0
    urgent: Counter[str] = field(default_factory=Counter)
    urgent_caught: Counter[str] = field(default_factory=Counter)
    flagged: int = 0
    missed: int = 0
    routine: int = 0
    false_alarms: int = 0
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def urgent_recall(self) -> float:
        """Urgent lines judged urgent."""
        return _ratio(sum(self.urgent_caught.values()), sum(self.urgent.values()))

    @property
    def missed_rate(self) -> float:
        """Concern or urgent lines judged ``none``."""
        return _ratio(self.missed, self.flagged)

    @property
    def false_alarm_rate(self) -> float:
        """Routine lines judged concern or urgent."""
        return _ratio(self.false_alarms, self.routine)

    def summary(self) -> dict[str, object]:
        """The figures as a JSON-ready dict."""
        total = sum(self.urgent.values())
        return {
            "lines": self.lines,
            "urgent judged urgent": _shown(sum(self.urgent_caught.values()), total),
            "concern or urgent judged none": _shown(self.missed, self.flagged),
            "routine judged concern or urgent": _shown(self.false_alarms, self.routine),
            "urgent judged urgent, by category": {
                category: _shown(self.urgent_caught[category], count)
                for category, count in sorted(self.urgent.items())
            },
        }


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0 if part == 0 else 0.0


def _shown(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.1f}%" if whole else "0/0"


def load(path: Path) -> list[Line]:
    """The labelled lines of one file; a malformed line fails with its number."""
    lines = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        item = json.loads(raw)
        if set(item) != KEYS:
            raise ValueError(f"{path}:{number}: keys must be {sorted(KEYS)}, not {sorted(item)}")
        lines.append(
            Line(
                item["text"],
                item["score"],
                item["previous_score"],
                TriageLevel(item["expected"]),
                item["category"],
            )
        )
    return lines


def measure(lines: Sequence[Line], locale: str) -> Report:
    """Triage every line with the locale's rules and count what matches its label."""
    lexicon = load_lexicon(locale)
    opinion = second_opinion()
    report = Report(lines=len(lines))
    for line in lines:
        previous = [] if line.previous_score is None else [line.previous_score]
        level = triage(line.text, line.score, previous, lexicon, second_opinion=opinion).level
        if line.expected is TriageLevel.URGENT:
            report.urgent[line.category] += 1
            report.urgent_caught[line.category] += level is TriageLevel.URGENT
        if line.expected is TriageLevel.NONE:
            report.routine += 1
            report.false_alarms += level is not TriageLevel.NONE
        else:
            report.flagged += 1
            report.missed += level is TriageLevel.NONE
        if level is not line.expected:
            report.misses.append((line.expected.value, level.value, line.category, line.text))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Print one file's figures as JSON (and, with ``--misses``, every line judged
    otherwise than labelled)."""
    parser = argparse.ArgumentParser(prog="python -m tests.triage_quality")
    parser.add_argument("file", type=Path)
    parser.add_argument("--locale", default="en")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    report = measure(load(args.file), args.locale)
    sys.stdout.write(json.dumps(report.summary(), indent=1, ensure_ascii=False) + "\n")
    if args.misses:
        for expected, got, category, text in report.misses:
            sys.stdout.write(f"{expected:>7} → {got:<7} {category:<20} {text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
