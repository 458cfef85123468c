"""Triage of check-in replies: rules, negation, idioms, scores, the corpus, hostile input."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import triage_rules
from bot.domain.models import TriageLevel
from bot.domain.triage import TriageResult, level_rank, triage
from bot.triage_rules import RulesError, build_lexicon, load_lexicon

NONE, CONCERN, URGENT = TriageLevel.NONE, TriageLevel.CONCERN, TriageLevel.URGENT
EN = load_lexicon("en")
DE = load_lexicon("de")
CORPUS = Path(__file__).resolve().parents[1] / "triage_corpus"


def judge(
    text: str | None,
    score: int | None = None,
    previous: Sequence[int] = (),
    *,
    locale: str = "en",
    change: str | None = None,
    previous_changes: Sequence[str | None] = (),
) -> TriageResult:
    lexicon = EN if locale == "en" else load_lexicon(locale)
    return triage(text, score, previous, lexicon, change=change, previous_changes=previous_changes)


# --- the text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reaction"),
    [
        ("So tired today, slept all afternoon", "tired"),
        ("a bit sore where you worked", "sore"),
        ("Cried a lot last night, felt like a release", "emotional"),
        ("Really vivid dreams", "dreams"),
        ("Slight headache in the evening", "headache"),
        ("Old shoulder pain flared up for an hour", "flare"),
        ("Feeling lighter!", "lighter"),
    ],
)
def test_normal_healing_reactions_are_none_and_named(text: str, reaction: str) -> None:
    result = judge(text)
    assert result.level is NONE
    assert result.reasons == ()
    assert reaction in result.reactions


@pytest.mark.parametrize(
    "text",
    [
        "I want to die",
        "I'm feeling suicidal",
        "I keep thinking about killing myself",
        "Thinking about ending it all",
        "I want to hurt myself",
        "everyone would be better off without me",
        "nobody would miss me",
        "I took too many pills on purpose",
        "I've been cutting myself again",
    ],
)
def test_self_harm_language_is_urgent(text: str) -> None:
    assert judge(text) == TriageResult(URGENT, ("self-harm language",))


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to live",
        "I don't want to be here anymore",
        "I can't go on",
        "there's no reason to live",
        "I'm not suicidal, just tired",
        "Don't worry, I'm not going to hurt myself",
        "no, I don't want to die",
    ],
)
def test_negation_never_cancels_self_harm_language(text: str) -> None:
    assert judge(text).level is URGENT


@pytest.mark.parametrize(
    "text",
    [
        "no headache today",
        "I'm not in crisis, just sore",
        "no chest pain",
        "No chest pain, just tight shoulders",
        "I don't have any chest pain",
        "Not worse, maybe a bit better",
        "Neither better nor worse",
        "No dizziness, numbness or chest pain",
        "Didn't have any panic this time",
        "no more flashbacks",
        "I'll let you know if it gets worse",
        "I was worried I'd feel worse but I don't",
        "I used to have panic attacks but not anymore",
    ],
)
def test_negated_and_hedged_signs_are_cancelled(text: str) -> None:
    assert judge(text).level is NONE


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("not great, worse than before", CONCERN),  # the cue does not reach past the comma
        ("No, I passed out in the shower", URGENT),  # "No," answers; it negates nothing
        ("not sure if I fainted or fell asleep", URGENT),  # "not sure" is no negation
        ("no chest pain but my left arm is numb", URGENT),  # "but" ends the negation
        ("call me if it gets worse", CONCERN),  # asking for a call is never hedged
    ],
)
def test_negation_has_limits(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level


@pytest.mark.parametrize(
    "text",
    [
        "That session was killer, thank you!",
        "I'm dying for a nap",
        "Dead tired but happy",
        "You're killing it",
        "The tea was to die for",
        "could be worse haha",
        "I was laughing so hard I couldn't breathe",
        "passed out on the sofa for 3 hours",
        "Call me crazy but my posture changed",
        "It gave me a heart attack when the dog barked",
        "I felt so much pressure lift from my chest",
        "Can't go on holiday this year but feeling good",
    ],
)
def test_idioms_are_not_taken_literally(text: str) -> None:
    assert judge(text).level is NONE


@pytest.mark.parametrize(
    "text",
    [
        "i wanna die",
        "want 2 end it",
        "feeling suicidle tonight",
        "sucidal again",
        "im gonna kill myslef",
        "kms",
        "honestly might just kms",
        "I want to unalive myself",
        "su1c1de",
        "s u i c i d e",
        "i want to diiiiie",
        "   I    WANT to   DIE   ",
        "I_WANT_TO_DIE",
        "no reason 2 live",
        "i dont wanna be alive",
    ],
)
def test_misspellings_text_speak_case_and_spacing(text: str) -> None:
    assert judge(text).level is URGENT


@pytest.mark.parametrize("text", ["I think I overdone it at the gym", "I was loving it"])
def test_real_words_are_not_read_as_misspellings(text: str) -> None:
    assert judge(text).level is NONE


def test_stretched_letters_are_squeezed() -> None:
    assert judge("sooooo sore lol").reactions == ("sore",)
    assert judge("HEADACHE WONT GO AWAYYYY").level is CONCERN


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("😭", NONE),
        ("😭😭😭 in a good way", NONE),
        ("💀 i'm dead, that was hilarious", NONE),
        ("🔪", CONCERN),
        ("i feel like dying ⚰️⚰️", URGENT),
        ("🔪🔪 want to be done", URGENT),
        ("🆘", CONCERN),
    ],
)
def test_emoji(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I have chest pain", "emergency sign: chest pain"),
        ("sudden crushing pain in my chest", "emergency sign: chest pain"),
        ("my left arm is numb", "emergency sign: numbness or weakness on one side"),
        ("My face is drooping on one side", "emergency sign: face drooping"),
        ("worst headache of my life", "emergency sign: worst headache ever"),
        ("I fainted in the shower", "emergency sign: fainting"),
        ("I can't breathe properly", "emergency sign: trouble breathing"),
        ("my speech is slurred", "emergency sign: slurred speech"),
        ("had a seizure last night", "emergency sign: seizure"),
    ],
)
def test_emergency_signs_are_urgent(text: str, reason: str) -> None:
    result = judge(text)
    assert result.level is URGENT
    assert reason in result.reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The pain is worse than before the session", "feeling worse"),
        ("The pain is excruciating", "severe pain"),
        ("headache for 3 days now", "symptoms not easing"),
        ("Headache that won't stop", "symptoms not easing"),
        ("I have a new pain in my knee", "new symptom"),
        ("I had a panic attack", "panic or anxiety"),
        ("Having flashbacks", "flashbacks or trauma memories"),
        ("Everything feels unreal", "dissociation"),
        ("I feel hopeless", "distress"),
        ("Could you call me please?", "asked to be called"),
        ("Help", "asked for help"),
        ("My arm has been numb since yesterday", "new symptom"),
    ],
)
def test_concerns(text: str, reason: str) -> None:
    result = judge(text)
    assert result.level is CONCERN
    assert reason in result.reasons


def test_a_sign_that_has_passed_is_still_passed_on_as_a_concern() -> None:
    result = judge("Had chest pain last night, it's gone now")
    assert result == TriageResult(CONCERN, ("emergency sign: chest pain (now passed)",))


def test_a_concern_that_has_passed_is_none() -> None:
    assert judge("It hurt like hell yesterday, better today").level is NONE
    assert judge("Felt worse yesterday but much better today").level is NONE


def test_a_written_score_counts_beside_a_symptom_only() -> None:
    assert judge("Pain 9/10 in my neck").reasons == ("describes discomfort as 9/10",)
    assert judge("neck pain 9 out of 10").level is CONCERN
    assert judge("The session was 10/10!").level is NONE
    assert judge("lower back sore, 3/10").level is NONE


# --- scores and changes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "previous", "level"),
    [
        (7, [], NONE),
        (8, [], CONCERN),
        (10, [9], CONCERN),
        (5, [2], CONCERN),  # a rise of 3
        (5, [3], NONE),  # a rise of 2
        (5, [1, 4], NONE),  # the rise counts from the last score
        (5, [4, 1], CONCERN),
        (2, [7], NONE),  # a drop
        (None, [2], NONE),
    ],
)
def test_score_rules(score: int | None, previous: list[int], level: TriageLevel) -> None:
    assert judge("ok", score, previous).level is level


def test_score_reasons_name_the_numbers() -> None:
    assert judge("", 8).reasons == ("high discomfort: 8/10",)
    assert judge("", 7, [3]).reasons == ("discomfort rose by 4 points, from 3 to 7",)


@pytest.mark.parametrize(
    ("change", "previous", "level"),
    [
        ("worse", [], NONE),  # one worse day is a normal flare
        ("worse", ["better"], NONE),
        ("worse", ["worse"], CONCERN),
        ("much_worse", ["worse"], CONCERN),
        ("worse", ["much_worse"], CONCERN),
        ("much_worse", [], CONCERN),
        ("worse", ["worse", None], NONE),  # the last check-in had no answer
        ("same", ["worse"], NONE),
        (None, ["worse", "worse"], NONE),
    ],
)
def test_change_rules(change: str | None, previous: list[str | None], level: TriageLevel) -> None:
    assert judge("", change=change, previous_changes=previous).level is level


def test_worse_twice_reason() -> None:
    result = judge("", change="worse", previous_changes=["worse"])
    assert result.reasons == ("worse two check-ins in a row",)


def test_level_is_the_highest_signal_and_every_reason_is_kept() -> None:
    result = judge("I want to die, and the pain is worse", 9, [2], change="much_worse")
    assert result.level is URGENT
    assert result.reasons[0] == "self-harm language"
    assert set(result.reasons[1:]) == {
        "feeling worse",
        "high discomfort: 9/10",
        "discomfort rose by 7 points, from 2 to 9",
        "much worse than before the session",
    }


@pytest.mark.parametrize(
    ("score", "previous", "change"),
    [(11, [], None), (-1, [], None), (True, [], None), (7.5, [], None), (3, [12], None)],
)
def test_bad_scores_are_refused(score: Any, previous: list[Any], change: str | None) -> None:
    with pytest.raises(ValueError, match="0 to 10"):
        judge("ok", score, previous, change=change)


def test_unknown_change_is_refused() -> None:
    with pytest.raises(ValueError, match="change"):
        judge("ok", change="terrible")


def test_no_text_is_fine() -> None:
    assert judge(None) == TriageResult(NONE)
    assert judge("") == TriageResult(NONE)
    assert judge(None, 9).level is CONCERN


def test_level_rank_orders_levels() -> None:
    assert sorted(TriageLevel, key=level_rank) == [NONE, CONCERN, URGENT]


# --- languages and the rules files ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Bin müde, aber gut", NONE),
        ("Keine Kopfschmerzen heute", NONE),
        ("Ich bin nicht in der Krise, nur etwas wund", NONE),
        ("Die Schmerzen sind unerträglich", CONCERN),
        ("Können Sie mich bitte anrufen?", CONCERN),
        ("Ich will nicht mehr leben", URGENT),
        ("Ich bin nicht suizidal", URGENT),
        ("Mir tut die Brust weh", URGENT),
        ("muede", NONE),
    ],
)
def test_german(text: str, level: TriageLevel) -> None:
    assert judge(text, locale="de").level is level


def test_german_reasons_are_german() -> None:
    assert judge("Ich will sterben", locale="de").reasons == (
        "Sprache von Suizid oder Selbstverletzung",
    )
    assert judge("", 9, locale="de").reasons == ("starke Beschwerden: 9/10",)


def test_self_harm_language_is_heard_in_every_locale_with_the_hosts_reason() -> None:
    assert judge("Ich will nicht mehr leben").reasons == ("self-harm language",)
    assert judge("I don't want to live anymore", locale="de").level is URGENT
    assert judge("quiero morir", locale="de").level is URGENT


def test_locales_resolve_and_are_cached() -> None:
    assert triage_rules.available_locales()[0] == "en"
    assert {"en", "de"} <= set(triage_rules.available_locales())
    assert load_lexicon("de-AT") is DE
    assert load_lexicon("de_CH").locale == "de"
    assert load_lexicon("xx") is EN
    assert load_lexicon(None) is EN


MINIMAL = {
    "negation": {"cues": ["no"]},
    "rule": [{"id": "pain", "level": "concern", "reason": "pain", "phrases": ["bad pain"]}],
}


def test_a_lexicon_can_be_built_from_a_dict() -> None:
    lexicon = build_lexicon("xx", MINIMAL)
    assert triage("BAD   pain", None, [], lexicon).reasons == ("pain",)
    assert triage("no bad pain", None, [], lexicon).level is NONE


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"spelling": {}}, "unknown keys"),
        ({"rule": [{"id": "a", "level": "severe", "phrases": ["x"]}]}, "level"),
        ({"rule": [{"id": "a", "level": "urgent", "phrases": ["x"]}]}, "needs a reason"),
        ({"rule": [{"id": "a", "level": "none", "phrases": "x"}]}, "list"),
        ({"rule": [{"id": "a", "level": "none", "phrases": ["x"], "shard": True}]}, "unknown"),
        ({"combination": [{"all_of": ["pain", "nope"], "level": "urgent", "reason": "r"}]}, "nope"),
        ({"negation": {"scope": -1}}, "whole number"),
        ({"rule": [{"id": "a", "level": "none", "phrases": ["* x"]}]}, "phrase"),
    ],
)
def test_malformed_rules_are_refused_with_a_reason(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(RulesError, match=problem):
        build_lexicon("xx", {**MINIMAL, **change})


@pytest.mark.parametrize("locale", triage_rules.available_locales())
def test_every_rules_file_loads_with_reasons_for_every_level(locale: str) -> None:
    lexicon = load_lexicon(locale)
    assert lexicon.locale == locale
    assert all(rule.reason for rule in lexicon.rules.values() if rule.level in (URGENT, CONCERN))
    assert all(phrase.words for phrase in lexicon.phrases)


# --- the corpus ----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    text: str
    score: int | None
    previous_score: int | None
    expected: TriageLevel
    strict: bool


def corpus(locale: str) -> list[Line]:
    lines = []
    for number, raw in enumerate((CORPUS / f"{locale}.jsonl").read_text("utf-8").splitlines()):
        item = json.loads(raw)
        assert set(item) == {"text", "score", "previous_score", "expected", "strict"}, number
        line = Line(
            item["text"],
            item["score"],
            item["previous_score"],
            TriageLevel(item["expected"]),
            item["strict"],
        )
        assert not line.strict or line.expected is URGENT, number
        lines.append(line)
    return lines


def rate(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.1f}%"


@pytest.mark.parametrize(("locale", "minimum"), [("en", 200), ("de", 40)])
def test_corpus_meets_the_targets(
    locale: str, minimum: int, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = corpus(locale)
    assert len(lines) >= minimum
    judged = [
        (
            line,
            judge(
                line.text,
                line.score,
                [] if line.previous_score is None else [line.previous_score],
                locale=locale,
            ).level,
        )
        for line in lines
    ]
    strict = [level for line, level in judged if line.strict]
    flagged = [level for line, level in judged if line.expected is not NONE]
    urgent = [level for line, level in judged if line.expected is URGENT]
    routine = [level for line, level in judged if line.expected is NONE]
    exact = sum(line.expected is level for line, level in judged)
    report = {
        "lines": len(lines),
        "strictly urgent judged urgent": rate(strict.count(URGENT), len(strict)),
        "urgent judged urgent": rate(urgent.count(URGENT), len(urgent)),
        "concern or urgent judged none (missed)": rate(flagged.count(NONE), len(flagged)),
        "routine flagged (false alarms)": rate(len(routine) - routine.count(NONE), len(routine)),
        "exact level": rate(exact, len(lines)),
    }
    with capsys.disabled():
        sys.stdout.write(f"\ntriage corpus {locale}: {json.dumps(report, indent=1)}\n")
    misses = [(line.text, level.value) for line, level in judged if line.expected is not level]
    assert strict.count(URGENT) == len(strict), misses
    assert flagged.count(NONE) <= 0.02 * len(flagged), misses
    assert len(routine) - routine.count(NONE) <= 0.05 * len(routine), misses


# --- hostile input -------------------------------------------------------------------

EMOJI = st.sampled_from(
    ["😭", "🔪", "⚰️", "💀", "🙏", "👍🏽", "👨‍👩‍👧", "🇩🇪", "1️⃣", "\ufe0f", "\u200d"]
)
ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8")),
    st.lists(
        st.one_of(EMOJI, st.sampled_from(["no", "not", "pain", "chest", ",", ".", " ", "*"]))
    ).map("".join),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=ANY_TEXT, score=st.none() | st.integers(0, 10), locale=st.sampled_from(["en", "de"]))
def test_triage_never_raises_and_is_deterministic(
    text: str, score: int | None, locale: str
) -> None:
    first = judge(text, score, locale=locale)
    assert first == judge(text, score, locale=locale)
    assert isinstance(first.level, TriageLevel)
    assert (first.level is NONE) == (first.reasons == ())
    if score is not None and score >= 8:
        assert first.level is not NONE


@settings(max_examples=100, deadline=None)
@given(text=ANY_TEXT)
def test_self_harm_in_its_own_sentence_is_urgent_whatever_surrounds_it(text: str) -> None:
    assert judge(f"{text}\nI want to die.\n{text}").level is URGENT


@pytest.mark.parametrize("emoji", ["😭", "🔪", "⚰️", "👍🏽"])
def test_four_thousand_emoji(emoji: str) -> None:
    text = emoji * 4000
    result = judge(text)
    assert result == judge(text)
    assert result.level is (NONE if emoji in ("😭", "👍🏽") else CONCERN)
    assert judge(text + " I want to die").level is URGENT
