"""Dictionaries for triage: lemmas from simplemma, whose data ships in its wheel.

simplemma's low-memory dictionaries read the compressed data a word at a time rather
than building a dictionary in memory (English and German together cost about 25 MB
instead of about 130 MB). German written without umlauts ("muede", "geschluckt",
"uebel") is looked up with them too, and "ss" as "ß", so every spelling finds its lemma.
"""

from __future__ import annotations

from functools import cache
from itertools import product
from typing import TypeVar

from simplemma import Lemmatizer
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy
from simplemma.strategies.dictionaries import LOW_MEMORY_DICTIONARY_FACTORY

from bot.domain.triage_lexicon import Dictionary

CACHED_WORDS = 1 << 16
_T = TypeVar("_T")
_SPELLED_OUT = {"ae": "ä", "oe": "ö", "ue": "ü", "ss": "ß"}
_MAX_RESPELLINGS = 4
"""German words are tried with at most this many spelled-out umlauts put back (2⁴ forms)."""


class SimplemmaDictionary:
    """One language's dictionary, through simplemma; lookups are cached."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._lemmatizer = Lemmatizer(
            cache_max_size=CACHED_WORDS,
            lemmatization_strategy=DefaultStrategy(
                dictionary_factory=LOW_MEMORY_DICTIONARY_FACTORY
            ),
        )
        self._lookup = DictionaryLookupStrategy(LOW_MEMORY_DICTIONARY_FACTORY)
        self._lemmas: dict[str, str] = {}
        self._known_words: dict[str, bool] = {}

    def lemma(self, word: str) -> str:
        """The dictionary form of ``word``, lower case (``geschluckt`` → ``schlucken``)."""
        found = self._lemmas.get(word)
        if found is None:
            found = self._remember(self._lemmas, word, self._lemma(word))
        return found

    def known(self, word: str) -> bool:
        """Whether ``word`` (in any of its spellings) is a word of the language."""
        found = self._known_words.get(word)
        if found is None:
            found = self._remember(self._known_words, word, self._known(word))
        return found

    @staticmethod
    def _remember(cache: dict[str, _T], word: str, value: _T) -> _T:
        if len(cache) >= CACHED_WORDS:  # bounded: hostile input cannot grow it for ever
            cache.clear()
        cache[word] = value
        return value

    def _lemma(self, word: str) -> str:
        for form in self._spellings(word):
            if self._in_dictionary(form):
                return self._lemmatizer.lemmatize(form, self.language).casefold()
        return self._lemmatizer.lemmatize(word, self.language).casefold()

    def _known(self, word: str) -> bool:
        return any(self._in_dictionary(form) for form in self._spellings(word))

    def _in_dictionary(self, word: str) -> bool:
        return self._lookup.get_lemma(word, self.language) is not None

    def _spellings(self, word: str) -> list[str]:
        """``word``, then (German) with spelled-out umlauts and ß put back."""
        if self.language != "de" or not any(pair in word for pair in _SPELLED_OUT):
            return [word]
        parts: list[list[str]] = [[]]
        i = 0
        while i < len(word):
            pair = word[i : i + 2]
            if pair in _SPELLED_OUT and len(parts) <= _MAX_RESPELLINGS:
                parts.append([pair, _SPELLED_OUT[pair]])
                parts.append([])
                i += 2
            else:
                parts[-1].append(word[i])
                i += 1
        choices = [p if len(p) == 2 and p[0] in _SPELLED_OUT else ["".join(p)] for p in parts]
        return ["".join(combination) for combination in product(*choices)]


@cache
def dictionary_for(locale: str) -> Dictionary:
    """The dictionary of a triage locale (one per process)."""
    return SimplemmaDictionary(locale)
