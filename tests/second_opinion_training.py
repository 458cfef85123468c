"""Train the second opinion of each locale from its labelled replies, and write its model.

    python -m tests.second_opinion_training           # retrain and write every model
    python -m tests.second_opinion_training --check   # fail if a kept model is stale
                                                      # (its lines or settings changed)

Every labelled line of ``tests/triage_corpus/*/<locale>.jsonl`` (development and scored
lines; never a blind set not yet scored) trains one multinomial logistic regression over
TF-IDF weighted character n-grams (:func:`bot.domain.triage_opinion.char_grams`), one
class per ``expected:category``. Its two thresholds are chosen on the same lines by
5-fold cross-validation, each from a budget of false raises: the urgent threshold is the
lowest at which the model, judging lines it was not trained on, calls at most
:data:`URGENT_BUDGET` of the lines that are not urgent urgent; the flagged threshold the
lowest at which it flags at most :data:`FLAGGED_BUDGET` of the routine lines. The
inference in the bot is the project's own (:class:`~bot.domain.triage_opinion.TextModel`);
scikit-learn (a development dependency) only trains.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import warnings
from array import array
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline

from bot.domain.models import TriageLevel
from bot.domain.triage_opinion import NGRAMS, TextModel, char_grams, level_named
from bot.triage_second_opinion import model_path, read_about, write_model
from tests.triage_quality import Line, load

CORPUS = Path(__file__).parent / "triage_corpus"
SETS = ("development", "scored")
LOCALES = ("en", "de")
REGULARISATION = 30.0
"""Inverse regularisation strength (scikit-learn's ``C``)."""
URGENT_BUDGET = 0.015
FLAGGED_BUDGET = 0.03
FOLDS = 5
MIN_DOCUMENT_FREQUENCY = 2
"""An n-gram seen in fewer lines is no feature (it would only learn those lines)."""


def corpus_lines(locale: str) -> list[Line]:
    """The labelled lines the model of ``locale`` is trained on."""
    return [line for name in SETS for line in load(CORPUS / name / f"{locale}.jsonl")]


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer=char_grams, sublinear_tf=True, min_df=MIN_DOCUMENT_FREQUENCY
                ),
            ),
            (
                "regression",
                LogisticRegression(
                    C=REGULARISATION, class_weight="balanced", max_iter=10_000, tol=1e-6
                ),
            ),
        ]
    )


def _label(line: Line) -> str:
    return f"{line.expected.value}:{line.category}"


def _shares(classes: Sequence[str], probabilities: Any) -> tuple[Any, Any]:
    urgent = [i for i, c in enumerate(classes) if c.startswith("urgent:")]
    flagged = [i for i, c in enumerate(classes) if not c.startswith("none:")]
    return probabilities[:, urgent].sum(axis=1), probabilities[:, flagged].sum(axis=1)


def _threshold(chances: Any, budget: float) -> float:
    """The lowest threshold that at most ``budget`` of ``chances`` reach."""
    ordered = np.sort(chances)[::-1]
    allowed = math.floor(budget * len(ordered))
    return float(ordered[allowed]) + 1e-4 if allowed < len(ordered) else 0.5


def to_model(
    pipeline: Pipeline, locale: str, urgent_threshold: float, flagged_threshold: float
) -> TextModel:
    """The bot's form of a trained pipeline."""
    tfidf: TfidfVectorizer = pipeline.named_steps["tfidf"]
    regression: LogisticRegression = pipeline.named_steps["regression"]
    classes = [str(c) for c in regression.classes_]
    if len(classes) < 3:
        raise ValueError("training needs at least three classes")
    vocabulary = {str(gram): int(column) for gram, column in tfidf.vocabulary_.items()}
    weights = array("f", np.ascontiguousarray(regression.coef_.T, dtype=np.float32).ravel())
    return TextModel(
        locale=locale,
        vocabulary=MappingProxyType(vocabulary),
        idf=tuple(float(v) for v in tfidf.idf_),
        classes=tuple(
            (level_named(level), category)
            for level, _, category in (c.partition(":") for c in classes)
        ),
        intercepts=tuple(float(v) for v in regression.intercept_),
        weights=weights,
        urgent_threshold=urgent_threshold,
        flagged_threshold=flagged_threshold,
    )


def training_digest(lines: Sequence[Line]) -> str:
    """A fingerprint of the lines and settings a model is trained from: a kept model whose
    fingerprint differs was trained on something else, and must be trained again."""
    settings = [list(NGRAMS), REGULARISATION, URGENT_BUDGET, FLAGGED_BUDGET, FOLDS]
    settings.append(MIN_DOCUMENT_FREQUENCY)
    labelled = [[line.text, line.expected.value, line.category] for line in lines]
    payload = json.dumps([settings, labelled], ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def train(locale: str, lines: Sequence[Line]) -> tuple[TextModel, dict[str, Any]]:
    """The model of ``locale`` trained on ``lines``, and what to record about it."""
    texts = [line.text for line in lines]
    labels = np.array([_label(line) for line in lines])
    levels = np.array([line.expected for line in lines])
    folds = KFold(FOLDS, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        # A category with fewer lines than folds is missing from some training folds;
        # its probability there is 0, which is what an unseen category should get.
        warnings.filterwarnings("ignore", "Number of classes in training fold")
        unseen = cross_val_predict(_pipeline(), texts, labels, cv=folds, method="predict_proba")
    cv_urgent, cv_flagged = _shares(sorted(set(labels)), unseen)
    model = to_model(
        _pipeline().fit(texts, labels),
        locale,
        urgent_threshold=_threshold(cv_urgent[levels != TriageLevel.URGENT], URGENT_BUDGET),
        flagged_threshold=_threshold(cv_flagged[levels == TriageLevel.NONE], FLAGGED_BUDGET),
    )
    about = {
        "lines": len(lines),
        "sets": [f"tests/triage_corpus/{name}/{locale}.jsonl" for name in SETS],
        "training_digest": training_digest(lines),
        "features": len(model.vocabulary),
        "regularisation_C": REGULARISATION,
        "class_weight": "balanced",
        "min_document_frequency": MIN_DOCUMENT_FREQUENCY,
        "thresholds_chosen_by": (
            f"{FOLDS}-fold cross-validation: at most {URGENT_BUDGET:.0%} of the lines that "
            f"are not urgent called urgent, at most {FLAGGED_BUDGET:.0%} of routine lines "
            "flagged, by the model alone on lines it was not trained on"
        ),
    }
    return model, about


def main(argv: Sequence[str] | None = None) -> int:
    """Retrain every locale's model and write it, or with ``--check`` only compare the
    kept models' fingerprints with the lines as they are now."""
    parser = argparse.ArgumentParser(prog="python -m tests.second_opinion_training")
    parser.add_argument("--check", action="store_true", help="fail if a kept model is stale")
    args = parser.parse_args(argv)
    stale = []
    for locale in LOCALES:
        lines = corpus_lines(locale)
        path = model_path(locale)
        if args.check:
            if read_about(path).get("training_digest") != training_digest(lines):
                stale.append(locale)
            continue
        model, about = train(locale, lines)
        write_model(model, path, about)
        sys.stdout.write(json.dumps({"locale": locale, **about}, ensure_ascii=False) + "\n")
    if stale:
        retrain = "python -m tests.second_opinion_training"
        sys.stdout.write(f"stale: {', '.join(stale)}; run {retrain}\n")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
