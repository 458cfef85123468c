"""The second opinion: its features, its faithfulness to the trained model, its files, and
that it only ever raises a level."""

from __future__ import annotations

import gzip
import json
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from bot.domain.models import TriageLevel
from bot.domain.triage import explanation, level_rank, triage
from bot.domain.triage_opinion import ModelOpinion, Resemblance, char_grams
from bot.triage_rules import load_lexicon
from bot.triage_second_opinion import (
    ModelError,
    model_path,
    read_about,
    read_model,
    second_opinion,
    write_model,
)
from tests.second_opinion_training import (
    LOCALES,
    _pipeline,
    corpus_lines,
    main,
    to_model,
)


def test_char_grams_are_pieces_of_each_word_padded_with_spaces() -> None:
    assert char_grams("Ok") == [" o", "ok", "k ", " ok", "ok ", " ok "]
    assert char_grams("  A  ") == [" a", "a ", " a "]
    assert char_grams("") == []


def test_char_grams_fold_case_accents_and_compatibility_forms() -> None:
    assert char_grams("MÜDE") == char_grams("müde") == char_grams("mude")
    assert char_grams("ﬁne") == char_grams("fine")


@pytest.fixture(scope="module")
def small_pipeline() -> Pipeline:
    lines = corpus_lines("en")[::4]
    return _pipeline().fit([line.text for line in lines], [
        f"{line.expected.value}:{line.category}" for line in lines
    ])  # fmt: skip


def test_the_bots_inference_gives_what_the_trained_model_gives(small_pipeline: Pipeline) -> None:
    model = to_model(small_pipeline, "en", 0.5, 0.5)
    texts = [line.text for line in corpus_lines("en")[1::7]] + ["", "ok", "🙂", "zzzz qqq"]
    expected = small_pipeline.predict_proba(texts)
    for text, row in zip(texts, expected, strict=True):
        ours = model.probabilities(text)
        assert max(abs(a - b) for a, b in zip(ours, row, strict=True)) < 1e-5, text


QUANTISATION_DRIFT = 0.02
"""How far one class's probability may move when weights are stored as one byte each."""


def test_a_model_written_and_read_back_judges_the_same(
    small_pipeline: Pipeline, tmp_path: Path
) -> None:
    model = to_model(small_pipeline, "en", 0.41, 0.62)
    path = tmp_path / "en.opinion.gz"
    write_model(model, path, {"lines": 1})
    again = read_model(path)
    assert (again.classes, dict(again.vocabulary)) == (model.classes, dict(model.vocabulary))
    assert (again.urgent_threshold, again.flagged_threshold) == (0.41, 0.62)
    assert read_about(path) == {"lines": 1}
    # Weights are kept as one byte each: probabilities move a little, so a level can only
    # change for a reply that sits right at a threshold.
    thresholds = (model.urgent_threshold, model.flagged_threshold)
    for line in corpus_lines("en")[1::5]:
        pairs = zip(again.probabilities(line.text), model.probabilities(line.text), strict=True)
        assert max(abs(a - b) for a, b in pairs) < QUANTISATION_DRIFT, line.text
        stored, exact = again.judge(line.text), model.judge(line.text)
        at_a_threshold = any(abs(exact.probability - t) < QUANTISATION_DRIFT for t in thresholds)
        assert stored.raises_to is exact.raises_to or at_a_threshold, line.text


def test_a_broken_or_foreign_model_file_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "en.opinion.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(ModelError, match=r"en\.opinion\.gz"):
        read_model(broken)
    foreign = json.dumps({"format": 99, "ngrams": [2, 5]}).encode()
    broken.write_bytes(gzip.compress(foreign + b"\0"))
    with pytest.raises(ModelError, match="another version"):
        read_model(broken)


def test_the_staleness_check_passes_on_the_kept_models(capsys: pytest.CaptureFixture[str]) -> None:
    """Adding or relabelling a line means training again: ``make second-opinion``."""
    assert main(["--check"]) == 0
    assert "stale" not in capsys.readouterr().out


@pytest.mark.parametrize("locale", LOCALES)
def test_every_category_a_model_can_raise_has_a_name_in_its_language(locale: str) -> None:
    names = load_lexicon(locale).category_names
    model = second_opinion().models[locale]
    raised = {category for level, category in model.classes if level is not TriageLevel.NONE}
    assert raised <= set(names)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the second opinion tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_models_load_and_judge_with_the_network_cut(no_network: None) -> None:
    said = {"en": "i took all my pills", "de": "hab alle meine tabletten genommen"}
    for locale in LOCALES:
        model = read_model(model_path(locale))
        assert model.judge(said[locale]).raises_to is TriageLevel.URGENT


def _opinion_saying(level: TriageLevel) -> ModelOpinion:
    class Always:
        def closest(self, text: str, locale: str) -> Resemblance:
            return Resemblance("overdose", level, 0.99, level)

    return Always()  # type: ignore[return-value]


def test_the_second_opinion_raises_a_calm_reading_with_its_reason() -> None:
    lexicon = load_lexicon("en")
    result = triage("a quiet day", None, [], lexicon, second_opinion=_opinion_saying(
        TriageLevel.URGENT
    ))  # fmt: skip
    assert result.level is TriageLevel.URGENT
    assert result.reasons == ("resembles: an overdose or poisoning",)
    shown = explanation(result)[-1]
    assert shown["similar_to"] == "urgent: overdose"
    assert shown["score"] == 0.99


def test_the_second_opinion_never_lowers_what_the_rules_found() -> None:
    lexicon = load_lexicon("en")
    text = "I swallowed the whole box of my sleeping pills"
    calm = _opinion_saying(TriageLevel.NONE)
    assert triage(text, None, [], lexicon, second_opinion=calm).level is TriageLevel.URGENT


def test_the_german_reason_is_in_german() -> None:
    result = triage("ein ruhiger Tag", None, [], load_lexicon("de"), second_opinion=(
        _opinion_saying(TriageLevel.CONCERN)
    ))  # fmt: skip
    assert result.reasons == ("ähnelt: Überdosis oder Vergiftung",)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120), st.sampled_from(LOCALES))
def test_with_the_real_models_a_level_is_never_lower_than_the_rules_alone(
    text: str, locale: str
) -> None:
    lexicon = load_lexicon(locale)
    alone = triage(text, None, [], lexicon).level
    both = triage(text, None, [], lexicon, second_opinion=second_opinion()).level
    assert level_rank(both) >= level_rank(alone)


def test_replies_without_letters_are_left_to_the_rules() -> None:
    opinion = second_opinion()
    assert opinion.closest("", "en") is None
    assert opinion.closest("😭😭 !!", "en") is None
    assert opinion.closest("feeling fine", "xx") is None


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "honestly wondering if anyone would even notice if i just wasnt around anymore"),
        ("en", "counted out what's left of my tablets and i think it's enough for tonight"),
        ("de", "hab heut alle tabletten aus der packung genommen die noch da waren"),
    ],
)
def test_words_written_for_this_test_resemble_what_they_are(locale: str, text: str) -> None:
    """Phrasings in no corpus: the model alone raises them to urgent."""
    resemblance = second_opinion().closest(text, locale)
    assert resemblance is not None
    assert resemblance.raises_to is TriageLevel.URGENT


def test_words_taken_back_as_a_joke_are_raised_no_further_than_a_concern() -> None:
    """The model reads pieces of words; it cannot tell "... haha jk" from the words before."""
    lexicon, urgent = load_lexicon("en"), _opinion_saying(TriageLevel.URGENT)
    taken_back = "work was that bad i wanted to cut myself haha jk, just tired"
    assert triage(taken_back, None, [], lexicon, second_opinion=urgent).level is (
        TriageLevel.CONCERN
    )
    meant = "work was that bad i wanted to cut myself, just tired"
    assert triage(meant, None, [], lexicon, second_opinion=urgent).level is TriageLevel.URGENT
