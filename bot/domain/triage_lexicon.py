"""The compiled triage rules of one locale: rules, phrases, negation, scores.

:class:`Lexicon` holds what ``bot.triage_rules`` builds from a locale's data file, and
reads a text into the words its phrases are matched against (stretched letters
squeezed, misspellings of long words of ``fuzzy`` rules recognised).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from bot.domain.models import TriageLevel
from bot.domain.triage_text import (
    COMMA,
    GAP,
    STOP,
    Normaliser,
    join_spelled_out,
    one_edit,
    tokenize,
)

_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")


@dataclass(frozen=True, slots=True)
class Rule:
    """A group of phrases and what a match means.

    ``level`` ``None`` marks a signal: it counts only inside a :class:`Combination`.
    A match counts at ``resolved_level`` when a resolution cue follows it.
    """

    id: str
    level: TriageLevel | None
    reason: str = ""
    negatable: bool = True
    hedgeable: bool = False
    resolved_level: TriageLevel = TriageLevel.NONE
    fuzzy: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of a rule (or an idiom or cue), as normalised words."""

    words: tuple[str, ...]
    rule: str


@dataclass(frozen=True, slots=True)
class Combination:
    """Signals that together mean more: every rule in ``all_of`` matched near each other.

    ``within`` is ``"sentence"``, ``"message"``, or at most that many words apart.
    """

    all_of: tuple[str, ...]
    level: TriageLevel
    reason: str
    within: int | Literal["sentence", "message"] = "sentence"
    resolved_level: TriageLevel = TriageLevel.NONE


@dataclass(frozen=True, slots=True)
class Negation:
    """Words that cancel a phrase before them, and what limits their reach."""

    cues: tuple[tuple[str, ...], ...] = ()
    hedges: tuple[tuple[str, ...], ...] = ()
    pseudo: tuple[tuple[str, ...], ...] = ()
    breakers: frozenset[str] = frozenset()
    transparent: frozenset[str] = frozenset()
    scope: int = 4


@dataclass(frozen=True, slots=True)
class ScoreRules:
    """Thresholds for the 0-10 discomfort scale and the reasons they give."""

    high: int = 8
    rise: int = 3
    out_of: tuple[str, ...] = ("/",)
    text_needs: str = ""
    """A written score such as ``8/10`` counts only beside a phrase of this rule (say, a
    symptom: "10/10 session" is praise); empty: always."""
    high_reason: str = "high discomfort: {score}/10"
    rise_reason: str = "discomfort rose by {rise} points, from {previous} to {score}"
    text_reason: str = "describes discomfort as {score}/10"
    much_worse_reason: str = "much worse than before the session"
    worse_twice_reason: str = "worse two check-ins in a row"
    resolved_reason: str = "{reason} (now passed)"


@dataclass(frozen=True, slots=True)
class _PhraseSet:
    """Phrases without rules (idioms, cues), indexed by their first word."""

    index: Mapping[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def of(cls, phrases: Iterable[tuple[str, ...]]) -> _PhraseSet:
        index: dict[str, list[tuple[str, ...]]] = {}
        for words in phrases:
            if words and words[0] != GAP:
                index.setdefault(words[0], []).append(words)
        return cls(MappingProxyType({k: tuple(v) for k, v in index.items()}))


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The compiled triage rules of one locale. Build it with ``bot.triage_rules``."""

    locale: str
    normaliser: Normaliser
    rules: Mapping[str, Rule]
    phrases: tuple[Phrase, ...]
    idioms: tuple[tuple[str, ...], ...] = ()
    combinations: tuple[Combination, ...] = ()
    negation: Negation = Negation()
    resolution: tuple[tuple[str, ...], ...] = ()
    resolution_scope: int = 6
    fuzzy_min_length: int = 6
    fuzzy_exempt: frozenset[str] = frozenset()
    scores: ScoreRules = ScoreRules()
    also: tuple[Lexicon, ...] = ()
    """Rules of other languages that apply too (self-harm language), each read with its
    own language's spelling rules; only their urgent and concern signals count."""
    _index: Mapping[str, tuple[Phrase, ...]] = field(init=False, repr=False, compare=False)
    _prefixed: tuple[Phrase, ...] = field(init=False, repr=False, compare=False)
    _sets: Mapping[str, _PhraseSet] = field(init=False, repr=False, compare=False)
    _vocabulary: frozenset[str] = field(init=False, repr=False, compare=False)
    _skeletons: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _fuzzy: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _text_score: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = {p.rule for p in self.phrases} - self.rules.keys()
        unknown |= {r for c in self.combinations for r in c.all_of} - self.rules.keys()
        if unknown:
            raise ValueError(f"phrases or combinations name unknown rules: {sorted(unknown)}")
        index: dict[str, list[Phrase]] = {}
        prefixed: list[Phrase] = []
        for phrase in self.phrases:
            if not phrase.words or phrase.words[0] == GAP or phrase.words[-1] == GAP:
                raise ValueError(f"phrase {' '.join(phrase.words)!r} of rule {phrase.rule}")
            if phrase.words[0].endswith(GAP):
                prefixed.append(phrase)
            else:
                index.setdefault(phrase.words[0], []).append(phrase)
        others = (*self.idioms, *self.resolution, *self.negation.cues, *self.negation.hedges)
        words = {w for p in self.phrases for w in p.words}
        words |= {w for p in (*others, *self.negation.pseudo) for w in p}
        words = {w.removesuffix(GAP) for w in words if w not in (GAP, STOP, COMMA)}
        fuzzy: dict[str, list[str]] = {}
        for phrase in self.phrases:
            if self.rules[phrase.rule].fuzzy:
                for word in phrase.words:
                    if len(word) >= self.fuzzy_min_length and not word.endswith(GAP):
                        fuzzy.setdefault(word[0], []).append(word)
        marks = "|".join(re.escape(m) for m in sorted(self.scores.out_of, key=len, reverse=True))
        pattern = rf"(?<![\d.,])(10|\d)\s*(?:{marks})\s*10(?![\d])" if marks else r"(?!x)x"
        setattr_ = object.__setattr__
        setattr_(self, "_index", MappingProxyType({k: tuple(v) for k, v in index.items()}))
        setattr_(self, "_prefixed", tuple(prefixed))
        setattr_(self, "_vocabulary", frozenset(words))
        ordered = sorted(words, key=lambda w: (-len(w), w))  # on a tie the shortest word wins
        setattr_(self, "_skeletons", MappingProxyType({_RUN2.sub(r"\1", w): w for w in ordered}))
        setattr_(
            self, "_fuzzy", MappingProxyType({k: tuple(sorted(set(v))) for k, v in fuzzy.items()})
        )
        setattr_(self, "_text_score", re.compile(pattern))
        sets = {
            "idioms": self.idioms,
            "cues": self.negation.cues,
            "hedges": self.negation.hedges,
            "pseudo": self.negation.pseudo,
            "resolution": self.resolution,
        }
        setattr_(self, "_sets", MappingProxyType({k: _PhraseSet.of(v) for k, v in sets.items()}))

    def phrase_set(self, name: str) -> _PhraseSet:
        """``idioms``, ``cues``, ``hedges``, ``pseudo`` or ``resolution``, indexed."""
        return self._sets[name]

    def read(self, text: str) -> tuple[list[str], list[int]]:
        """The text as matchable words, framed by stops, with each word's sentence number."""
        norm = self.normaliser
        memo: dict[str, tuple[str, ...]] = {}
        words: list[str] = [STOP]
        for kind, token in join_spelled_out(tokenize(norm.clean(text))):
            if kind != "word":
                words.append(token)
                continue
            if token not in memo:
                memo[token] = tuple(self._recognise(w) for w in self._respell(token))
            words.extend(memo[token])
        words.append(STOP)
        sentences, number = [], 0
        for word in words:
            number += word == STOP
            sentences.append(number)
        return words, sentences

    def _respell(self, token: str) -> tuple[str, ...]:
        spelled = self.normaliser.spell(token)
        if len(spelled) == 1 and spelled[0] not in self._vocabulary and _RUN3.search(token):
            return self.normaliser.spell(self._squeeze(token))
        return spelled

    def _squeeze(self, word: str) -> str:
        """``sooooo`` → ``so``, ``diiiie`` → ``die``: the squeezed form the lexicon knows."""
        for candidate in (_RUN3.sub(r"\1\1", word), _RUN3.sub(r"\1", word)):
            if candidate in self._vocabulary or candidate in self.normaliser.substitutions:
                return candidate
        return self._skeletons.get(_RUN2.sub(r"\1", word), _RUN3.sub(r"\1\1", word))

    def _recognise(self, word: str) -> str:
        """A misspelling of a long word of a fuzzy rule (one edit, same first letter)."""
        if (
            word in self._vocabulary
            or len(word) < self.fuzzy_min_length
            or word in self.fuzzy_exempt
        ):
            return word
        for known in self._fuzzy.get(word[0], ()):
            if abs(len(known) - len(word)) <= 1 and one_edit(word, known):
                return known
        return word

    def starting(self, word: str) -> Iterable[Phrase]:
        """The phrases that may start with ``word``."""
        yield from self._index.get(word, ())
        for phrase in self._prefixed:
            if word.startswith(phrase.words[0][:-1]):
                yield phrase

    def text_scores(self, text: str) -> list[int]:
        """Scores written in the text, such as ``8/10``."""
        return [
            int(found.group(1)) for found in self._text_score.finditer(self.normaliser.clean(text))
        ]
