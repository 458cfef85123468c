"""Reading text for triage: normalisation, words and the notation of phrases.

A :class:`Normaliser` spells a locale's text and the phrases of its data file the same
way (NFKC, casefold, accents dropped, the locale's replacements, text-speak, contractions
and digits read); :func:`tokenize` cuts cleaned text into words, stops, commas and emoji.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

GAP = "*"
"""In a phrase: up to ``MAX_GAP`` words in between."""
STOP = "."
"""A sentence boundary, in text and in phrases."""
COMMA = ","
MAX_GAP = 3

_IGNORED = re.compile("[\u00ad\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u201b\u02bc\u00b4`\u2032", "'"))
_TOKEN = re.compile(
    r"(?P<word>[^\W_]+(?:'[^\W_]+)*)|(?P<stop>[.!?;:\n\u3002]+)|(?P<comma>,)|(?P<other>\S)"
)


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
