"""The second opinion's trained models, one file per locale beside the rules:
``bot/domain/triage_rules/<locale>.opinion.gz``.

A file is one gzip stream: a JSON header (the features' n-gram lengths, the classes
``level:category``, the vocabulary in column order, the idf of each column, one
intercept and one weight scale per class, the two thresholds, and ``about``: what it
was trained on and how its thresholds were chosen), a NUL byte, then the weights, one
signed byte each, features by classes. A weight is its byte times its class's scale
(the largest weight of the class is 127 of them): a quarter of the size of float32; a
class's probability moves by about 1% at most, and no labelled reply changes level.
``python -m tests.second_opinion_training`` writes them; nothing here trains.
"""

from __future__ import annotations

import gzip
import json
from array import array
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.domain.triage_opinion import NGRAMS, ModelOpinion, TextModel, level_named
from bot.triage_rules import RULES_DIR, available_locales
from bot.triage_rules import warm_up as warm_up_rules

FORMAT = 2
SUFFIX = ".opinion.gz"
_SEPARATOR = b"\0"
_STEPS = 127


class ModelError(ValueError):
    """A model file is missing a part or does not fit this version of the code."""


def model_path(locale: str) -> Path:
    """Where the model of ``locale`` is kept."""
    return RULES_DIR / f"{locale}{SUFFIX}"


@cache
def second_opinion() -> ModelOpinion:
    """The models of every locale that has one, loaded once."""
    models = {}
    for locale in available_locales():
        path = model_path(locale)
        if path.exists():
            models[locale] = read_model(path)
    return ModelOpinion(MappingProxyType(models))


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    header, separator, weights = gzip.decompress(path.read_bytes()).partition(_SEPARATOR)
    if not separator:
        raise ValueError("no weights after the header")
    return dict(json.loads(header)), weights


def read_about(path: Path) -> dict[str, Any]:
    """What ``path``'s model records about its training."""
    try:
        return dict(_read(path)[0]["about"])
    except (OSError, EOFError, KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{path}: {error}") from None


def read_model(path: Path) -> TextModel:
    """The model kept in ``path``; ``ModelError`` names what is wrong with it."""
    try:
        data, raw = _read(path)
        if data.get("format") != FORMAT or list(data["ngrams"]) != [NGRAMS[0], NGRAMS[-1]]:
            raise ModelError(f"{path}: trained for another version; retrain it")
        scales = [float(v) for v in data["scales"]]
        steps = array("b", raw)
        width = len(scales)
        weights = array("f", (step * scales[i % width] for i, step in enumerate(steps)))
        classes = []
        for name in data["classes"]:
            level, _, category = str(name).partition(":")
            classes.append((level_named(level), category))
        return TextModel(
            locale=str(data["locale"]),
            vocabulary=MappingProxyType({g: i for i, g in enumerate(data["vocabulary"])}),
            idf=tuple(float(v) for v in data["idf"]),
            classes=tuple(classes),
            intercepts=tuple(float(v) for v in data["intercepts"]),
            weights=weights,
            urgent_threshold=float(data["thresholds"]["urgent"]),
            flagged_threshold=float(data["thresholds"]["flagged"]),
        )
    except (OSError, EOFError, KeyError, TypeError, ValueError) as error:
        if isinstance(error, ModelError):
            raise
        raise ModelError(f"{path}: {error}") from None


def write_model(model: TextModel, path: Path, about: Mapping[str, Any]) -> None:
    """Keep ``model`` in ``path``, with ``about`` (how it was trained)."""
    width = len(model.classes)
    largest = [0.0] * width
    for index, weight in enumerate(model.weights):
        largest[index % width] = max(largest[index % width], abs(weight))
    scales = [(peak / _STEPS) or 1.0 for peak in largest]
    steps = array(
        "b", (round(weight / scales[i % width]) for i, weight in enumerate(model.weights))
    )
    header = {
        "format": FORMAT,
        "locale": model.locale,
        "about": dict(about),
        "ngrams": [NGRAMS[0], NGRAMS[-1]],
        "classes": [f"{level.value}:{category}" for level, category in model.classes],
        "vocabulary": sorted(model.vocabulary, key=model.vocabulary.__getitem__),
        "idf": [round(v, 6) for v in model.idf],
        "intercepts": [round(v, 6) for v in model.intercepts],
        "scales": scales,
        "thresholds": {
            "urgent": round(model.urgent_threshold, 4),
            "flagged": round(model.flagged_threshold, 4),
        },
    }
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.write_bytes(gzip.compress(text + _SEPARATOR + steps.tobytes(), mtime=0))


def warm_up() -> None:
    """Load every locale's rules and models now (see ``bot.triage_rules.warm_up``)."""
    warm_up_rules()
    for model in second_opinion().models.values():
        model.judge("warm up")
