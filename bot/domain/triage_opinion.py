"""The second opinion on a reply: a model trained on the labelled replies, which can
only raise the level the rules give.

The rules (:mod:`bot.domain.triage`) read words they were written for; a client may say
the same thing in words no rule names ("wondering if anyone would notice if I quietly
stopped being here"). The model reads the reply as overlapping pieces of its words
(character n-grams: "stopp", "toppe", "being", ...), so it recognises a reply that
*resembles* labelled ones even when the words differ, and also misspelt, inflected or
dialect forms. It is a multinomial logistic regression over TF-IDF weighted n-grams,
one class per labelled category and level ("urgent:overdose", "none:idiom_joke", ...),
trained from ``tests/triage_corpus`` by ``python -m tests.second_opinion_training``;
its thresholds were chosen by cross-validation on those lines (each file says how).

It raises ``none`` to ``concern`` when the replies it resembles are flagged ones, and
anything to ``urgent`` when they are urgent ones, with its own thresholds for each.
It never lowers: a reply the rules find urgent stays urgent whatever the model thinks.
Raising a concern to urgent asks a practitioner to look at once at a reply that was
already going to reach them; its cost, false alarms, is measured with the rest.
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.models import TriageLevel

NGRAMS = range(2, 6)
"""Lengths of the pieces of words the model reads (with a space before and after each
word, so "pill" gives " p", "pi", ..., "ill ", " pill", "pill ")."""

_SPACES = re.compile(r"\s+")
_LEVELS = {level.value: level for level in TriageLevel}


def char_grams(text: str) -> list[str]:
    """The pieces of ``text`` the model reads: each word, lower case and without accents,
    cut into overlapping character n-grams of :data:`NGRAMS` lengths."""
    clean = unicodedata.normalize("NFKC", text).casefold()
    clean = "".join(c for c in unicodedata.normalize("NFKD", clean) if not unicodedata.combining(c))
    grams: list[str] = []
    for word in _SPACES.split(clean):
        if not word:
            continue
        padded = f" {word} "
        for n in NGRAMS:
            if len(padded) <= n:
                grams.append(padded)
                break
            grams.extend(padded[start : start + n] for start in range(len(padded) - n + 1))
    return grams


@dataclass(frozen=True, slots=True)
class Resemblance:
    """What the second opinion makes of a reply: the labelled category it most resembles,
    how likely the reply is to be at that level, and the level it raises the reply to
    (``none``: it raises nothing)."""

    category: str
    level: TriageLevel
    probability: float
    raises_to: TriageLevel


@dataclass(frozen=True, slots=True)
class TextModel:
    """One language's trained model (read from its file by ``bot.triage_second_opinion``).

    ``weights`` holds, feature by feature, one weight per class (features by classes,
    row-major); ``classes`` are ``(level, category)`` pairs.
    """

    locale: str
    vocabulary: Mapping[str, int]
    idf: Sequence[float]
    classes: Sequence[tuple[TriageLevel, str]]
    intercepts: Sequence[float]
    weights: array[float]
    urgent_threshold: float
    flagged_threshold: float

    def __post_init__(self) -> None:
        width = len(self.classes)
        if len(self.idf) != len(self.vocabulary) or len(self.intercepts) != width:
            raise ValueError("the model's vocabulary, idf and classes do not fit together")
        if len(self.weights) != len(self.vocabulary) * width:
            raise ValueError("the model's weights do not fit its vocabulary and classes")

    def probabilities(self, text: str) -> list[float]:
        """How likely ``text`` belongs to each of :attr:`classes` (they add up to 1)."""
        counts = Counter(
            self.vocabulary[gram] for gram in char_grams(text) if gram in self.vocabulary
        )
        values = {
            feature: (1 + math.log(count)) * self.idf[feature] for feature, count in counts.items()
        }
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        width = len(self.classes)
        scores = list(self.intercepts)
        for feature, value in values.items():
            row = feature * width
            weight = value / norm
            for index in range(width):
                scores[index] += weight * self.weights[row + index]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def judge(self, text: str) -> Resemblance:
        """The category ``text`` resembles most among the most serious level the model
        is sure enough of, and the level that makes it (see the module's docstring)."""
        chances = self.probabilities(text)
        urgent = [i for i, (level, _) in enumerate(self.classes) if level is TriageLevel.URGENT]
        flagged = [i for i, (level, _) in enumerate(self.classes) if level is not TriageLevel.NONE]
        p_urgent = sum(chances[i] for i in urgent)
        p_flagged = sum(chances[i] for i in flagged)
        if p_urgent >= self.urgent_threshold:
            raises, chosen, probability = TriageLevel.URGENT, urgent, p_urgent
        elif p_flagged >= self.flagged_threshold:
            raises, chosen, probability = TriageLevel.CONCERN, flagged, p_flagged
        else:
            raises, chosen, probability = TriageLevel.NONE, flagged, p_flagged
        best = max(chosen, key=chances.__getitem__)
        level, category = self.classes[best]
        return Resemblance(category, level, probability, raises)


def level_named(name: str) -> TriageLevel:
    """The level called ``name`` (``none``, ``concern``, ``urgent``)."""
    if name not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, not {name!r}")
    return _LEVELS[name]


@dataclass(frozen=True, slots=True)
class ModelOpinion:
    """The second opinion over the models of several languages (unknown → ``None``)."""

    models: Mapping[str, TextModel]

    def closest(self, text: str, locale: str) -> Resemblance | None:
        """What the locale's model makes of ``text``; ``None`` without a model or words."""
        model = self.models.get(locale)
        if model is None or not any(c.isalpha() for c in text):
            return None
        return model.judge(text)
