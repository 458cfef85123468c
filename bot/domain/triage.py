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
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from types import MappingProxyType
from typing import Literal

from bot.domain.models import TriageLevel

GAP = "*"
"""In a phrase: up to ``MAX_GAP`` words in between."""
STOP = "."
"""A sentence boundary, in text and in phrases."""
COMMA = ","
MAX_GAP = 3
MAX_COMBINED = 64
"""Matches per part of a combination considered (bounds the work on hostile input)."""
CHANGES = ("much_better", "better", "same", "worse", "much_worse")
"""The answers to "Compared with before the session?"."""
WORSE = frozenset({"worse", "much_worse"})
SCORE_RANGE = range(11)

_RANK = {TriageLevel.NONE: 0, TriageLevel.CONCERN: 1, TriageLevel.URGENT: 2}
_IGNORED = re.compile("[\u00ad\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u201b\u02bc\u00b4`\u2032", "'"))
_TOKEN = re.compile(
    r"(?P<word>[^\W_]+(?:'[^\W_]+)*)|(?P<stop>[.!?;:\n\u3002]+)|(?P<comma>,)|(?P<other>\S)"
)
_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")


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
class Normaliser:
    """How a locale's words are spelled for matching; the same for text and phrases."""

    replacements: tuple[tuple[str, str], ...] = ()
    substitutions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    suffixes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    leet: Mapping[str, str] = field(default_factory=dict)

    def clean(self, text: str) -> str:
        """NFKC, casefold, no accents or invisible characters, then the replacements."""
        text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
        text = _IGNORED.sub("", text)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not _combining(c))
        for old, new in self.replacements:
            text = text.replace(old, new)
        return text

    def spell(self, word: str) -> tuple[str, ...]:
        """A word as the lexicon writes it: text-speak, contractions and digits read."""
        if word in self.substitutions:
            return self.substitutions[word]
        if self.leet and any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            word = "".join(self.leet.get(c, c) for c in word)
            if word in self.substitutions:
                return self.substitutions[word]
        for suffix, replacement in self.suffixes:
            if word.endswith(suffix) and len(word) > len(suffix):
                return (*self.spell(word[: -len(suffix)]), *replacement)
        return (word,)

    def phrase(self, text: str) -> tuple[str, ...]:
        """The words of a phrase written in a data file (``*``, ``word*`` and ``.`` kept)."""
        words: list[str] = []
        for part in text.split():
            if part in (GAP, STOP, COMMA):
                words.append(part)
            elif part.endswith(GAP):
                words.extend(f"{word}{GAP}" for word in self._words(part[:-1])[-1:])
            else:
                words.extend(self._words(part))
        return tuple(words)

    def _words(self, text: str) -> list[str]:
        words: list[str] = []
        for kind, token in tokenize(self.clean(text)):
            words.extend(self.spell(token) if kind == "word" else (token,))
        return words


def _combining(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Me")


def tokenize(clean: str) -> list[tuple[str, str]]:
    """Cut cleaned text into ``("word", w)``, ``("stop", ".")``, ``("comma", ",")`` and
    ``("symbol", emoji)``; other punctuation is dropped."""
    tokens: list[tuple[str, str]] = []
    for found in _TOKEN.finditer(clean):
        kind = found.lastgroup or "other"
        if kind == "stop":
            tokens.append(("stop", STOP))
        elif kind == "comma":
            tokens.append(("comma", COMMA))
        elif kind == "word":
            tokens.append(("word", found.group()))
        elif unicodedata.category(found.group())[0] == "S":
            tokens.append(("symbol", found.group()))
    return tokens


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
        for kind, token in _join_spelled_out(tokenize(norm.clean(text))):
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
            if abs(len(known) - len(word)) <= 1 and _one_edit(word, known):
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


def _join_spelled_out(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``s u i c i d e`` → ``suicide``: four or more single letters in a row become a word."""
    out: list[tuple[str, str]] = []
    run: list[str] = []
    for kind, token in [*tokens, ("stop", STOP)]:
        if kind == "word" and len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if len(run) >= 4:
            out.append(("word", "".join(run)))
        else:
            out.extend(("word", letter) for letter in run)
        run = []
        out.append((kind, token))
    return out[:-1]


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        if len(diffs) != 2:
            return False
        i, j = diffs
        return j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    for i, char in enumerate(short):
        if char != long[i]:
            return short[i:] == long[i + 1 :]
    return True


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
