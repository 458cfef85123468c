"""Triage rules from the data files ``bot/domain/triage_rules/<locale>.toml``.

``load_lexicon(locale)`` reads, checks and compiles one locale's rules into the
:class:`~bot.domain.triage_lexicon.Lexicon` that :func:`~bot.domain.triage.triage`
takes, with the locale's dictionary (:mod:`bot.triage_dictionary`), once per locale.
An unknown locale gets English. Flags marked ``shared = true`` (self-harm words) also
apply in every other locale, so a client who writes in another language than their
settings say is still heard. The file format is described at the top of ``en.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.domain.models import TriageLevel
from bot.domain.triage_lexicon import (
    Cues,
    Dictionary,
    Flag,
    Lexicon,
    PlainDictionary,
    Reasons,
    ScoreRules,
)
from bot.domain.triage_text import EXACT, GAP, Normaliser, tokenize
from bot.triage_dictionary import dictionary_for

DEFAULT_LOCALE = "en"
RULES_DIR = Path(__file__).parent / "domain" / "triage_rules"

_LEVELS = {"urgent": TriageLevel.URGENT, "concern": TriageLevel.CONCERN, "none": TriageLevel.NONE}
_SECTIONS = {
    "meta",
    "normalise",
    "context",
    "idioms",
    "scores",
    "reasons",
    "concepts",
    "flag",
    "categories",
}
_NORMALISE_KEYS = {
    "replacements",
    "folds",
    "substitutions",
    "suffixes",
    "leet",
    "numbers",
    "fuzzy",
    "fuzzy_min_length",
}
_CUE_SETS = set(Cues().sets())
_CONTEXT_KEYS = _CUE_SETS | {
    "clause_words",
    "breakers",
    "transparent",
    "becoming",
    "scope",
    "passed_scope",
}
_FLAG_KEYS = {
    "id",
    "category",
    "level",
    "reason",
    "source",
    "when",
    "scope",
    "persists",
    "denial",
    "about_client",
    "for_others",
    "figurative",
    "unless",
    "shared",
}
_REASON_KEYS = set(Reasons.__dataclass_fields__)


class RulesError(ValueError):
    """A triage rules file is malformed; the message names the file and the problem."""


def available_locales() -> tuple[str, ...]:
    """The locales that have a rules file, default first."""
    others = sorted(p.stem for p in RULES_DIR.glob("*.toml") if p.stem != DEFAULT_LOCALE)
    return (DEFAULT_LOCALE, *others)


def resolve_locale(code: str | None) -> str:
    """The rules locale for a language code such as ``de-AT``; English when unknown."""
    if code:
        base = code.replace("_", "-").split("-")[0].strip().lower()
        if base in available_locales():
            return base
    return DEFAULT_LOCALE


def load_lexicon(locale: str | None = None) -> Lexicon:
    """The compiled rules for ``locale`` (any language code; unknown → English), cached."""
    return _load(resolve_locale(locale))


def warm_up() -> None:
    """Load every locale's rules and open its dictionary now, so that the first reply
    a client writes is not the one that pays for it."""
    for locale in available_locales():
        lexicon = load_lexicon(locale)
        lexicon.read("warm up")


@cache
def _load(locale: str) -> Lexicon:
    try:
        own = _read(locale)
        also = tuple(
            shared_lexicon(other, _read(other), own, dictionary_for(other))
            for other in available_locales()
            if other != locale
        )
        return build_lexicon(locale, own, dictionary=dictionary_for(locale), also=also)
    except RulesError as error:
        raise RulesError(f"{RULES_DIR / f'{locale}.toml'}: {error}") from None


def shared_lexicon(
    locale: str, data: Mapping[str, Any], host: Mapping[str, Any], dictionary: Dictionary
) -> Lexicon:
    """The ``shared = true`` flags of ``locale``, for use inside another locale (``host``).

    They keep their own spelling and context rules; a flag whose id the host also has
    takes the host's reason, so the practitioner reads one language.
    """
    reasons = {f.get("id"): f.get("reason") for f in host.get("flag", []) if f.get("reason")}
    flags = [
        {**flag, "reason": reasons.get(flag.get("id"), flag.get("reason", ""))}
        for flag in data.get("flag", [])
        if flag.get("shared")
    ]
    named = {
        concept.strip()
        for flag in flags
        for text in (*flag.get("when", []), *flag.get("unless", []))
        for concept in str(text).split("+")
    }
    kept = {k: data[k] for k in ("context", "idioms") if k in data}
    kept["concepts"] = {k: v for k, v in data.get("concepts", {}).items() if k in named}
    # Misspellings are read in the client's own language only: a word of the host's
    # language is not a misspelt word of this one.
    kept["normalise"] = {k: v for k, v in data.get("normalise", {}).items() if k != "fuzzy"}
    return build_lexicon(
        locale, {**kept, "flag": flags, "scores": {"out_of": []}}, dictionary=dictionary
    )


@cache
def _read(locale: str) -> Mapping[str, Any]:
    path = RULES_DIR / f"{locale}.toml"
    try:
        with path.open("rb") as file:
            return MappingProxyType(tomllib.load(file))
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{path}: {error}") from None


def build_lexicon(
    locale: str,
    data: Mapping[str, Any],
    *,
    dictionary: Dictionary | None = None,
    also: Sequence[Lexicon] = (),
) -> Lexicon:
    """Compile parsed rules (the TOML as a dict) into a ``Lexicon``.

    ``dictionary`` lemmatises (none: every word is its own lemma); ``also`` are lexicons
    of other languages that apply too (see ``shared_lexicon``). Raises ``RulesError``
    naming the first problem.
    """
    _only(data, _SECTIONS, "top level")
    normalise = _table(data, "normalise")
    _only(normalise, _NORMALISE_KEYS, "[normalise]")
    normaliser = Normaliser(
        replacements=tuple(_strings_map(normalise, "replacements").items()),
        substitutions=MappingProxyType(
            {k: tuple(v.split()) for k, v in _strings_map(normalise, "substitutions").items()}
        ),
        suffixes=tuple(
            sorted(
                ((k, tuple(v.split())) for k, v in _strings_map(normalise, "suffixes").items()),
                key=lambda item: -len(item[0]),
            )
        ),
        leet=MappingProxyType(_strings_map(normalise, "leet")),
        folds=tuple(_strings_map(normalise, "folds").items()),
        numbers=MappingProxyType(_ints_map(normalise, "numbers")),
    )
    concepts_table = _table(data, "concepts")
    concepts = {
        name: tuple(
            _phrase(normaliser, text, f"concept {name!r}")
            for text in _strings(concepts_table, name)
        )
        for name in concepts_table
    }
    flags: list[Flag] = []
    for entry in data.get("flag", []):
        flag = _flag(entry)
        if any(f.id == flag.id for f in flags):
            raise RulesError(f"two flags are called {flag.id!r}")
        flags.append(flag)
    context = _table(data, "context")
    _only(context, _CONTEXT_KEYS, "[context]")
    try:
        return Lexicon(
            locale=locale,
            normaliser=normaliser,
            concepts=MappingProxyType(concepts),
            flags=tuple(flags),
            dictionary=dictionary or PlainDictionary(),
            idioms=_phrases(normaliser, _table(data, "idioms"), "phrases"),
            cues=Cues(
                **{name: _phrases(normaliser, context, name) for name in sorted(_CUE_SETS)},
                clause_words=_words(normaliser, context, "clause_words"),
                breakers=_words(normaliser, context, "breakers"),
                transparent=_words(normaliser, context, "transparent"),
                becoming=_words(normaliser, context, "becoming"),
                scope=_int(context, "scope", 4),
                passed_scope=_int(context, "passed_scope", 6),
            ),
            scores=_scores(_table(data, "scores")),
            reasons=_reasons(_table(data, "reasons")),
            fuzzy=tuple(_strings(normalise, "fuzzy")),
            fuzzy_min_length=_int(normalise, "fuzzy_min_length", 6),
            category_names=MappingProxyType(_strings_map(data, "categories")),
            also=tuple(also),
        )
    except ValueError as error:
        raise RulesError(str(error)) from None


def _flag(entry: Any) -> Flag:
    if not isinstance(entry, Mapping):
        raise RulesError("each [[flag]] must be a table")
    _only(entry, _FLAG_KEYS, f"flag {entry.get('id')!r}")
    flag_id = entry.get("id")
    if not isinstance(flag_id, str) or not flag_id:
        raise RulesError("a [[flag]] has no id")
    level = _level(entry.get("level"), f"flag {flag_id!r}")
    reason = entry.get("reason", "")
    if level is not TriageLevel.NONE and not reason:
        raise RulesError(f"flag {flag_id!r}: an {level.value} flag needs a reason")
    if level is TriageLevel.URGENT and not entry.get("source"):
        raise RulesError(f"flag {flag_id!r}: an urgent flag needs its source")
    patterns = tuple(
        tuple(part.strip() for part in text.split("+")) for text in _strings(entry, "when")
    )
    if not patterns or any(not all(p) for p in patterns):
        raise RulesError(f"flag {flag_id!r}: when lists concepts joined by +")
    scope = entry.get("scope", "clause")
    if scope not in ("clause", "sentence", "message") and (
        not isinstance(scope, int) or isinstance(scope, bool) or scope < 0
    ):
        raise RulesError(f"flag {flag_id!r}: scope is clause, sentence, message or a number")
    denial = entry.get("denial", "any")
    if denial not in ("any", "clear", "never"):
        raise RulesError(f"flag {flag_id!r}: denial is any, clear or never")
    figurative = entry.get("figurative", "no")
    if figurative not in ("no", "none", "concern"):
        raise RulesError(f"flag {flag_id!r}: figurative is no, none or concern")
    return Flag(
        id=flag_id,
        category=str(entry.get("category", flag_id)),
        level=level,
        patterns=patterns,
        reason=str(reason),
        source=str(entry.get("source", "")),
        scope=scope,
        persists=_bool(entry, "persists", default=False),
        denial=denial,
        about_client=_bool(entry, "about_client", default=True),
        for_others=_bool(entry, "for_others", default=True),
        figurative=figurative,
        unless=tuple(_strings(entry, "unless")),
    )


def _scores(scores: Mapping[str, Any]) -> ScoreRules:
    _only(scores, {"high", "rise", "out_of", "text_needs"}, "[scores]")
    return ScoreRules(
        high=_int(scores, "high", 8),
        rise=_int(scores, "rise", 3),
        out_of=tuple(_strings(scores, "out_of")),
        text_needs=str(scores.get("text_needs", "")),
    )


def _reasons(reasons: Mapping[str, Any]) -> Reasons:
    _only(reasons, _REASON_KEYS, "[reasons]")
    return Reasons(**{key: str(value) for key, value in reasons.items()})


def _level(name: Any, owner: str) -> TriageLevel:
    if name not in _LEVELS:
        raise RulesError(f"{owner}: level must be urgent, concern or none, not {name!r}")
    return _LEVELS[name]


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise RulesError(f"{where}: unknown keys {sorted(unknown)}")


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise RulesError(f"[{key}] must be a table")
    return value


def _strings(table: Mapping[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulesError(f"{key} must be a list of non-empty strings")
    return value


def _strings_map(table: Mapping[str, Any], key: str) -> dict[str, str]:
    value = table.get(key, {})
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise RulesError(f"{key} must be a table of strings")
    return dict(value)


def _ints_map(table: Mapping[str, Any], key: str) -> dict[str, int]:
    value = table.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    ):
        raise RulesError(f"{key} must be a table of whole numbers")
    return dict(value)


def _phrase(normaliser: Normaliser, text: str, owner: str) -> tuple[str, ...]:
    """The words of a phrase as written in a data file (``*``, ``word*``, ``*word``,
    ``.``, ``?``, ``,``, ``<number>`` and ``<many>`` kept), each folded to its key."""
    words: list[str] = []
    for part in text.split():
        if part in (GAP, ".", "?", ",") or (part.startswith("<") and part.endswith(">")):
            words.append(part)
        elif len(part) > 1 and part.startswith(EXACT):
            words.extend(f"{EXACT}{w}" for w in _spelled(normaliser, part[1:]))
        elif len(part) > 1 and (part.endswith(GAP) or part.startswith(GAP)):
            stem = part.strip(GAP)
            key = normaliser.key(normaliser.clean(stem))
            words.append(f"{key}{GAP}" if part.endswith(GAP) else f"{GAP}{key}")
        else:
            words.extend(_spelled(normaliser, part))
    if not words:
        raise RulesError(f"{owner}: the phrase {text!r} has no words")
    return tuple(words)


def _spelled(normaliser: Normaliser, text: str) -> list[str]:
    words: list[str] = []
    for kind, token in tokenize(normaliser.clean(text)):
        if kind == "word":
            words.extend(normaliser.key(w) for w in normaliser.spell(token))
        else:
            words.append(token)
    return words


def _phrases(
    normaliser: Normaliser, table: Mapping[str, Any], key: str
) -> tuple[tuple[str, ...], ...]:
    return tuple(_phrase(normaliser, text, key) for text in _strings(table, key))


def _words(normaliser: Normaliser, table: Mapping[str, Any], key: str) -> frozenset[str]:
    return frozenset(w for text in _strings(table, key) for w in _spelled(normaliser, text))


def _int(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RulesError(f"{key} must be a whole number, not {value!r}")
    return value


def _bool(table: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise RulesError(f"{key} must be true or false, not {value!r}")
    return value
