"""Triage on labelled replies: the development lines and the blind lines, both languages.

Each test prints its figures (urgent lines judged urgent, by category too; concern or
urgent lines judged ``none``; routine lines judged concern or urgent), so ``make test``
shows them. The development lines are the ones the rules were written against: there
triage must be right on every line. The blind lines were written by someone who had read
neither the rules nor the development lines; their first score is in the README, and
these tests hold the rules to the targets on them. The *scored* lines are blind lines
whose first score is recorded and which wait to join the development set: the rules are
tuned against them next, so they no longer measure words nobody tuned the rules to.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.triage_quality import CORPUS, Report, load, measure

LOCALES = ("en", "de")
BLIND_MINIMUM = {"en": 300, "de": 120}
URGENT_RECALL = 0.95
MISSED = 0.08
FALSE_ALARMS = 0.10


def _show(name: str, locale: str, report: Report, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        summary = json.dumps(report.summary(), indent=1, ensure_ascii=False)
        sys.stdout.write(f"\ntriage, {name} lines, {locale}: {summary}\n")


def _misses(report: Report) -> str:
    return "\n".join(f"{e} → {g} [{c}] {t}" for e, g, c, t in report.misses)


@pytest.mark.parametrize("locale", LOCALES)
def test_development_lines_are_all_right(locale: str, capsys: pytest.CaptureFixture[str]) -> None:
    report = measure(load(CORPUS / "development" / f"{locale}.jsonl"), locale)
    _show("development", locale, report, capsys)
    assert report.urgent_recall == 1.0, _misses(report)
    assert report.missed == 0, _misses(report)
    assert report.false_alarms == 0, _misses(report)


@pytest.mark.parametrize("locale", LOCALES)
def test_blind_lines_meet_the_targets(locale: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "blind" / f"{locale}.jsonl"
    if not path.exists():
        pytest.skip(f"no blind lines in {locale} yet: every set so far has joined development")
    lines = load(path)
    assert len(lines) >= BLIND_MINIMUM[locale]
    report = measure(lines, locale)
    _show("blind", locale, report, capsys)
    assert report.urgent_recall >= URGENT_RECALL, _misses(report)
    assert report.missed_rate <= MISSED, _misses(report)
    assert report.false_alarm_rate <= FALSE_ALARMS, _misses(report)


@pytest.mark.parametrize("folder", ["development", "blind", "scored"])
@pytest.mark.parametrize("locale", LOCALES)
def test_every_line_is_labelled_with_a_known_category(folder: str, locale: str) -> None:
    categories = {
        "suicide_passive", "suicide_active", "self_harm", "overdose", "stroke", "chest",
        "dvt", "cauda_equina", "headache_meningitis", "violence_abuse", "fainting_collapse",
        "anaphylaxis", "breathing", "other_person_now", "other_emergency", "worse_pain",
        "lasting", "dizziness", "sleepless", "low_mood", "not_well", "contradiction",
        "numbness_tingling", "emotional_unsettled", "past_red_flag", "new_symptom",
        "anxiety_trauma", "contact_request", "score_only", "healing_reaction", "better",
        "negated", "other_or_past", "idiom_joke", "practical",
    }  # fmt: skip
    path = CORPUS / folder / f"{locale}.jsonl"
    if not path.exists():
        pytest.skip(f"no {folder} lines in {locale}")
    lines = load(path)
    assert {line.category for line in lines} <= categories
