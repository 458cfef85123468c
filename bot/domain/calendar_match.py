"""Which client a calendar event is for: the one its title or description names.

Names are compared as ``/book`` compares them (case- and accent-insensitive). A client's
full name anywhere in the words names them; failing that, their first name alone does,
when no other client of the practitioner shares it. Several clients named, or none,
is a question for the practitioner, never a guess.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from bot.domain.booking_input import normalize_name

T = TypeVar("T")
_WORD = re.compile(r"[\w'\u2019-]+")


def clients_named(text: str, clients: Sequence[T], name: Callable[[T], str]) -> list[T]:
    """The clients ``text`` names, in the order of ``clients``."""
    return NameMatcher(clients, name).named(text)


class NameMatcher(Generic[T]):
    """:func:`clients_named` for many texts and one list of clients: each name is
    normalized once, not once a text, and each text is read once (the repeats of an
    event share theirs)."""

    def __init__(self, clients: Sequence[T], name: Callable[[T], str]) -> None:
        self._clients = list(clients)
        full = [_words(name(c)) for c in self._clients]
        firsts = [words[0] if words else "" for words in full]
        # Full names by their first word, in the clients' order: a text is compared with
        # the names whose first word it holds, not with every client's.
        self._full_by_first: dict[str, list[tuple[int, list[str]]]] = {}
        for at, words in enumerate(full):
            if words:
                self._full_by_first.setdefault(words[0], []).append((at, words))
        shared = Counter(firsts)
        self._by_first = {
            first: client
            for client, first in zip(self._clients, firsts, strict=True)
            if first and shared[first] == 1
        }
        self._read: dict[str, list[T]] = {}

    def named(self, text: str) -> list[T]:
        """The clients ``text`` names, in the order of the clients."""
        found = self._read.get(text)
        if found is None:
            found = self._read[text] = self._named(text)
        return list(found)

    def _named(self, text: str) -> list[T]:
        words = _words(text)
        if not words:
            return []
        present = set(words)
        full = sorted(
            at
            for first in present
            for at, wanted in self._full_by_first.get(first, ())
            if _contains(words, wanted)
        )
        if full:
            return [self._clients[at] for at in full]
        return [c for first, c in self._by_first.items() if first in present]


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize_name(text))


def _contains(words: list[str], wanted: list[str]) -> bool:
    """Whether ``wanted`` stands in ``words`` as consecutive words."""
    if not wanted:
        return False
    size = len(wanted)
    return any(words[at : at + size] == wanted for at in range(len(words) - size + 1))
