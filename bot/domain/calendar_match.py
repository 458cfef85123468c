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
from typing import TypeVar

from bot.domain.booking_input import normalize_name

T = TypeVar("T")
_WORD = re.compile(r"[\w'\u2019-]+")


def clients_named(text: str, clients: Sequence[T], name: Callable[[T], str]) -> list[T]:
    """The clients ``text`` names, in the order of ``clients``."""
    words = _words(text)
    if not words:
        return []
    full = [c for c in clients if _contains(words, _words(name(c)))]
    if full:
        return full
    firsts = [_first(name(c)) for c in clients]
    shared = Counter(firsts)
    return [
        client
        for client, first in zip(clients, firsts, strict=True)
        if first and shared[first] == 1 and first in words
    ]


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize_name(text))


def _first(full_name: str) -> str:
    words = _words(full_name)
    return words[0] if words else ""


def _contains(words: list[str], wanted: list[str]) -> bool:
    """Whether ``wanted`` stands in ``words`` as consecutive words."""
    if not wanted:
        return False
    size = len(wanted)
    return any(words[at : at + size] == wanted for at in range(len(words) - size + 1))
