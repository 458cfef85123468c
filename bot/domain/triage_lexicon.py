"""The compiled triage rules of one locale: concepts, flags, context cues and scores.

:class:`Lexicon` holds what ``bot.triage_rules`` builds from a locale's data file. It
reads a reply into :class:`~bot.domain.triage_text.Token` s (spelled, lemmatised,
numbered into sentences and clauses) and finds where phrases occur in them.

A *concept* is a set of phrases that mean one thing ("pill": pill, tablet, meds,
paracetamol...). A *flag* is a red flag or a reassurance: one or more patterns, each a
set of concepts that must all occur within the flag's scope (a clause by default), in
any order. Context cues (negation, time, who it is about, jokes) are phrases too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol

from bot.domain.models import TriageLevel
from bot.domain.triage_text import (
    COMMA,
    EXACT,
    FEW,
    GAP,
    MANY,
    MAX_GAP,
    NUMBER,
    QUESTION,
    STOP,
    YEAR,
    Normaliser,
    Token,
    join_spelled_out,
    one_edit,
    tokenize,
)

_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")
_BOUNDARIES = (STOP, QUESTION)

Scope = int | Literal["clause", "sentence", "message"]


class Dictionary(Protocol):
    """A language's dictionary: the dictionary form of a word, and whether it is a word."""

    def lemma(self, word: str) -> str:
        """The dictionary form of ``word`` (lower case), or ``word`` when unknown."""
        ...

    def known(self, word: str) -> bool:
        """Whether ``word`` is a word of the language (so never read as a misspelling)."""
        ...


class PlainDictionary:
    """A dictionary that knows no words: every word is its own lemma."""

    def lemma(self, word: str) -> str:
        """``word`` itself."""
        return word

    def known(self, word: str) -> bool:
        """Always ``False``."""
        return False


@dataclass(frozen=True, slots=True)
class Flag:
    """What a combination of concepts means.

    ``level`` ``none`` marks a normal healing reaction (its id names the reassuring note).
    ``persists``: "it has passed" never lowers it (suicide, self-harm, violence, stroke).
    ``denial``: which negations cancel it: ``any``; ``clear`` (only the client's own
    clear denial, for self-harm words); ``never``.
    ``about_client``: ``False`` when the words already say who it happens to (violence
    against the client: "he choked me"), so another person named is not the experiencer.
    """

    id: str
    category: str
    level: TriageLevel
    patterns: tuple[tuple[str, ...], ...]
    reason: str = ""
    source: str = ""
    scope: Scope = "clause"
    persists: bool = False
    denial: Literal["any", "clear", "never"] = "any"
    about_client: bool = True
    for_others: bool = True
    """About someone else, happening now: it stays at its level (someone in danger now)."""
    figurative: Literal["no", "none", "concern"] = "no"
    """Words often said in jest ("I'll pass out lol", "he'll kill me haha"): a laugh or
    joke marker lowers it to this level; ``no``: a joke changes nothing."""
    unless: tuple[str, ...] = ()
    """Concepts that, in the same clause, mean the words are something else ("all my
    pills" + "as prescribed" is no overdose)."""


@dataclass(frozen=True, slots=True)
class Cues:
    """The context cues of a locale, as phrases (see the data file's ``[context]``)."""

    negation: tuple[tuple[str, ...], ...] = ()
    negation_after: tuple[tuple[str, ...], ...] = ()
    answers: tuple[tuple[str, ...], ...] = ()
    asked: tuple[tuple[str, ...], ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()
    pseudo: tuple[tuple[str, ...], ...] = ()
    wobble: tuple[tuple[str, ...], ...] = ()
    hypothetical: tuple[tuple[str, ...], ...] = ()
    historical: tuple[tuple[str, ...], ...] = ()
    past: tuple[tuple[str, ...], ...] = ()
    current: tuple[tuple[str, ...], ...] = ()
    recent: tuple[tuple[str, ...], ...] = ()
    other_person: tuple[tuple[str, ...], ...] = ()
    self_person: tuple[tuple[str, ...], ...] = ()
    joke: tuple[tuple[str, ...], ...] = ()
    retraction: tuple[tuple[str, ...], ...] = ()
    recurring: tuple[tuple[str, ...], ...] = ()
    fine: tuple[tuple[str, ...], ...] = ()
    passed: tuple[tuple[str, ...], ...] = ()
    clause_words: frozenset[str] = frozenset()
    breakers: frozenset[str] = frozenset()
    transparent: frozenset[str] = frozenset()
    becoming: frozenset[str] = frozenset()
    """Passed cues that mean "became" when a word follows ("gone numb", "went blue")."""
    scope: int = 4
    passed_scope: int = 6

    def sets(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        """Every cue set that is a list of phrases, by name."""
        return {
            "negation": self.negation,
            "negation_after": self.negation_after,
            "answers": self.answers,
            "asked": self.asked,
            "alternatives": self.alternatives,
            "pseudo": self.pseudo,
            "wobble": self.wobble,
            "hypothetical": self.hypothetical,
            "historical": self.historical,
            "past": self.past,
            "current": self.current,
            "recent": self.recent,
            "other_person": self.other_person,
            "self_person": self.self_person,
            "joke": self.joke,
            "retraction": self.retraction,
            "recurring": self.recurring,
            "fine": self.fine,
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class ScoreRules:
    """Thresholds for the 0-10 discomfort scale."""

    high: int = 8
    rise: int = 3
    out_of: tuple[str, ...] = ("/",)
    text_needs: str = ""
    """A written score such as ``8/10`` counts only beside this concept (a symptom:
    "10/10 session" is praise); empty: always."""


@dataclass(frozen=True, slots=True)
class Reasons:
    """Templates of the reasons that are not a flag's own, in the practitioner's language."""

    high: str = "high discomfort: {score}/10"
    rise: str = "discomfort rose by {rise} points, from {previous} to {score}"
    text: str = "describes discomfort as {score}/10"
    much_worse: str = "much worse than before the session"
    worse_twice: str = "worse two check-ins in a row"
    passed: str = "{reason} (now passed)"
    past: str = "{reason} (in the past)"
    other: str = "{reason} (about someone else)"
    joke: str = "{reason} (said as a joke?)"
    hypothetical: str = "{reason} (as a worry)"
    resembles: str = "resembles: {category}"


_Phrase = tuple[tuple[str, ...], str]


def _literal(word: str) -> str | None:
    """The word a token's key or lemma must equal, if ``word`` is such a plain word."""
    word = word.removeprefix(EXACT)
    if word in (NUMBER, MANY, FEW, YEAR, COMMA, *_BOUNDARIES) or GAP in word:
        return None
    return word


_NUMERIC = (NUMBER, MANY, FEW, YEAR)
_MOST_WORDS_KEPT = 20_000
_STEM = 3  # a phrase starting with "suicid*" is tried on words starting with "sui"


@dataclass(frozen=True, slots=True)
class PhraseIndex:
    """Phrases, each with its owner (a concept or cue set), indexed so that each token
    tries only the phrases that could start there: by their first two words where both
    are plain words (most phrases), else by their first word, by the first letters of a
    stem ("suicid*"), or, for a number pattern, on numbers only. The rest (rare: a
    suffix such as "*ache") is tried everywhere."""

    by_pair: Mapping[tuple[str, str], tuple[_Phrase, ...]]
    by_word: Mapping[str, tuple[_Phrase, ...]]
    by_stem: Mapping[str, tuple[_Phrase, ...]]
    numeric: tuple[_Phrase, ...]
    anywhere: tuple[_Phrase, ...]

    @classmethod
    def of(cls, phrases: Iterable[_Phrase]) -> PhraseIndex:
        """Index ``(words, owner)`` pairs."""
        by_pair: dict[tuple[str, str], list[_Phrase]] = {}
        by_word: dict[str, list[_Phrase]] = {}
        by_stem: dict[str, list[_Phrase]] = {}
        numeric: list[_Phrase] = []
        anywhere: list[_Phrase] = []
        for words, owner in phrases:
            if not words or words[0] == GAP or words[-1] == GAP:
                raise ValueError(f"phrase {' '.join(words)!r} of {owner}")
            head = words[0]
            first = _literal(head)
            second = _literal(words[1]) if len(words) > 1 else None
            if head in _NUMERIC:
                numeric.append((words, owner))
            elif (
                first is None and head.endswith(GAP) and len(head) > _STEM and GAP not in head[:-1]
            ):
                by_stem.setdefault(head[:_STEM], []).append((words, owner))
            elif first is None:
                anywhere.append((words, owner))
            elif second is not None:
                by_pair.setdefault((first, second), []).append((words, owner))
            else:
                by_word.setdefault(first, []).append((words, owner))
        return cls(
            MappingProxyType({k: tuple(v) for k, v in by_pair.items()}),
            MappingProxyType({k: tuple(v) for k, v in by_word.items()}),
            MappingProxyType({k: tuple(v) for k, v in by_stem.items()}),
            tuple(numeric),
            tuple(anywhere),
        )

    def _candidates(self, tokens: Sequence[Token], start: int) -> list[_Phrase]:
        token = tokens[start]
        firsts = (token.key,) if token.lemma == token.key else (token.key, token.lemma)
        found = [*self.anywhere]
        if token.value is not None:
            found.extend(self.numeric)
        for first in firsts:
            found.extend(self.by_word.get(first, ()))
            if self.by_stem:
                found.extend(self.by_stem.get(first[:_STEM], ()))
        if start + 1 < len(tokens) and self.by_pair:
            following = tokens[start + 1]
            seconds = (
                (following.key,)
                if following.lemma == following.key
                else (following.key, following.lemma)
            )
            for first in firsts:
                for second in seconds:
                    found.extend(self.by_pair.get((first, second), ()))
        return found

    def find(
        self, tokens: Sequence[Token], masked: Sequence[bool] = ()
    ) -> list[tuple[str, int, int]]:
        """Every ``(owner, start, end)`` where a phrase occurs, ``end`` exclusive."""
        found: list[tuple[str, int, int]] = []
        seen: set[tuple[str, int, int]] = set()
        for start in range(len(tokens)):
            if masked and masked[start]:
                continue
            for words, owner in self._candidates(tokens, start):
                end = match_phrase(tokens, words, 0, start, masked)
                if end is not None and (owner, start, end) not in seen:
                    seen.add((owner, start, end))
                    found.append((owner, start, end))
        return found


def match_phrase(
    tokens: Sequence[Token], words: tuple[str, ...], k: int, i: int, masked: Sequence[bool]
) -> int | None:
    """Where ``words[k:]`` ends if it matches from token ``i``; ``None`` if it does not."""
    if k == len(words):
        return i
    want = words[k]
    if want == GAP:
        for skip in range(MAX_GAP + 1):
            end = match_phrase(tokens, words, k + 1, i + skip, masked)
            if end is not None:
                return end
            if i + skip >= len(tokens) or not _plain(tokens, i + skip, masked):
                return None
        return None
    if i >= len(tokens) or (masked and masked[i]):
        return None
    token = tokens[i]
    if want in _BOUNDARIES:
        ok = token.kind == "stop"
    elif want == COMMA:
        ok = token.kind == "comma"
    else:
        ok = token.is_word and token.matches(want)
    return match_phrase(tokens, words, k + 1, i + 1, masked) if ok else None


def _plain(tokens: Sequence[Token], i: int, masked: Sequence[bool]) -> bool:
    """Whether token ``i`` may fill a gap: a word, not masked."""
    return tokens[i].is_word and not (masked and masked[i])


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The compiled triage rules of one locale. Build it with ``bot.triage_rules``."""

    locale: str
    normaliser: Normaliser
    concepts: Mapping[str, tuple[tuple[str, ...], ...]]
    flags: tuple[Flag, ...]
    dictionary: Dictionary = field(default_factory=PlainDictionary)
    idioms: tuple[tuple[str, ...], ...] = ()
    cues: Cues = Cues()
    scores: ScoreRules = ScoreRules()
    reasons: Reasons = Reasons()
    fuzzy: tuple[str, ...] = ()
    """Concepts whose long words also match a misspelling one edit away."""
    fuzzy_min_length: int = 6
    category_names: Mapping[str, str] = field(default_factory=dict)
    """What the second opinion's categories are called in the practitioner's language."""
    also: tuple[Lexicon, ...] = ()
    """Flags of other languages that apply too (self-harm words), each read with its own
    language's spelling and context rules; only their urgent and concern findings count."""
    _concepts: PhraseIndex = field(init=False, repr=False, compare=False)
    _cues: Mapping[str, PhraseIndex] = field(init=False, repr=False, compare=False)
    _context_cues: PhraseIndex = field(init=False, repr=False, compare=False)
    _read_words: dict[str, tuple[tuple[str, str, str, int | None], ...]] = field(
        init=False, repr=False, compare=False
    )
    _vocabulary: frozenset[str] = field(init=False, repr=False, compare=False)
    _skeletons: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _fuzzy: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _text_score: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        named = {c for f in self.flags for p in (*f.patterns, f.unless) for c in p}
        unknown = named - self.concepts.keys()
        unknown |= set(self.fuzzy) - self.concepts.keys()
        if self.scores.text_needs and self.scores.text_needs not in self.concepts:
            unknown.add(self.scores.text_needs)
        if unknown:
            raise ValueError(f"flags name unknown concepts: {sorted(unknown)}")
        self._check_patterns()
        setattr_ = object.__setattr__
        setattr_(
            self,
            "_concepts",
            PhraseIndex.of((p, c) for c, phrases in self.concepts.items() for p in phrases),
        )
        cue_sets = {**self.cues.sets(), "idioms": self.idioms}
        setattr_(
            self,
            "_cues",
            MappingProxyType(
                {name: PhraseIndex.of((p, name) for p in s) for name, s in cue_sets.items()}
            ),
        )
        setattr_(
            self,
            "_context_cues",
            PhraseIndex.of((p, name) for name, s in self.cues.sets().items() for p in s),
        )
        every = [p for phrases in self.concepts.values() for p in phrases]
        every += [p for s in cue_sets.values() for p in s]
        vocabulary = {
            w.strip(GAP).removeprefix(EXACT)
            for p in every
            for w in p
            if w not in (GAP, STOP, QUESTION, COMMA)
        }
        vocabulary |= self.cues.clause_words | self.cues.breakers | self.cues.transparent
        setattr_(self, "_vocabulary", frozenset(vocabulary))
        setattr_(self, "_read_words", {})
        ordered = sorted(vocabulary, key=lambda w: (-len(w), w))  # on a tie the shortest wins
        setattr_(self, "_skeletons", MappingProxyType({_RUN2.sub(r"\1", w): w for w in ordered}))
        fuzzy: dict[str, set[str]] = {}
        for concept in self.fuzzy:
            for phrase in self.concepts[concept]:
                for spelled in phrase:
                    if len(spelled) >= self.fuzzy_min_length and GAP not in spelled:
                        fuzzy.setdefault(spelled[0], set()).add(spelled)
        setattr_(self, "_fuzzy", MappingProxyType({k: tuple(sorted(v)) for k, v in fuzzy.items()}))
        marks = "|".join(re.escape(m) for m in sorted(self.scores.out_of, key=len, reverse=True))
        written = rf"(?<![\d.,])(10|\d)\s*(?:{marks})\s*10(?![\d])" if marks else r"(?!x)x"
        setattr_(self, "_text_score", re.compile(written))

    def _check_patterns(self) -> None:
        """No phrase may belong to two concepts of one pattern: one word would stand for
        both ("bottle" as the pill and as how many)."""
        for flag in self.flags:
            for pattern in flag.patterns:
                for i, first in enumerate(pattern):
                    for second in pattern[i + 1 :]:
                        shared = set(self.concepts[first]) & set(self.concepts[second])
                        if shared and first != second:
                            both = sorted(" ".join(p) for p in shared)
                            raise ValueError(
                                f"flag {flag.id}: {first} and {second} share {both}: one "
                                "word would stand for both"
                            )

    # --- reading ----------------------------------------------------------------------

    def read(self, text: str) -> list[Token]:
        """The text as tokens, framed by stops, numbered into sentences and clauses."""
        norm = self.normaliser
        memo = self._read_words  # words recur from reply to reply; reading one is costly
        if len(memo) > _MOST_WORDS_KEPT:
            memo.clear()
        raw: list[tuple[str, str, str, str, int | None]] = [(STOP, STOP, STOP, "stop", None)]
        for kind, token in join_spelled_out(tokenize(norm.clean(text))):
            if kind != "word":
                raw.append((token, token, token, kind, None))
                continue
            if token not in memo:
                spelled = self._respell(token)
                # "4" read as "for" is still the number 4 ("day 4").
                number = self.normaliser.number(token) if len(spelled) == 1 else None
                memo[token] = tuple(self._word(w, number) for w in spelled)
            raw.extend(
                (text_, key, lemma, "word", value) for text_, key, lemma, value in memo[token]
            )
        raw.append((STOP, STOP, STOP, "stop", None))
        tokens: list[Token] = []
        sentence = clause = 0
        for i, (text_, key, lemma, kind, value) in enumerate(raw):
            starts_clause = kind == "word" and key in self.cues.clause_words
            if i and (raw[i - 1][3] == "stop" or starts_clause):
                clause += 1
                sentence += raw[i - 1][3] == "stop"
            tokens.append(Token(text_, key, lemma, kind, sentence, clause, value))
        return tokens

    def forget_words(self) -> None:
        """Forget the words read so far (they are kept to read the next replies faster)."""
        self._read_words.clear()

    def _word(self, word: str, number: int | None) -> tuple[str, str, str, int | None]:
        norm = self.normaliser
        key = norm.key(word)
        recognised = self._recognise(word, key)
        lemma = norm.key(self.dictionary.lemma(word)) if recognised == key else recognised
        return word, recognised, lemma, number if number is not None else norm.number(word)

    def _respell(self, token: str) -> tuple[str, ...]:
        spelled = self.normaliser.spell(token)
        if (
            len(spelled) == 1
            and self.normaliser.key(spelled[0]) not in self._vocabulary
            and _RUN3.search(token)
        ):
            return self.normaliser.spell(self._squeeze(token))
        return spelled

    def _squeeze(self, word: str) -> str:
        """``sooooo`` → ``so``, ``diiiie`` → ``die``: the squeezed form the lexicon knows."""
        for candidate in (_RUN3.sub(r"\1\1", word), _RUN3.sub(r"\1", word)):
            if candidate in self._vocabulary or candidate in self.normaliser.substitutions:
                return candidate
        return self._skeletons.get(_RUN2.sub(r"\1", word), _RUN3.sub(r"\1\1", word))

    def _recognise(self, word: str, key: str) -> str:
        """A misspelling of a long word of a fuzzy concept (one edit, same first letter),
        unless it is a real word of this language or of another the lexicon also reads
        (English "suicidal" is not a misspelt German "suizidal")."""
        if key in self._vocabulary or len(key) < self.fuzzy_min_length or not self._fuzzy:
            return key
        candidates = [
            known
            for known in self._fuzzy.get(key[0], ())
            if abs(len(known) - len(key)) <= 1 and one_edit(key, known)
        ]
        dictionaries = (self.dictionary, *(other.dictionary for other in self.also))
        if not candidates or any(d.known(word) for d in dictionaries):
            return key
        return candidates[0]

    # --- finding ----------------------------------------------------------------------

    def concept_matches(
        self, tokens: Sequence[Token], masked: Sequence[bool]
    ) -> list[tuple[str, int, int]]:
        """Every ``(concept, start, end)`` in the tokens, masked ones left out."""
        return self._concepts.find(tokens, masked)

    def cue_matches(
        self, name: str, tokens: Sequence[Token], masked: Sequence[bool] = ()
    ) -> list[tuple[int, int]]:
        """Every ``(start, end)`` of a cue of set ``name`` (or ``idioms``)."""
        return [(s, e) for _, s, e in self._cues[name].find(tokens, masked)]

    def context_cue_matches(self, tokens: Sequence[Token]) -> dict[str, list[tuple[int, int]]]:
        """Every ``(start, end)`` of every context cue set, by set name, in one pass."""
        found: dict[str, list[tuple[int, int]]] = {}
        for name, start, end in self._context_cues.find(tokens):
            found.setdefault(name, []).append((start, end))
        return found

    def text_scores(self, text: str) -> list[int]:
        """Scores written in the text, such as ``8/10``."""
        return [
            int(found.group(1)) for found in self._text_score.finditer(self.normaliser.clean(text))
        ]
