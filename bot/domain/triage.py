"""Triage of a check-in reply: ``none``, ``concern`` or ``urgent``, with reasons.

Pure and explainable: the words come from a :class:`Lexicon` (built from a locale's data
file by ``bot.triage_rules``), the rest from the score, the change and earlier check-ins.
Every signal that raises the level names itself in ``reasons``; the level is the highest
of all signals.

How text is read
    The text is normalised (NFKC, casefold, accents dropped, the locale's character
    replacements) and cut into words, emoji and stops. Each word is then read as the
    lexicon's words are written: text-speak and contractions replaced (``wanna`` → ``want
    to``, ``can't`` → ``can not``, ``2`` → ``to``), digits inside words read as letters
    (``su1c1de``), stretched letters squeezed (``sooooo`` → ``so``), and a misspelling one
    edit from a long word of a ``fuzzy`` rule read as that word (``suicidle``).

How phrases match
    A phrase is a run of words; ``*`` stands for up to three words between, ``word*`` for
    any word that starts so, ``.`` for a sentence boundary (``. help .`` is a reply that
    is just "help"). Phrases never span a comma or a stop. Idioms are found first and
    their words taken out of play ("dying for a nap").

Negation, hedges and resolution
    A negation cue (``no``, ``not``, ``never``...) up to ``scope`` words before a phrase
    cancels it, unless the rule is not ``negatable`` (self-harm language never is). A
    hedge (``if``, ``worried I would``) cancels only ``hedgeable`` rules. A resolution
    cue after a phrase ("gone now", "better today") means it has passed: the rule then
    counts at its ``resolved_level``.

The reading of text is in :mod:`bot.domain.triage_text`, the rules and their compiled
form in :mod:`bot.domain.triage_lexicon`; this module matches them and weighs the signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Literal

from bot.domain.models import TriageLevel
from bot.domain.triage_lexicon import Combination, Lexicon, ScoreRules
from bot.domain.triage_text import COMMA, GAP, MAX_GAP, STOP

MAX_COMBINED = 64
"""Matches per part of a combination considered (bounds the work on hostile input)."""
CHANGES = ("much_better", "better", "same", "worse", "much_worse")
"""The answers to "Compared with before the session?"."""
WORSE = frozenset({"worse", "much_worse"})
SCORE_RANGE = range(11)

_RANK = {TriageLevel.NONE: 0, TriageLevel.CONCERN: 1, TriageLevel.URGENT: 2}


@dataclass(frozen=True, slots=True)
class TriageResult:
    """How worrying a reply is, and why.

    ``reasons`` are short phrases a practitioner understands, most serious first (empty
    for ``none``). ``reactions`` are the ids of the normal healing reactions the text
    mentions (``tired``, ``sore``, ``dreams``...), for choosing a reassuring note.
    """

    level: TriageLevel
    reasons: tuple[str, ...] = ()
    reactions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Match:
    rule: str
    start: int
    end: int  # exclusive
    negated: bool = False
    resolved: bool = False


class _Reader:
    """One text read against one lexicon: matches, negation and resolution."""

    def __init__(self, lexicon: Lexicon, text: str) -> None:
        self.lexicon = lexicon
        self.words, self.sentences = lexicon.read(text)
        self.masked = [False] * len(self.words)
        self.no_gap = {cue[0] for cue in lexicon.negation.cues if len(cue) == 1}
        for start, end in self.find("idioms"):
            self.masked[start:end] = [True] * (end - start)
        self.raw = self._rule_matches()
        covered = {
            i
            for m in self.raw
            if lexicon.rules[m.rule].level is not TriageLevel.NONE
            for i in range(m.start, m.end)
        }
        self.covered = covered
        pseudo = {i for s, e in self.find("pseudo") for i in range(s, e)}
        self.cue_ends = self._cue_ends("cues", covered | pseudo)
        self.hedge_ends = self._cue_ends("hedges", covered | pseudo)
        self.resolutions = {
            start
            for start, end in self.find("resolution")
            if not covered.issuperset(range(start, end)) and not self.negated_at(start, 2)
        }

    def find(self, name: str) -> list[tuple[int, int]]:
        """Every (start, end) where a phrase of the lexicon's set ``name`` occurs."""
        index = self.lexicon.phrase_set(name).index
        found = []
        for start, word in enumerate(self.words):
            for words in index.get(word, ()):
                end = self._match(words, 0, start)
                if end is not None:
                    found.append((start, end))
        return found

    def _match(self, words: tuple[str, ...], k: int, i: int) -> int | None:
        if k == len(words):
            return i
        if words[k] == GAP:
            for skip in range(MAX_GAP + 1):
                end = self._match(words, k + 1, i + skip)
                if end is not None:
                    return end
                if i + skip >= len(self.words) or not self._plain(i + skip):
                    return None
            return None
        if i >= len(self.words) or self.masked[i]:
            return None
        word, want = self.words[i], words[k]
        ok = word.startswith(want[:-1]) if want.endswith(GAP) and len(want) > 1 else word == want
        return self._match(words, k + 1, i + 1) if ok else None

    def _plain(self, i: int) -> bool:
        """Whether word ``i`` may fill a gap: not a boundary, an idiom or a negation."""
        word = self.words[i]
        return not self.masked[i] and word not in (STOP, COMMA) and word not in self.no_gap

    def _rule_matches(self) -> list[_Match]:
        seen: set[tuple[str, int]] = set()
        matches = []
        for start, word in enumerate(self.words):
            if self.masked[start]:
                continue
            for phrase in self.lexicon.starting(word):
                if (phrase.rule, start) in seen:
                    continue
                end = self._match(phrase.words, 0, start)
                if end is not None:
                    seen.add((phrase.rule, start))
                    matches.append(_Match(phrase.rule, start, end))
        return matches

    def _cue_ends(self, name: str, ignored: set[int]) -> set[int]:
        """Where each cue of set ``name`` ends; not those wholly inside a rule's own phrase
        ("can not breathe") or a pseudo-negation ("not sure"), nor a cue standing alone
        ("No, ...")."""
        ends = set()
        for start, end in self.find(name):
            interjection = end < len(self.words) and self.words[end] in (STOP, COMMA)
            if not ignored.issuperset(range(start, end)) and not interjection:
                ends.add(end - 1)
        return ends

    def negated_at(self, start: int, scope: int, *, hedges: bool = False) -> bool:
        """Whether a cue ends within ``scope`` counted words before ``start``.

        A cue reaches past a comma only through a list of signs ("no dizziness, numbness
        or chest pain"), not into another clause ("not great, worse than before").
        """
        negation = self.lexicon.negation
        counted = 0
        comma = None
        for i in range(start - 1, -1, -1):
            word = self.words[i]
            if i in self.cue_ends or (hedges and i in self.hedge_ends):
                return comma is None or self._listing(i + 1, comma)
            if word == STOP or word in negation.breakers:
                return False
            if word == COMMA:
                comma = i
            elif word not in negation.transparent:
                counted += 1
                if counted > scope:
                    return False
        return False

    def _listing(self, start: int, end: int) -> bool:
        """Whether words ``start:end`` are only signs the rules know (and fillers)."""
        transparent = self.lexicon.negation.transparent
        return all(
            i in self.covered or self.words[i] in transparent or self.words[i] == COMMA
            for i in range(start, end)
        )

    def resolved_after(self, end: int) -> bool:
        """Whether a resolution cue follows within the lexicon's scope, same sentence."""
        counted = 0
        for i in range(end, len(self.words)):
            if i in self.resolutions:
                return True
            word = self.words[i]
            if word == STOP:
                return False
            skip = word == COMMA or word in self.lexicon.negation.transparent
            if not skip and word not in self.lexicon.negation.breakers:
                counted += 1
                if counted > self.lexicon.resolution_scope:
                    return False
        return False

    def matches(self) -> list[_Match]:
        """Every rule match with its negation and resolution decided."""
        out = []
        scope = self.lexicon.negation.scope
        for match in self.raw:
            rule = self.lexicon.rules[match.rule]
            negated = rule.negatable and self.negated_at(match.start, scope, hedges=rule.hedgeable)
            resolved = rule.negatable and not negated and self.resolved_after(match.end)
            out.append(_Match(match.rule, match.start, match.end, negated, resolved))
        return out


AFTER_TEXT = 1 << 30
"""Where score and change signals sort among reasons: after those from the words."""


@dataclass(slots=True)
class _Signals:
    """Levels and reasons collected so far; the level is the highest."""

    found: list[tuple[TriageLevel, int, str]] = field(default_factory=list)

    def add(self, level: TriageLevel, reason: str, at: int = AFTER_TEXT) -> None:
        if level is not TriageLevel.NONE and reason:
            self.found.append((level, at, reason))

    def result(self, reactions: Sequence[str]) -> TriageResult:
        if not self.found:
            return TriageResult(TriageLevel.NONE, (), tuple(reactions))
        ordered = sorted(self.found, key=lambda f: (-_RANK[f[0]], f[1]))
        reasons = tuple(dict.fromkeys(reason for _, _, reason in ordered))
        return TriageResult(ordered[0][0], reasons, tuple(reactions))


def triage(
    text: str | None,
    score: int | None,
    previous_scores: Sequence[int],
    lexicon: Lexicon,
    *,
    change: str | None = None,
    previous_changes: Sequence[str | None] = (),
) -> TriageResult:
    """Triage one reply.

    ``score`` is today's discomfort (0 = none, 10 = worst imaginable) or ``None``;
    ``previous_scores`` (answered scores only) and ``previous_changes`` (``None`` where
    not answered) are from earlier check-ins, oldest first;
    ``change`` is today's answer to "compared with before the session?" (one of
    :data:`CHANGES`) or ``None``. Raises ``ValueError`` for a score outside 0-10 or an
    unknown change; never for any text.
    """
    _check(score, previous_scores, change, previous_changes)
    signals = _Signals()
    reactions = _read_text(text or "", lexicon, signals)
    for other in lexicon.also:
        _read_text(text or "", other, signals)
    _score_signals(score, previous_scores, lexicon.scores, signals)
    _change_signals(change, previous_changes, lexicon.scores, signals)
    return signals.result(reactions)


def _check(
    score: int | None,
    previous_scores: Sequence[int],
    change: str | None,
    previous_changes: Sequence[str | None],
) -> None:
    for value in previous_scores if score is None else (score, *previous_scores):
        if type(value) is not int or value not in SCORE_RANGE:
            raise ValueError(f"a score is a whole number from 0 to 10, not {value!r}")
    for answer in (change, *previous_changes):
        if answer is not None and answer not in CHANGES:
            raise ValueError(f"unknown change {answer!r}; use one of {', '.join(CHANGES)}")


def _read_text(text: str, lexicon: Lexicon, signals: _Signals) -> list[str]:
    """Add the text's signals; return the healing reactions it mentions."""
    reader = _Reader(lexicon, text)
    matches = reader.matches()
    calm: list[_Match] = []
    template = lexicon.scores.resolved_reason
    found: list[tuple[_Match, TriageLevel, str]] = []
    for match in matches:
        rule = lexicon.rules[match.rule]
        if match.negated or rule.level is None:
            continue
        if match.resolved:
            reason = template.format(reason=rule.reason) if rule.reason else ""
            found.append((match, rule.resolved_level, reason))
        elif rule.level is TriageLevel.NONE:
            calm.append(match)
        else:
            found.append((match, rule.level, rule.reason))
    reach = {level: _reach(found, level, len(reader.words)) for level in _RANK}
    for match, level, reason in found:
        if reach[level][match.start] < match.end:
            signals.add(level, reason, match.start)
    reactions = [m.rule for m in calm if reach[TriageLevel.NONE][m.start] < m.end]
    for combination in lexicon.combinations:
        _combine(combination, matches, reader, template, signals)
    needs = lexicon.scores.text_needs
    if needs and not any(m.rule == needs and not m.negated for m in matches):
        return list(dict.fromkeys(reactions))
    for value in lexicon.text_scores(text):
        if value >= lexicon.scores.high:
            signals.add(TriageLevel.CONCERN, lexicon.scores.text_reason.format(score=value))
    return list(dict.fromkeys(reactions))


def _reach(
    found: Sequence[tuple[_Match, TriageLevel, str]], level: TriageLevel, size: int
) -> list[int]:
    """For each word, how far the more serious matches starting at or before it reach.

    A match ending within that reach is covered by a more serious reading of the same
    words ("want to hurt myself" is self-harm language, not also an injury).
    """
    reach = [0] * (size + 1)
    for match, other, _ in found:
        if _RANK[other] > _RANK[level]:
            reach[match.start] = max(reach[match.start], match.end)
    for i in range(1, size + 1):
        reach[i] = max(reach[i], reach[i - 1])
    return reach


def _combine(
    combination: Combination,
    matches: Sequence[_Match],
    reader: _Reader,
    template: str,
    signals: _Signals,
) -> None:
    parts = [
        [m for m in matches if m.rule == rule and not m.negated][:MAX_COMBINED]
        for rule in combination.all_of
    ]
    best: tuple[bool, int] | None = None  # (resolved, position)
    for chosen in product(*parts):
        if not _near(chosen, combination.within, reader):
            continue
        candidate = (any(m.resolved for m in chosen), min(m.start for m in chosen))
        if best is None or candidate < best:
            best = candidate
    if best is None:
        return
    resolved, at = best
    if resolved:
        signals.add(combination.resolved_level, template.format(reason=combination.reason), at)
    else:
        signals.add(combination.level, combination.reason, at)


def _near(
    chosen: Sequence[_Match],
    within: int | Literal["sentence", "message"],
    reader: _Reader,
) -> bool:
    """Whether the chosen matches are close enough: same sentence, or at most ``within``
    words apart with no comma between."""
    words, sentences = reader.words, reader.sentences
    if len({(m.start, m.end) for m in chosen}) < len(chosen):
        return False  # one phrase cannot stand for two signals
    if within == "message":
        return True
    if len({sentences[m.start] for m in chosen}) > 1:
        return False
    if within == "sentence":
        return True
    first, last = min(m.end for m in chosen), max(m.start for m in chosen)
    return last - first <= within and COMMA not in words[first:last]


def _score_signals(
    score: int | None, previous: Sequence[int], rules: ScoreRules, signals: _Signals
) -> None:
    if score is None:
        return
    if score >= rules.high:
        signals.add(TriageLevel.CONCERN, rules.high_reason.format(score=score))
    if previous and score - previous[-1] >= rules.rise:
        rise = score - previous[-1]
        reason = rules.rise_reason.format(rise=rise, previous=previous[-1], score=score)
        signals.add(TriageLevel.CONCERN, reason)


def _change_signals(
    change: str | None,
    previous: Sequence[str | None],
    rules: ScoreRules,
    signals: _Signals,
) -> None:
    if change == "much_worse":
        signals.add(TriageLevel.CONCERN, rules.much_worse_reason)
    if change in WORSE and previous and previous[-1] in WORSE:
        signals.add(TriageLevel.CONCERN, rules.worse_twice_reason)


def level_rank(level: TriageLevel) -> int:
    """Order of levels: none < concern < urgent."""
    return _RANK[level]
