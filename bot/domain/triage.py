"""Triage of a check-in reply: ``none``, ``concern`` or ``urgent``, with reasons.

Pure and explainable. The words are read by a :class:`~bot.domain.triage_lexicon.Lexicon`
(built from a locale's data file by ``bot.triage_rules``): every word is spelled and
lemmatised, the lexicon's *concepts* are found in them, and a *flag* is found where all
the concepts of one of its patterns occur within its scope, in any order ("took" +
"the whole box" + "paracetamol" is an overdose however it is said). Each finding is then
read in its context (:mod:`bot.domain.triage_context`) and weighed by :func:`effect`.
The score, the change since the session and earlier check-ins add their own signals.
The level is the highest of all; every signal that raises it names itself in ``reasons``.

The context policy (:func:`effect`), in words:

- a negation cancels a finding, except for self-harm and suicide words, which only the
  client's own clear denial cancels ("I'm not suicidal, just tired"); a denial that
  wavers ("not *really* suicidal", "I don't *think* I'd do anything") stays urgent;
- a worry or a condition ("if it gets worse", "in case I faint") is no sign: none, but
  self-harm words said so are still a concern;
- about someone else: urgent signs happening now stay urgent (someone in danger now);
  told in the past they are a concern (nothing when they are fine now), long ago
  nothing; their lesser symptoms are not the client's;
- the client's own long past ("had a stroke in 2015") is at most a concern (a lesser
  sign long ago is nothing), and nothing when they also say they are fine;
- "it has passed" lowers a sign one level (chest pain that went away is still a
  concern), but never suicide, self-harm, violence or stroke signs: a stroke sign that
  passes is still an emergency;
- a joke or laugh marker ("lol", "😂") takes the alarm out of words often used as
  hyperbole ("I'll pass out lol", "nearly had a stroke haha"), but self-harm and
  violence words said laughing are still a concern; it changes nothing for plain signs
  ("lol my words are coming out jumbled"). Words the client takes back as a joke ("...
  haha jk") are a concern, whatever they were.

A second opinion (:class:`SecondOpinion`), when given, can only raise the level, and
not beyond a concern where the client took their words back as a joke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Protocol

from bot.domain.aftercare import CHANGES
from bot.domain.models import TriageLevel
from bot.domain.triage_context import Context, ContextReader
from bot.domain.triage_lexicon import Flag, Lexicon, Reasons, ScoreRules
from bot.domain.triage_opinion import Resemblance
from bot.domain.triage_text import Token

MAX_COMBINED = 16
"""Matches per concept of a pattern considered (bounds the work on hostile input)."""
WORSE = frozenset({"worse", "much_worse"})
SCORE_RANGE = range(11)

_RANK = {TriageLevel.NONE: 0, TriageLevel.CONCERN: 1, TriageLevel.URGENT: 2}


def level_rank(level: TriageLevel) -> int:
    """Order of levels: none < concern < urgent."""
    return _RANK[level]


@dataclass(frozen=True, slots=True)
class Finding:
    """One flag found in the words, in its context, and what it came to."""

    flag: str
    category: str
    words: str
    context: Context
    level: TriageLevel
    effect: str
    """Why the level is what it is: ``as found``, ``negated``, ``denied``,
    ``hypothetical``, ``someone else now``, ``someone else, past``, ``someone else,
    long ago``, ``long ago``, ``long ago, fine now``, ``passed``, ``joke``, ``covered``."""


class SecondOpinion(Protocol):
    """Reads a reply apart from the rules (:mod:`bot.domain.triage_opinion`)."""

    def closest(self, text: str, locale: str) -> Resemblance | None:
        """What it makes of ``text`` in ``locale``, or ``None`` when it cannot judge."""
        ...


@dataclass(frozen=True, slots=True)
class TriageResult:
    """How worrying a reply is, and why.

    ``reasons`` are short phrases a practitioner understands, most serious first (empty
    for ``none``). ``reactions`` are the ids of the normal healing reactions the text
    mentions (``tired``, ``sore``, ``dreams``...), for choosing a reassuring note.
    ``findings`` and ``resemblance`` explain the level (``stillpoint triage --explain``).
    """

    level: TriageLevel
    reasons: tuple[str, ...] = ()
    reactions: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=(), compare=False)
    resemblance: Resemblance | None = field(default=None, compare=False)


def explanation(result: TriageResult) -> list[dict[str, object]]:
    """Why ``result`` is what it is, one object per finding (``stillpoint triage
    --explain``): its category, the words, the context and the level it came to; then the
    second opinion's judgement, if one ran: the labelled category the reply most resembles,
    how likely it is to be at that level, and the level it raised the reply to."""
    found: list[dict[str, object]] = [
        {
            "category": f.category,
            "flag": f.flag,
            "words": f.words,
            "negated": f.context.negated,
            "time": f.context.time,
            "experiencer": f.context.experiencer,
            "joke": f.context.joke,
            "passed": f.context.passed,
            "effect": f"{f.level.value} ({f.effect})",
        }
        for f in result.findings
    ]
    if result.resemblance is not None:
        close = result.resemblance
        found.append(
            {
                "category": close.category,
                "words": "",
                "negated": False,
                "time": "now",
                "experiencer": "client",
                "effect": f"{close.raises_to.value} (second opinion)",
                "similar_to": f"{close.level.value}: {close.category}",
                "score": round(close.probability, 3),
            }
        )
    return found


def effect(flag: Flag, context: Context, *, fine: bool) -> tuple[TriageLevel, str]:
    """The level a finding of ``flag`` counts at in ``context``, and why (the policy in
    the module's docstring). ``fine``: the client says they, or the person they speak
    of, are fine."""
    level = flag.level
    if context.negated and (
        flag.denial == "any" or (flag.denial == "clear" and context.clear_denial)
    ):
        return TriageLevel.NONE, "negated" if flag.denial == "any" else "denied"
    if level is TriageLevel.NONE:
        return level, "as found"
    if context.time == "hypothetical":
        return (TriageLevel.CONCERN if flag.persists else TriageLevel.NONE), "hypothetical"
    if context.experiencer == "other" and flag.about_client:
        if level is not TriageLevel.URGENT or not flag.for_others:
            return TriageLevel.NONE, "someone else"
        if context.time == "historical":
            return TriageLevel.NONE, "someone else, long ago"
        if context.time == "past":
            return (TriageLevel.NONE if fine else TriageLevel.CONCERN), "someone else, past"
        return level, "someone else now"
    if context.time == "historical":
        if fine or level is not TriageLevel.URGENT:
            return TriageLevel.NONE, "long ago, fine now" if fine else "long ago"
        return TriageLevel.CONCERN, "long ago"
    if context.passed and not flag.persists:
        lowered = TriageLevel.CONCERN if level is TriageLevel.URGENT else TriageLevel.NONE
        return lowered, "passed"
    if context.joke and flag.figurative != "no":
        return TriageLevel(flag.figurative), "joke"
    if context.retracted and flag.persists:
        return TriageLevel.CONCERN, "joke"
    return level, "as found"


_TEMPLATES = {
    "passed": "passed",
    "long ago": "past",
    "someone else now": "other",
    "someone else, past": "other",
    "joke": "joke",
    "hypothetical": "hypothetical",
}


def _reason(flag: Flag, how: str, reasons: Reasons) -> str:
    template = _TEMPLATES.get(how)
    return getattr(reasons, template).format(reason=flag.reason) if template else flag.reason


@dataclass(slots=True)
class _Signals:
    """Levels and reasons collected so far; the level is the highest."""

    found: list[tuple[TriageLevel, int, str]] = field(default_factory=list)

    def add(self, level: TriageLevel, reason: str, at: int = 1 << 30) -> None:
        if level is not TriageLevel.NONE and reason:
            self.found.append((level, at, reason))

    def level(self) -> TriageLevel:
        return max((f[0] for f in self.found), key=level_rank, default=TriageLevel.NONE)

    def reasons(self) -> tuple[str, ...]:
        ordered = sorted(self.found, key=lambda f: (-_RANK[f[0]], f[1]))
        return tuple(dict.fromkeys(reason for _, _, reason in ordered))


def triage(
    text: str | None,
    score: int | None,
    previous_scores: Sequence[int],
    lexicon: Lexicon,
    *,
    change: str | None = None,
    previous_changes: Sequence[str | None] = (),
    second_opinion: SecondOpinion | None = None,
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
    words = text or ""
    findings, reactions = _read_text(words, lexicon, signals)
    for other in lexicon.also:
        more, _ = _read_text(words, other, signals, serious_only=True)
        findings.extend(more)
    _score_signals(score, previous_scores, lexicon, signals)
    _change_signals(change, previous_changes, lexicon.reasons, signals)
    resemblance = None
    if second_opinion is not None and words.strip():
        resemblance = second_opinion.closest(words, lexicon.locale)
        if resemblance is not None:
            raised = resemblance.raises_to
            if any(f.context.retracted for f in findings) and raised is TriageLevel.URGENT:
                raised = TriageLevel.CONCERN  # it cannot read "... haha jk"; the rules did
            if level_rank(raised) > level_rank(signals.level()):
                category = resemblance.category
                name = lexicon.category_names.get(category, category.replace("_", " "))
                signals.add(raised, lexicon.reasons.resembles.format(category=name))
    level = signals.level()
    return TriageResult(
        level,
        signals.reasons() if level is not TriageLevel.NONE else (),
        tuple(reactions),
        tuple(findings),
        resemblance,
    )


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


@dataclass(frozen=True, slots=True)
class _Raw:
    flag: Flag
    spans: tuple[tuple[int, int], ...]
    start: int
    end: int


def _read_text(
    text: str, lexicon: Lexicon, signals: _Signals, *, serious_only: bool = False
) -> tuple[list[Finding], list[str]]:
    """Add the text's signals; return its findings and the healing reactions it names."""
    tokens = lexicon.read(text)
    masked = [False] * len(tokens)
    for start, end in lexicon.cue_matches("idioms", tokens):
        masked[start:end] = [True] * (end - start)
    concepts: dict[str, list[tuple[int, int]]] = {}
    longest: dict[tuple[str, int], int] = {}
    for concept, start, end in lexicon.concept_matches(tokens, masked):
        longest[concept, start] = max(end, longest.get((concept, start), end))
    for (concept, start), end in longest.items():  # "slurred speech", not also "slurred"
        concepts.setdefault(concept, []).append((start, end))
    raw = [found for flag in lexicon.flags for found in _find(flag, concepts, tokens)]
    covered = {
        i
        for found in raw
        if found.flag.level is not TriageLevel.NONE
        for start, end in found.spans
        for i in range(start, end)
    }
    reader = ContextReader(lexicon, tokens, covered)
    judged = []
    for found in raw:
        context = reader.context(found.spans)
        level, how = effect(found.flag, context, fine=reader.fine)
        judged.append((found, context, level, how))
    findings: list[Finding] = []
    reactions: list[str] = []
    for found, context, judged_level, judged_how in judged:
        level, how = (
            (TriageLevel.NONE, "covered") if _covered(found, judged) else (judged_level, judged_how)
        )
        words = " ".join(tokens[i].text for i in range(found.start, found.end) if tokens[i].is_word)
        findings.append(Finding(found.flag.id, found.flag.category, words, context, level, how))
        if found.flag.level is TriageLevel.NONE:
            if how == "as found" and not serious_only:
                reactions.append(found.flag.id)
        elif not serious_only or level is not TriageLevel.NONE:
            signals.add(level, _reason(found.flag, how, lexicon.reasons), found.start)
    if not serious_only:
        _text_score_signals(text, lexicon, concepts, reader, signals)
    return findings, list(dict.fromkeys(reactions))


def _find(
    flag: Flag, concepts: dict[str, list[tuple[int, int]]], tokens: Sequence[Token]
) -> list[_Raw]:
    """Every place all concepts of one of the flag's patterns meet within its scope; one
    per scope unit (the earliest), so each clause or sentence is judged in its context."""
    found: dict[tuple[int, ...], _Raw] = {}
    for pattern in flag.patterns:
        parts = [concepts.get(concept, [])[:MAX_COMBINED] for concept in pattern]
        if not all(parts):
            continue
        for chosen in product(*parts):
            unit = _unit(chosen, flag, tokens)
            if unit is None or _excluded(flag, chosen, concepts, tokens):
                continue
            start = min(s for s, _ in chosen)
            end = max(e for _, e in chosen)
            if unit not in found or start < found[unit].start:
                found[unit] = _Raw(flag, tuple(sorted(set(chosen))), start, end)
    return list(found.values())


UNLESS_REACH = 6
"""An ``unless`` concept counts within this many tokens of the finding, in its clause (and,
before the finding, with no comma between)."""


def _excluded(
    flag: Flag,
    chosen: Sequence[tuple[int, int]],
    concepts: dict[str, list[tuple[int, int]]],
    tokens: Sequence[Token],
) -> bool:
    """Whether one of the flag's ``unless`` concepts stands right by the words, in their
    clause ("nearly fainted", "tingling, kind of pleasant"; but not "freaking out a bit,
    my heart is pounding"), or holds one of them ("*lighter* in myself" is relief)."""
    first, last = min(s for s, _ in chosen), max(e for _, e in chosen)
    clause = tokens[first].clause

    def beside(start: int, end: int) -> bool:
        if tokens[start].clause != clause:
            return False
        if start >= last:  # an afterthought qualifies what came before it
            return start - last <= UNLESS_REACH
        return first - end <= UNLESS_REACH and all(
            tokens[i].kind != "comma" for i in range(end, first)
        )

    def within(start: int, end: int) -> bool:  # "lighter" in "feeling lighter in myself"
        return any(start <= s and e <= end for s, e in chosen)

    return any(
        beside(s, e) or within(s, e)
        for concept in flag.unless
        for s, e in concepts.get(concept, [])
    )


def _unit(
    chosen: Sequence[tuple[int, int]], flag: Flag, tokens: Sequence[Token]
) -> tuple[int, ...] | None:
    """The scope unit all chosen matches share (a clause, a sentence, the message, or
    within so many words), or ``None`` when they do not."""
    if flag.scope == "message":
        return (0,)
    if flag.scope == "sentence":
        sentences = {tokens[s].sentence for s, _ in chosen}
        return (sentences.pop(),) if len(sentences) == 1 else None
    clauses = {tokens[s].clause for s, _ in chosen}
    if len(clauses) != 1:
        return None
    if flag.scope == "clause":
        return (clauses.pop(),)
    first = min(e for _, e in chosen)
    last = max(s for s, _ in chosen)
    return (min(s for s, _ in chosen),) if last - first <= flag.scope else None


def _covered(found: _Raw, judged: Sequence[tuple[_Raw, Context, TriageLevel, str]]) -> bool:
    """Whether a finding that still counts, as serious or more, spans these words and
    more ("want to hurt myself" is self-harm language, not also an injury; "threatened
    to kill me" is violence, not also self-harm words)."""
    rank = level_rank(found.flag.level)
    return any(
        level is not TriageLevel.NONE
        and other.start <= found.start
        and found.end <= other.end
        and (
            level_rank(other.flag.level) > rank
            or (
                level_rank(other.flag.level) == rank
                and other.end - other.start > found.end - found.start
            )
        )
        for other, _, level, _ in judged
    )


def _text_score_signals(
    text: str,
    lexicon: Lexicon,
    concepts: dict[str, list[tuple[int, int]]],
    reader: ContextReader,
    signals: _Signals,
) -> None:
    """A score written in the words ("pain 9/10"), beside a symptom that is not negated."""
    needs = lexicon.scores.text_needs
    if needs and not any(not reader.context([(s, e)]).negated for s, e in concepts.get(needs, [])):
        return
    for value in lexicon.text_scores(text):
        if value >= lexicon.scores.high:
            signals.add(TriageLevel.CONCERN, lexicon.reasons.text.format(score=value))


def _score_signals(
    score: int | None, previous: Sequence[int], lexicon: Lexicon, signals: _Signals
) -> None:
    rules: ScoreRules = lexicon.scores
    reasons = lexicon.reasons
    if score is None:
        return
    if score >= rules.high:
        signals.add(TriageLevel.CONCERN, reasons.high.format(score=score))
    if previous and score - previous[-1] >= rules.rise:
        rise = score - previous[-1]
        reason = reasons.rise.format(rise=rise, previous=previous[-1], score=score)
        signals.add(TriageLevel.CONCERN, reason)


def _change_signals(
    change: str | None, previous: Sequence[str | None], reasons: Reasons, signals: _Signals
) -> None:
    if change == "much_worse":
        signals.add(TriageLevel.CONCERN, reasons.much_worse)
    if change in WORSE and previous and previous[-1] in WORSE:
        signals.add(TriageLevel.CONCERN, reasons.worse_twice)
