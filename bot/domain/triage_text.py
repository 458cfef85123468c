"""Reading text for triage: normalisation, tokens, clauses and the notation of phrases.

A reply is cleaned (NFKC, casefold, invisible characters and emoji skin tones dropped,
the locale's text replacements), cut into words, emoji, commas and sentence stops, and
each word spelled as the locale's data file writes words (text-speak and contractions
read: ``cant`` → ``can not``). Every word then carries two *keys* that phrases are
matched against: its folded spelling and its folded lemma (accents dropped and the
locale's folds, so German ``müde``, ``muede`` and ``mude`` are one word). The lemma comes
from a :data:`Lemmatise` function the caller provides; the domain has no dictionary of
its own.

Words are grouped into sentences (split at ``. ! ? ;`` and line breaks) and clauses
(split also at commas, dashes and the locale's clause words such as "but").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

GAP = "*"
"""In a phrase: up to ``MAX_GAP`` plain words in between; ``word*`` a prefix, ``*word`` a
suffix (German compounds: ``*schmerz`` is ``Kopfschmerz``)."""
STOP = "."
"""A sentence boundary, in text and in phrases."""
QUESTION = "?"
"""A sentence boundary that ends a question ("a stroke? no")."""
COMMA = ","
MAX_GAP = 3
NUMBER = "<number>"
"""In a phrase: any number, in digits or words ("20", "twenty")."""
MANY = "<many>"
"""In a phrase: a number of at least :data:`MANY_FROM` ("20", "a dozen")."""
MANY_FROM = 8
FEW = "<few>"
"""In a phrase: a number up to :data:`FEW_UPTO` ("slept <few> hours")."""
FEW_UPTO = 4
YEAR = "<year>"
"""In a phrase: a year ("2010")."""
YEARS = range(1900, 2100)
EXACT = "="
"""Before a word of a phrase: that spelling only, not its other forms (``=stroke`` is
not "stroked")."""

Lemmatise = Callable[[str], str]
"""A word (cleaned, lower case, accents kept) → its dictionary form, lower case."""

_IGNORED = re.compile("[\u00ad\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u201b\u02bc\u00b4`\u2032", "'"))
_DASH = re.compile(r"(?:^|\s)[-\u2013\u2014]+(?=\s|$)")
_TOKEN = re.compile(
    r"(?P<word>[^\W_]+(?:'[^\W_]+)*)|(?P<stop>[.!?;:\n\u3002]+)|(?P<comma>,)|(?P<other>\S)"
)


def fold(word: str) -> str:
    """A word without accents: ``müde`` → ``mude`` (the locale's folds come after)."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not _combining(c))


@dataclass(frozen=True, slots=True)
class Normaliser:
    """How a locale's words are spelled for matching; the same for text and phrases."""

    replacements: tuple[tuple[str, str], ...] = ()
    substitutions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    suffixes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    leet: Mapping[str, str] = field(default_factory=dict)
    folds: tuple[tuple[str, str], ...] = ()
    numbers: Mapping[str, int] = field(default_factory=dict)

    def clean(self, text: str) -> str:
        """NFKC, casefold, no invisible characters, dashes as commas, the replacements.
        Accents stay (the lemmatiser needs them)."""
        text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
        text = _DASH.sub(" , ", _IGNORED.sub("", text))
        for old, new in self.replacements:
            text = text.replace(old, new)
        return text

    def key(self, word: str) -> str:
        """The folded form two spellings of one word share (``muede`` = ``müde``)."""
        folded = fold(word)
        for old, new in self.folds:
            folded = folded.replace(old, new)
        return folded

    def spell(self, word: str) -> tuple[str, ...]:
        """A word as the lexicon writes it: text-speak, contractions and digits read."""
        for form in (word, fold(word)):
            if form in self.substitutions:
                return self.substitutions[form]
        if self.leet and any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            word = "".join(self.leet.get(c, c) for c in word)
            if word in self.substitutions:
                return self.substitutions[word]
        for suffix, replacement in self.suffixes:
            if word.endswith(suffix) and len(word) > len(suffix):
                return (*self.spell(word[: -len(suffix)]), *replacement)
        return (word,)

    def number(self, word: str) -> int | None:
        """The value of a number written in digits or as a word of the locale."""
        if word.isdigit() and len(word) <= 6:
            return int(word)
        return self.numbers.get(fold(word))


def _combining(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Me")


def tokenize(clean: str) -> list[tuple[str, str]]:
    """Cut cleaned text into ``("word", w)``, ``("stop", "." or "?")``, ``("comma", ",")``
    and ``("symbol", emoji)``; other punctuation is dropped."""
    tokens: list[tuple[str, str]] = []
    for found in _TOKEN.finditer(clean):
        kind = found.lastgroup or "other"
        if kind == "stop":
            # A question when the sentence ends with it ("really?!", "?\n"), not when a
            # "?" only follows a full stop or a line break ("I want to die.\n?").
            asked = "?" in re.split(r"[.\n]", found.group(), maxsplit=1)[0]
            tokens.append(("stop", QUESTION if asked else STOP))
        elif kind == "comma":
            tokens.append(("comma", COMMA))
        elif kind == "word":
            tokens.append(("word", found.group()))
        elif unicodedata.category(found.group())[0] == "S":
            tokens.append(("symbol", found.group()))
    return tokens


def join_spelled_out(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
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


def one_edit(a: str, b: str) -> bool:
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
class Token:
    """One word, emoji, comma or stop of a reply, as matched.

    ``text`` is the word as spelled (for showing which words matched); ``key`` and
    ``lemma`` are what phrases match; ``value`` is the number a word stands for.
    ``sentence`` and ``clause`` number the units the token belongs to (a boundary token
    belongs to the unit it ends).
    """

    text: str
    key: str
    lemma: str
    kind: str
    sentence: int
    clause: int
    value: int | None = None

    @property
    def is_word(self) -> bool:
        """A word or an emoji: something a phrase can match."""
        return self.kind in ("word", "symbol")

    def matches(self, want: str) -> bool:
        """Whether this token fits one word of a phrase (already folded)."""
        if want == NUMBER:
            return self.value is not None
        if want == MANY:
            return self.value is not None and self.value >= MANY_FROM
        if want == FEW:
            return self.value is not None and self.value <= FEW_UPTO
        if want == YEAR:
            return self.value in YEARS
        if want.startswith(EXACT):
            return self.key == want[1:]
        if len(want) > 1 and want.endswith(GAP):
            stem = want[:-1]
            return self.key.startswith(stem) or self.lemma.startswith(stem)
        if len(want) > 1 and want.startswith(GAP):
            tail = want[1:]
            return self.key.endswith(tail) or self.lemma.endswith(tail)
        return want in (self.key, self.lemma)
