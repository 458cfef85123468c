"""The second opinion's trained models, one file per locale beside the rules:
``bot/domain/triage_rules/<locale>.opinion.json.gz``.

A file is gzipped JSON: the features' n-gram lengths, the classes (``level:category``),
the vocabulary (n-gram → column, in column order), the idf of each column, one
intercept per class, the weights (features by classes, little-endian float32, base64),
the two thresholds, and ``about``: what it was trained on and how its thresholds were
chosen. ``python -m tests.second_opinion_training`` writes them; nothing here trains.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
from array import array
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.domain.triage_opinion import NGRAMS, ModelOpinion, TextModel, level_named
from bot.triage_rules import RULES_DIR, available_locales
from bot.triage_rules import warm_up as warm_up_rules

FORMAT = 1
SUFFIX = ".opinion.json.gz"


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


def read_about(path: Path) -> dict[str, Any]:
    """What ``path``'s model records about its training."""
    try:
        return dict(json.loads(gzip.decompress(path.read_bytes()))["about"])
    except (OSError, EOFError, KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{path}: {error}") from None


def read_model(path: Path) -> TextModel:
    """The model kept in ``path``; ``ModelError`` names what is wrong with it."""
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
        if data.get("format") != FORMAT or list(data["ngrams"]) != [NGRAMS[0], NGRAMS[-1]]:
            raise ModelError(f"{path}: trained for another version; retrain it")
        weights = array("f")
        weights.frombytes(base64.b64decode(data["weights"]))
        if sys.byteorder != "little":
            weights.byteswap()
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
    weights = array("f", model.weights)
    if sys.byteorder != "little":
        weights.byteswap()
    data = {
        "format": FORMAT,
        "locale": model.locale,
        "about": dict(about),
        "ngrams": [NGRAMS[0], NGRAMS[-1]],
        "classes": [f"{level.value}:{category}" for level, category in model.classes],
        "vocabulary": sorted(model.vocabulary, key=model.vocabulary.__getitem__),
        "idf": [round(v, 6) for v in model.idf],
        "intercepts": [round(v, 6) for v in model.intercepts],
        "weights": base64.b64encode(weights.tobytes()).decode("ascii"),
        "thresholds": {
            "urgent": round(model.urgent_threshold, 4),
            "flagged": round(model.flagged_threshold, 4),
        },
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def warm_up() -> None:
    """Load every locale's rules and models now (see ``bot.triage_rules.warm_up``)."""
    warm_up_rules()
    for model in second_opinion().models.values():
        model.judge("warm up")
