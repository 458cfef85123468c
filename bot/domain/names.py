"""A person's name as typed: what is kept and shown."""

from __future__ import annotations

import unicodedata

_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner: part of scripts and emoji
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})


def tidy_name(text: str) -> str:
    """``text`` without control, formatting and unassigned characters (bidi overrides and
    zero-width spaces can make one name look like another, and Telegram drops some of
    them), with its spaces collapsed."""
    kept = "".join(c for c in text if c in _JOINERS or unicodedata.category(c) not in _INVISIBLE)
    return " ".join(kept.split())
