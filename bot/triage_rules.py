"""Triage rules from the data files ``bot/domain/triage_rules/<locale>.toml``.

``load_lexicon(locale)`` reads, checks and compiles one locale's rules into the
:class:`~bot.domain.triage_lexicon.Lexicon` that :func:`~bot.domain.triage.triage`
takes, once per locale. An unknown locale gets English. Rules marked ``shared = true``
(self-harm language) also apply in every other locale, so a client who writes in another
language than their settings say is still heard. The file format is described at the top of
``en.toml``.
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
    Combination,
    Lexicon,
    Negation,
    Phrase,
    Rule,
    ScoreRules,
)
from bot.domain.triage_text import Normaliser

DEFAULT_LOCALE = "en"
RULES_DIR = Path(__file__).parent / "domain" / "triage_rules"

_LEVELS = {"urgent": TriageLevel.URGENT, "concern": TriageLevel.CONCERN, "none": TriageLevel.NONE}
_SECTIONS = {
    "meta",
    "normalise",
    "negation",
    "resolution",
    "scores",
    "reasons",
    "idioms",
    "rule",
    "combination",
}
_RULE_KEYS = {
    "id",
    "level",
    "reason",
    "phrases",
    "negatable",
    "hedgeable",
    "resolved_level",
    "fuzzy",
    "shared",
}
_COMBINATION_KEYS = {"all_of", "level", "reason", "within", "resolved_level"}
_REASONS = {
    "high": "high_reason",
    "rise": "rise_reason",
    "text": "text_reason",
    "much_worse": "much_worse_reason",
    "worse_twice": "worse_twice_reason",
    "resolved": "resolved_reason",
}


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


@cache
def _load(locale: str) -> Lexicon:
    try:
        own = _read(locale)
        also = tuple(
            shared_lexicon(other, _read(other), own)
            for other in available_locales()
            if other != locale
        )
        return build_lexicon(locale, own, also=also)
    except RulesError as error:
        raise RulesError(f"{RULES_DIR / f'{locale}.toml'}: {error}") from None


def shared_lexicon(locale: str, data: Mapping[str, Any], host: Mapping[str, Any]) -> Lexicon:
    """The ``shared = true`` rules of ``locale``, for use inside another locale (``host``).

    They keep their own spelling and negation rules; a rule whose id the host also has
    takes the host's reason, so the practitioner reads one language.
    """
    reasons = {r.get("id"): r.get("reason") for r in host.get("rule", []) if r.get("reason")}
    rules = [
        {**rule, "reason": reasons.get(rule.get("id"), rule.get("reason", ""))}
        for rule in data.get("rule", [])
        if rule.get("shared")
    ]
    kept = {key: data[key] for key in ("normalise", "negation", "idioms") if key in data}
    return build_lexicon(locale, {**kept, "rule": rules, "scores": {"out_of": []}})


@cache
def _read(locale: str) -> Mapping[str, Any]:
    path = RULES_DIR / f"{locale}.toml"
    try:
        with path.open("rb") as file:
            return MappingProxyType(tomllib.load(file))
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{path}: {error}") from None


def build_lexicon(locale: str, data: Mapping[str, Any], *, also: Sequence[Lexicon] = ()) -> Lexicon:
    """Compile parsed rules (the TOML as a dict) into a ``Lexicon``.

    ``also`` are lexicons of other languages that apply too (see ``shared_lexicon``).
    Raises ``RulesError`` naming the first problem.
    """
    _only(data, _SECTIONS, "top level")
    normalise = _table(data, "normalise")
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
    )
    rules: dict[str, Rule] = {}
    phrases: list[Phrase] = []
    for entry in data.get("rule", []):
        rule = _rule(entry)
        if rule.id in rules:
            raise RulesError(f"two rules are called {rule.id!r}")
        rules[rule.id] = rule
        phrases.extend(
            Phrase(normaliser.phrase(text), rule.id) for text in _strings(entry, "phrases")
        )
    negation = _table(data, "negation")
    resolution = _table(data, "resolution")
    try:
        return Lexicon(
            locale=locale,
            normaliser=normaliser,
            rules=MappingProxyType(rules),
            phrases=tuple(phrases),
            idioms=_phrases(normaliser, _table(data, "idioms"), "phrases"),
            combinations=tuple(_combination(c) for c in data.get("combination", [])),
            negation=Negation(
                cues=_phrases(normaliser, negation, "cues"),
                hedges=_phrases(normaliser, negation, "hedges"),
                pseudo=_phrases(normaliser, negation, "pseudo"),
                breakers=_words(normaliser, negation, "breakers"),
                transparent=_words(normaliser, negation, "transparent"),
                scope=_int(negation, "scope", 4),
            ),
            resolution=_phrases(normaliser, resolution, "cues"),
            resolution_scope=_int(resolution, "scope", 6),
            fuzzy_min_length=_int(normalise, "fuzzy_min_length", 6),
            fuzzy_exempt=_words(normaliser, normalise, "fuzzy_exempt"),
            scores=_scores(_table(data, "scores"), _table(data, "reasons")),
            also=tuple(also),
        )
    except ValueError as error:
        raise RulesError(str(error)) from None


def _rule(entry: Any) -> Rule:
    if not isinstance(entry, Mapping):
        raise RulesError("each [[rule]] must be a table")
    _only(entry, _RULE_KEYS, f"rule {entry.get('id')!r}")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise RulesError("a [[rule]] has no id")
    level_name = entry.get("level")
    if level_name != "signal" and level_name not in _LEVELS:
        raise RulesError(f"rule {rule_id!r}: level must be urgent, concern, none or signal")
    level = None if level_name == "signal" else _LEVELS[level_name]
    reason = entry.get("reason", "")
    if level in (TriageLevel.URGENT, TriageLevel.CONCERN) and not reason:
        raise RulesError(f"rule {rule_id!r}: an {level_name} rule needs a reason")
    return Rule(
        id=rule_id,
        level=level,
        reason=str(reason),
        negatable=_bool(entry, "negatable", default=True),
        hedgeable=_bool(entry, "hedgeable", default=level is TriageLevel.CONCERN),
        resolved_level=_level(entry.get("resolved_level", "none"), rule_id),
        fuzzy=_bool(entry, "fuzzy", default=False),
    )


def _combination(entry: Any) -> Combination:
    if not isinstance(entry, Mapping):
        raise RulesError("each [[combination]] must be a table")
    _only(entry, _COMBINATION_KEYS, f"combination {entry.get('all_of')!r}")
    parts = _strings(entry, "all_of")
    if len(parts) < 2:
        raise RulesError(f"combination {parts!r}: name at least two rules in all_of")
    within = entry.get("within", "sentence")
    if within not in ("sentence", "message") and (
        not isinstance(within, int) or isinstance(within, bool) or within < 0
    ):
        raise RulesError(f"combination {parts!r}: within is sentence, message or a number")
    level = _level(entry.get("level"), str(parts))
    if level is TriageLevel.NONE or not entry.get("reason"):
        raise RulesError(f"combination {parts!r}: needs level urgent or concern and a reason")
    return Combination(
        all_of=tuple(parts),
        level=level,
        reason=str(entry["reason"]),
        within=within,
        resolved_level=_level(entry.get("resolved_level", "none"), str(parts)),
    )


def _scores(scores: Mapping[str, Any], reasons: Mapping[str, Any]) -> ScoreRules:
    _only(reasons, set(_REASONS), "[reasons]")
    texts = {_REASONS[key]: str(value) for key, value in reasons.items()}
    return ScoreRules(
        high=_int(scores, "high", 8),
        rise=_int(scores, "rise", 3),
        out_of=tuple(_strings(scores, "out_of")),
        text_needs=str(scores.get("text_needs", "")),
        **texts,
    )


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


def _phrases(
    normaliser: Normaliser, table: Mapping[str, Any], key: str
) -> tuple[tuple[str, ...], ...]:
    return tuple(words for text in _strings(table, key) if (words := normaliser.phrase(text)))


def _words(normaliser: Normaliser, table: Mapping[str, Any], key: str) -> frozenset[str]:
    return frozenset(w for text in _strings(table, key) for w in normaliser.phrase(text))


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
