"""``triage``: what triage costs per reply, to load, and in memory.

Every line of the labelled corpora (``tests/triage_corpus/``, both languages, development
and blind) is triaged ``rounds`` times, each reply timed on its own, and each round
starts with the words read so far forgotten (as in a bot just started): ``p50_ms`` and
``p99_ms`` over all of them. Before, the rules of every language are loaded from their
data files and the dictionaries opened (``rules_load_s``: what the bot pays once at
start-up), then the second opinion's models (``model_load_s``). Every reply is timed by
the rules alone (``rules_only_p99_ms``) and with the second opinion (``p99_ms``).
``rss_mb`` is the process's peak resident memory at the end and ``rss_increase_mb`` how
much loading and running triage added to it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, percentile, progress, rounded
from bot.domain.triage import SecondOpinion, triage
from bot.domain.triage_lexicon import Lexicon
from bot.triage_rules import available_locales, load_lexicon
from bot.triage_second_opinion import second_opinion

CORPUS = REPO_ROOT / "tests" / "triage_corpus"
TARGET_P99_MS = 20.0
"""With the second opinion."""
TARGET_RULES_P99_MS = 5.0
TARGET_MODEL_LOAD_S = 1.0


def _memory_mb() -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB (Linux)."""
    fields = dict(
        line.split(":", 1)
        for line in Path("/proc/self/status").read_text("ascii").splitlines()
        if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _replies(locale: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted(CORPUS.glob(f"*/{locale}.jsonl")):
        lines.extend(json.loads(raw) for raw in path.read_text("utf-8").splitlines())
    return lines


def _timed(
    work: list[tuple[Lexicon, dict[str, Any]]], rounds: int, opinion: SecondOpinion | None
) -> list[float]:
    timings: list[float] = []
    lexicons = {id(lexicon): lexicon for lexicon, _ in work}
    for _ in range(rounds):
        for lexicon in lexicons.values():  # each round reads its words afresh
            lexicon.forget_words()
        for lexicon, line in work:
            previous = [] if line["previous_score"] is None else [line["previous_score"]]
            began = time.perf_counter()
            triage(line["text"], line["score"], previous, lexicon, second_opinion=opinion)
            timings.append((time.perf_counter() - began) * 1000)
    return timings


async def run(rounds: int = 5) -> dict[str, Any]:
    """Load the rules and the models; triage every corpus line ``rounds`` times, by the
    rules alone and with the second opinion; the figures."""
    rss_before, _ = _memory_mb()
    started = time.perf_counter()
    lexicons = {locale: load_lexicon(locale) for locale in available_locales()}
    for lexicon in lexicons.values():  # the first reply opens the dictionaries
        triage("warm up", None, (), lexicon)
    rules_load_s = time.perf_counter() - started
    progress(f"triage: rules of {', '.join(lexicons)} loaded in {rules_load_s:.2f} s")
    started = time.perf_counter()
    opinion = second_opinion()
    model_load_s = time.perf_counter() - started
    progress(f"triage: models of {', '.join(opinion.models)} loaded in {model_load_s:.2f} s")
    work = [(lexicons[locale], line) for locale in lexicons for line in _replies(locale)]
    rules_only = _timed(work, rounds, None)
    timings = _timed(work, rounds, opinion)
    _, peak = _memory_mb()
    p99 = percentile(timings, 99)
    progress(f"triage: {len(timings)} replies, p99 {p99:.2f} ms with the second opinion")
    return {
        "benchmark": "triage",
        "replies": len(timings),
        "distinct_replies": len(work),
        "p50_ms": rounded(percentile(timings, 50), 3),
        "p99_ms": rounded(p99, 3),
        "max_ms": rounded(max(timings), 3),
        "target_p99_ms": TARGET_P99_MS,
        "rules_only_p50_ms": rounded(percentile(rules_only, 50), 3),
        "rules_only_p99_ms": rounded(percentile(rules_only, 99), 3),
        "rules_only_target_p99_ms": TARGET_RULES_P99_MS,
        "rules_load_s": rounded(rules_load_s, 3),
        "second_opinion": "character n-gram model, " + ", ".join(opinion.models),
        "model_load_s": rounded(model_load_s, 3),
        "target_model_load_s": TARGET_MODEL_LOAD_S,
        "rss_mb": rounded(peak, 1),
        "rss_increase_mb": rounded(peak - rss_before, 1),
    }
