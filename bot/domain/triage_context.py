"""The context of each finding, in the manner of the ConText algorithm (Chapman, Harkema).

For the words that made a finding, :class:`ContextReader` decides from cue phrases in
the same clause or sentence:

negated
    a negation cue before the finding, within ``scope`` counted words ("no chest pain";
    across commas only through a list of signs: "no dizziness, numbness or chest pain"),
    or after it ("chest pain? no", "stroke - nothing like that", "suicidal thoughts: none").
    A cue inside the finding's own words ("can't feel my leg") or a pseudo-negation
    ("not sure") negates nothing, and neither does a cue standing alone ("No, I fainted").
clear denial
    a negation that is the client's own clear denial: it stands right before the words,
    the clause is about the client, and nothing in it wavers ("not *really*", "not *yet*",
    "I don't *think*").
time
    ``hypothetical`` (a cue such as "if" or "in case" before it), ``historical`` (the
    nearest time cue says long ago: "in 2010", "years ago", "as a child"), ``past`` (about
    someone else, recently or told in the past tense with no cue that it is now), or
    ``now``.
experiencer
    ``other`` when the nearest person named before the words, in the same sentence, is
    someone else ("my dad had a stroke"), ``client`` otherwise.
joke
    a laugh or joke marker in the same sentence, or alone in the next ("lol", "😂").
retracted
    the client takes the words back as a joke in the same sentence or the next ("jk",
    "just kidding").
passed
    a cue after the finding, in its clause or at the start of the next sentence, says it
    has gone ("gone now", "went back to normal"), unless the sentence says it keeps
    coming back ("every time I stand up", "on and off").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.domain.triage_lexicon import Lexicon
from bot.domain.triage_text import Token

Time = Literal["now", "past", "historical", "hypothetical"]
Experiencer = Literal["client", "other"]

DENIAL_REACH = 3
"""A clear denial stands at most this many counted words before the words it denies."""
QUESTION_REACH = 4
"""How many more words the question a finding is asked in may have before its "?" and
the answer ("numbness or weak legs? nope")."""
ASKED_REACH = 12
"""How many words may follow a sign in a question the client tells of ("she asked if I was
having a stroke *because I was tired*. No") before the answer."""
WOBBLE_AFTER = 2
"""How far after the denied words a wavering word still makes the denial unclear."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the words around a finding say about it."""

    negated: bool = False
    clear_denial: bool = False
    time: Time = "now"
    experiencer: Experiencer = "client"
    joke: bool = False
    retracted: bool = False
    passed: bool = False


class ContextReader:
    """The cues of one reply, found once; :meth:`context` judges one finding."""

    def __init__(self, lexicon: Lexicon, tokens: Sequence[Token], covered: set[int]) -> None:
        self.lexicon = lexicon
        self.tokens = tokens
        self.covered = covered
        cues = lexicon.cues
        self._cues = lexicon.context_cue_matches(tokens)
        pseudo = {i for s, e in self._found("pseudo") for i in range(s, e)}
        ignored = covered | pseudo
        self.negation_ends = self._ends("negation", ignored, standalone_ok=False)
        self.wobble = self._starts("wobble")
        self.hypothetical_ends = self._ends("hypothetical", ignored, standalone_ok=True)
        self.after = dict(self._found("negation_after"))
        self.answers = dict(self._found("answers"))
        self.asked = self._found("asked")
        self.alternatives = self._starts("alternatives")
        self.times: dict[int, str] = {}
        for name in ("historical", "current", "recent"):
            for start, _ in self._found(name):
                self.times[start] = name
        self.past = self._starts("past")
        self.persons: dict[int, Experiencer] = dict.fromkeys(self._starts("self_person"), "client")
        for start, end in self._found("other_person"):  # "my mum" is not "my"
            self.persons.update(dict.fromkeys(range(start, end), "other"))
        self.jokes = {i for s, e in self._found("joke") for i in range(s, e)}
        self.retractions = {
            tokens[s].sentence
            for s, e in self._found("retraction")
            if not pseudo.issuperset(range(s, e))
        }
        self.recurring = {tokens[s].sentence for s in self._starts("recurring")}
        self.passed = {
            s
            for s, e in self._found("passed")
            if not covered.issuperset(range(s, e))
            and not self._negated_before(s, 2)
            and not self._becoming(s, e)
        }
        self.fine = any(not self._negated_before(s, cues.scope) for s, _ in self._found("fine"))

    def _becoming(self, start: int, end: int) -> bool:
        """Whether a passed cue says "became" ("gone numb", "went all blue"): a single
        word of ``becoming`` with a word after it that starts no longer cue."""
        if end - start != 1 or self.tokens[start].key not in self.lexicon.cues.becoming:
            return False
        if any(s == start and e > end for s, e in self._found("passed")) or end >= len(self.tokens):
            return False
        after = self.tokens[end]
        cues = self.lexicon.cues
        joins = cues.transparent | cues.clause_words | cues.breakers
        return after.kind == "word" and after.key not in joins

    def _found(self, name: str) -> list[tuple[int, int]]:
        return self._cues.get(name, [])

    def _starts(self, name: str) -> set[int]:
        return {s for s, _ in self._found(name)}

    def _ends(self, name: str, ignored: set[int], *, standalone_ok: bool) -> set[int]:
        """Where each cue of ``name`` ends: not those wholly inside a finding's own words
        or a pseudo-negation, nor (unless ``standalone_ok``) one standing alone ("No, ...")."""
        ends = set()
        for start, end in self._found(name):
            if ignored.issuperset(range(start, end)):
                continue
            standalone = end < len(self.tokens) and not self.tokens[end].is_word
            if standalone and not standalone_ok:
                continue
            ends.add(end - 1)
        return ends

    # --- one finding --------------------------------------------------------------------

    def context(self, spans: Sequence[tuple[int, int]]) -> Context:
        """The context of the finding made of the words at ``spans`` (``(start, end)``)."""
        scope = self.lexicon.cues.scope
        words = {i for s, e in spans for i in range(s, e)}
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        negation_at = None
        for span_start, _ in sorted(spans):
            negation_at = self._cue_before(span_start, self.negation_ends, scope, words)
            if negation_at is not None:
                break
        sentence = self.tokens[start].sentence
        asked = any(e <= start and self.tokens[s].sentence == sentence for s, e in self.asked)
        # A question told of is answered as a whole: "your q about bladder and numbness
        # down there - no, just an achy back" denies the words before the answer.
        denied_after, answered = None, end
        for span_end in sorted({e for _, e in spans}) if asked else [end]:
            denied_after = self._negated_after(span_end, asked=asked)
            if denied_after is not None:
                answered = span_end
                break
        experiencer = self._experiencer(start)
        return Context(
            negated=negation_at is not None or denied_after is not None,
            clear_denial=(
                negation_at is not None and self._clear(negation_at, start, end, experiencer)
            )
            or (
                denied_after is not None and self._clear_after(answered, denied_after, experiencer)
            ),
            time=self._time(start, end, experiencer),
            experiencer=experiencer,
            joke=self._joke(start),
            retracted=bool({sentence, sentence + 1} & self.retractions),
            passed=sentence not in self.recurring and self._passed(end),
        )

    def _cue_before(self, start: int, ends: set[int], scope: int, words: set[int]) -> int | None:
        """The position of a cue ending within ``scope`` counted words before ``start``.

        A cue reaches past a comma only through a list of signs ("no dizziness, numbness
        or chest pain"), not into another clause ("not great, worse than before").
        """
        transparent = self.lexicon.cues.transparent
        breakers = self.lexicon.cues.breakers
        counted = 0
        comma = None
        clause = self.tokens[start].clause
        for i in range(start - 1, -1, -1):
            token = self.tokens[i]
            if token.clause != clause:
                return None
            if i in ends and i not in words:
                return i if comma is None or self._listing(i + 1, comma) else None
            if token.key in breakers and i not in words:
                return None
            if token.kind == "comma":
                comma = i
            elif i not in words and token.key not in transparent:
                counted += 1
                if counted > scope:
                    return None
        return None

    def _negated_before(self, start: int, scope: int) -> bool:
        return self._cue_before(start, self.negation_ends, scope, set()) is not None

    def _listing(self, start: int, end: int) -> bool:
        """Whether tokens ``start:end`` are only signs the rules know (and fillers)."""
        transparent = self.lexicon.cues.transparent
        return all(
            i in self.covered or self.tokens[i].key in transparent or not self.tokens[i].is_word
            for i in range(start, end)
        )

    def _negated_after(self, end: int, *, asked: bool = False) -> int | None:
        """A denial right after the words, or after the longer finding they are part of
        ("chest pain: none", "numbness down there? nope"), or the answer to the question
        they are asked in ("a stroke? no, nothing", "numbness or weak legs? nope"), also
        a question the client tells of (``asked``: "you asked about dizziness - no", "my
        daughter asked if I was having a stroke. No"); not the client's own question ("is
        that normal? no idea"). Where the denial ends, or ``None``."""
        transparent = self.lexicon.cues.transparent
        i = end
        while i < len(self.tokens) and i in self.covered:
            i += 1
        walk = _QuestionWalk(
            listing=i < len(self.tokens) and i in self.alternatives,
            crossed=asked,
            quoted=ASKED_REACH if asked else 0,
        )
        while i < len(self.tokens):
            token = self.tokens[i]
            if walk.crossed and i in self.answers:
                return self.answers[i] if self._denial_ends(self.answers[i]) else None
            if i in self.after and not walk.asked_words:
                cue_end = self.after[i]
                if self._denial_ends(cue_end):
                    return cue_end
                if cue_end in self.after:  # "nope, nothing like that" is one denial
                    i = cue_end
                    continue
            counted = token.key not in transparent and i not in self.covered
            if not walk.goes_on(token, counted=counted):
                return None
            i += 1
        return None

    def _denial_ends(self, cue_end: int) -> bool:
        """Whether a denial ending at ``cue_end`` stands alone: "nope." or "no, just", or
        runs into another denial ("no, nothing like that") or a word that turns to
        something else ("nope, only my back"); not "no idea", not "no?"."""
        while cue_end < len(self.tokens) and cue_end in self.jokes:  # "no haha, nothing"
            cue_end += 1
        if cue_end >= len(self.tokens):
            return True
        token = self.tokens[cue_end]
        if token.kind == "word":  # "nope 😂 only my back", "no, nothing like that"
            breakers = self.lexicon.cues.breakers
            return cue_end in self.after or cue_end in self.answers or token.key in breakers
        return token.key != "?"

    def _clear(self, negation_at: int, start: int, end: int, experiencer: Experiencer) -> bool:
        """Whether the negation at ``negation_at`` is the client's own clear denial: about
        the client, right before the words, and nothing wavering from the cue to just after
        the words in their clause ("not *really* suicidal", "not suicidal *right now*"; but
        "not suicidal, just *really* low" is clear)."""
        if experiencer != "client":
            return False
        if any(negation_at < i <= self._wobble_reach(end) for i in self.wobble):
            return False
        transparent = self.lexicon.cues.transparent
        between = [
            i
            for i in range(negation_at + 1, start)
            if self.tokens[i].is_word and self.tokens[i].key not in transparent
        ]
        return len(between) <= DENIAL_REACH

    def _clear_after(self, end: int, denial_end: int, experiencer: Experiencer) -> bool:
        """Whether a denial after the words ("suicidal thoughts? none", "Selbstmordgedanken
        habe ich keine") is the client's own and nothing in it or after it, in its
        sentence until a word that turns to something else, wavers ("suicidal? not
        *really*", "no, well *sometimes*"; but "no, just a *bit* low" is clear)."""
        if experiencer != "client":
            return False
        breakers = self.lexicon.cues.breakers
        i = end
        while i < len(self.tokens) and (i < denial_end or self.tokens[i].kind != "stop"):
            if i in self.wobble:
                return False
            if i >= denial_end and self.tokens[i].key in breakers:  # "no, just a bit low"
                return True
            i += 1
        return True

    def _wobble_reach(self, end: int) -> int:
        """The last token after a denied finding that can still make the denial waver: a
        few words, up to a comma or a word that turns to something else ("just")."""
        last = min(end + WOBBLE_AFTER, len(self.tokens) - 1)
        for i in range(end + 1, last + 1):
            token = self.tokens[i]
            if token.kind != "word" or token.key in self.lexicon.cues.breakers:
                return i - 1
        return last

    def _experiencer(self, start: int) -> Experiencer:
        sentence = self.tokens[start].sentence
        for i in range(start - 1, -1, -1):
            if self.tokens[i].sentence != sentence:
                break
            if i in self.persons:
                return self.persons[i]
        return "client"

    def _time(self, start: int, end: int, experiencer: Experiencer) -> Time:
        """Hypothetical, then the nearest time cue in the clause: long ago, now, or recent
        (now for the client; the past for someone else, whose yesterday is over)."""
        scope = self.lexicon.cues.scope + 2
        if self._cue_before(start, self.hypothetical_ends, scope, set()) is not None:
            return "hypothetical"
        clause = self.tokens[start].clause
        nearest: tuple[int, str] | None = None
        for i, kind in self.times.items():
            if self.tokens[i].clause != clause:
                continue
            distance = start - i if i < start else i - end + 1
            if nearest is None or distance < nearest[0]:
                nearest = (distance, kind)
        other = experiencer == "other"
        if nearest is not None:
            if nearest[1] == "historical":
                return "historical"
            return "past" if other and nearest[1] == "recent" else "now"
        if other and any(self.tokens[i].clause == clause for i in self.past):
            return "past"
        return "now"

    def _joke(self, start: int) -> bool:
        """A joke marker in the sentence, or making up the next one ("... lol.", "😂")."""
        sentence = self.tokens[start].sentence
        if any(self.tokens[i].sentence == sentence for i in self.jokes):
            return True
        following = [
            i for i, t in enumerate(self.tokens) if t.sentence == sentence + 1 and t.is_word
        ]
        return bool(following) and all(i in self.jokes for i in following)

    def _passed(self, end: int) -> bool:
        scope = self.lexicon.cues.passed_scope
        transparent = self.lexicon.cues.transparent
        counted = 0
        sentences_seen = 0
        for i in range(end, len(self.tokens)):
            if i in self.passed:
                return True
            token = self.tokens[i]
            if token.kind == "stop":
                sentences_seen += 1
                if sentences_seen > 1:
                    return False
                counted = max(counted, scope - 3)
                continue
            if token.is_word and token.key not in transparent:
                if i in self.covered and sentences_seen:
                    return False
                counted += 1
                if counted > scope:
                    return False
        return False


@dataclass(slots=True)
class _QuestionWalk:
    """Where a walk from a finding towards an answer after it stands: whether it has
    crossed the question's "?" (or a question told of), how many more words of a question
    told of it may pass (``quoted``), and how many words of the question the finding is
    asked in it has passed ("or in my legs")."""

    listing: bool
    crossed: bool
    quoted: int
    asked_words: int = 0

    def goes_on(self, token: Token, *, counted: bool) -> bool:
        """Step over ``token``; ``False`` when no answer after it can deny the finding."""
        if token.kind == "stop":
            if self.quoted:
                self.quoted = 0
            elif token.key != "?" or self.crossed:
                return False
            self.crossed = True
        elif token.kind != "comma" and counted:
            if self.quoted:
                self.quoted -= 1
            elif self.crossed or not self.listing or self.asked_words == QUESTION_REACH:
                return False
            else:
                self.asked_words += 1
        return True
