"""Triage of check-in replies: concepts, context, the policy, scores, rules files, hostile
input. How well it does on labelled corpora is in ``test_triage_corpus.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import triage_rules
from bot.domain.models import TriageLevel
from bot.domain.triage import TriageResult, effect, explanation, level_rank, triage
from bot.domain.triage_context import Context
from bot.domain.triage_lexicon import Flag
from bot.triage_rules import RulesError, build_lexicon, load_lexicon

NONE, CONCERN, URGENT = TriageLevel.NONE, TriageLevel.CONCERN, TriageLevel.URGENT
EN = load_lexicon("en")
DE = load_lexicon("de")


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


def finding(text: str, flag: str, locale: str = "en") -> dict[str, Any]:
    """The explanation of ``flag``'s finding in ``text`` (there must be one)."""
    found = [f for f in explanation(judge(text, locale=locale)) if f.get("flag") == flag]
    assert found, explanation(judge(text, locale=locale))
    return found[0]


# --- healing reactions ---------------------------------------------------------------


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
        ("a bit dizzy getting off the table", "lightheaded"),
    ],
)
def test_normal_healing_reactions_are_none_and_named(text: str, reaction: str) -> None:
    result = judge(text)
    assert result.level is NONE
    assert result.reasons == ()
    assert reaction in result.reactions


# --- concepts over lemmas ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I took all my sleeping pills",
        "swallowed like 30 paracetamol last night",
        "the whole box of tablets, I took them",
        "had loads of my sleeping meds with wine",
        "necked a handful of co-codamol",
        "took some of the oxy from my surgery, cant remember how many",
        "drank bleach",
    ],
)
def test_overdose_is_a_combination_of_concepts_in_any_order_and_form(text: str) -> None:
    assert judge(text).level is URGENT
    assert "overdose or poisoning" in judge(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "took all my tablets as prescribed this morning",
        "I take two ibuprofen when my neck aches",
        "took the whole day off",
    ],
)
def test_ordinary_medicine_is_no_overdose(text: str) -> None:
    assert "overdose or poisoning" not in judge(text).reasons


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("hab alle meine schlaftabletten geschluckt", "de"),
        ("Ich habe die ganze Packung Paracetamol genommen", "de"),
        ("20 Tabletten eingeworfen", "de"),
        ("mir ist seit drei tagen uebel", "de"),
    ],
)
def test_german_inflections_compounds_and_spelled_out_umlauts(text: str, locale: str) -> None:
    expected = CONCERN if "uebel" in text else URGENT  # lasting nausea; the rest urgent
    assert judge(text, locale=locale).level is expected


def test_spelled_out_umlauts_are_the_same_word() -> None:
    assert judge("Brustschmerzen", locale="de").level is URGENT
    assert judge("muede", locale="de").reactions == judge("müde", locale="de").reactions


def test_a_number_read_as_a_word_is_still_a_number() -> None:
    assert judge("want 2 die").level is URGENT
    assert judge("still got the headache. day 4 now").reasons == ("symptoms not easing",)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my face drooped on one side for ten minutes", "stroke"),
        ("my left arm went weak and I couldn't lift the kettle", "stroke"),
        ("my words are coming out all jumbled", "stroke"),
        ("feels like someone is sitting on my chest and it goes down my arm", "chest"),
        ("my left calf is swollen and hot to touch", "dvt"),
        ("can't feel anything when I wipe", "cauda_equina"),
        ("lost control of my bladder this morning, back is agony", "cauda_equina"),
        ("both my legs went weak on the stairs", "cauda_equina"),
        ("sudden explosive headache, never had anything like it", "headache_meningitis"),
        ("stiff neck and a fever of 39", "headache_meningitis"),
        ("rash that doesn't fade when I press a glass on it", "headache_meningitis"),
        ("he grabbed me by the throat again last night", "violence_abuse"),
        ("my ex said he'd kill me if I leave", "violence_abuse"),
        ("hiding from my partner at a friend's", "violence_abuse"),
        ("fainted in the shower", "fainting_collapse"),
        ("my tongue feels huge and my throat is closing", "anaphylaxis"),
        ("I can't catch my breath", "breathing"),
        ("i wish i could just not wake up tomorrow", "suicide"),
        ("been looking up how many paracetamol it would take", "suicide"),
        ("I burn my arm with a lighter when it gets too much", "self_harm"),
    ],
)
def test_every_red_flag_category(text: str, category: str) -> None:
    result = judge(text)
    assert result.level is URGENT, explanation(result)
    effects = [(f["category"], f["effect"]) for f in explanation(result)]
    assert category in {c for c, e in effects if isinstance(e, str) and "urgent" in e}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The pain is worse than before the session", "feeling worse"),
        ("The pain is excruciating", "severe pain"),
        ("can't turn my head at all", "severe pain"),
        ("headache for 3 days now", "symptoms not easing"),
        ("third day running with this ache", "symptoms not easing"),
        ("I have a new pain in my knee", "new symptom"),
        ("woke up with a temperature, shivery", "new symptom"),
        ("the room keeps spinning", "dizziness"),
        ("very little sleep, maybe two hours a night", "not sleeping"),
        ("I feel hopeless", "low mood or distress"),
        ("Not very well at all, I'm afraid", "not feeling well"),
        ("living the dream 🙃 can't sit down", "words and tone disagree"),
        ("my fingertips are numb and tingly", "numbness or tingling"),
        ("crying every day since the session", "emotions not settling"),
        ("I had a panic attack", "panic, anxiety or trauma memories"),
        ("Could you call me please?", "asked to be contacted"),
        ("Help", "asked to be contacted"),
    ],
)
def test_concerns(text: str, reason: str) -> None:
    result = judge(text)
    assert result.level is CONCERN, explanation(result)
    assert reason in result.reasons


# --- context -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "no headache today",
        "I'm not in crisis, just sore",
        "no chest pain",
        "No chest pain, just tight shoulders",
        "I don't have any chest pain",
        "No dizziness, numbness or chest pain",
        "Didn't have any panic this time",
        "no more flashbacks",
        "a stroke? no, nothing like that",
        "a stroke? no haha nothing like that",  # a laugh inside the answer
        "numbness down there or in my legs? nope none of that, just a stiff back",
        "you asked about numbness down there, nope nothing like that",
        "dizzy? nah not at all this time",
        "chest pain - none",
        "Headache is not the worst of my life, just a normal one",
        "Brustschmerzen habe ich keine.",
    ],
)
def test_negation_before_and_after_cancels_a_sign(text: str) -> None:
    locale = "de" if "Brust" in text else "en"
    result = judge(text, locale=locale)
    assert result.level is NONE, explanation(result)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("not great, worse than before", CONCERN),  # the cue does not reach past the comma
        ("No, I passed out in the shower", URGENT),  # "No," answers; it negates nothing
        ("not sure if I fainted or fell asleep", URGENT),  # "not sure" is no negation
        ("no chest pain but my left arm is numb", URGENT),  # "but" ends the negation
        ("I can't feel my left leg", URGENT),  # a negation inside the sign's own words
        # the client's own question is not answered by what follows it
        ("i cant feel anything down there when i wipe, is that normal? no idea why", URGENT),
        ("my speech was slurred this morning, should i go to a&e? no one is home", URGENT),
        ("my face drooped on one side, is that from the session? no?", URGENT),
        ("chest pain and sweating, is this normal? no way its the session", URGENT),
        ("lost control of my bladder, nothing like that before", URGENT),
    ],
)
def test_negation_has_limits(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I'm not suicidal, just tired", NONE),  # the client's own clear denial
        ("Don't worry, I'm not going to hurt myself", NONE),
        ("no thoughts of hurting myself, just low on energy", NONE),
        ("I'm not really suicidal, I just wish I could disappear", URGENT),
        ("not suicidal exactly but I wish I could just not wake up", URGENT),
        ("I'm not suicidal right now", URGENT),  # wavers: right now
        ("I don't want to live", URGENT),  # the negation is part of the words
        ("there's no reason to live", URGENT),
        ("I can't go on", URGENT),
        ("wouldn't mind if I just didn't wake up", URGENT),  # "wouldn't mind" denies nothing
        ("suicidal thoughts? none, dont worry", NONE),  # a clear denial after the words
        ("suicidal? not really", URGENT),  # an answer that wavers
        ("suicidal? no, well sometimes i guess", URGENT),
        ("the kids would have an easier life if I just wasn't around", URGENT),  # a passive wish
        ("would be nice to not wake up with a stiff neck for once", NONE),
    ],
)
def test_only_a_clear_denial_cancels_self_harm_words(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level, explanation(judge(text))


def test_hypothetical_signs_are_worries_not_signs() -> None:
    assert judge("I'll let you know if it gets worse").level is NONE
    assert judge("what should I do if I faint?").level is CONCERN  # asks for advice
    assert finding("call me if my chest hurts again", "chest_pain")["time"] == "hypothetical"


@pytest.mark.parametrize(
    ("text", "level", "experiencer", "time"),
    [
        ("my grandfather had a heart attack in 2010", NONE, "other", "historical"),
        ("my dad had a stroke years ago, I'm fine", NONE, "other", "historical"),
        ("my husband had chest pains last month, doctor said it's fine", NONE, "other", "past"),
        ("my son took a handful of my pills, what do i do", URGENT, "other", "now"),
        ("my friend says she wants to kill herself tonight", URGENT, "other", "now"),
        ("my husband collapsed and won't wake up", URGENT, "other", "now"),
        ("my mum has a migraine that won't go away", NONE, "other", "now"),
    ],
)
def test_someone_else(text: str, level: TriageLevel, experiencer: str, time: str) -> None:
    result = judge(text)
    assert result.level is level, explanation(result)
    serious = [f for f in explanation(result) if f["experiencer"] == "other"]
    assert serious
    assert serious[0]["time"] == time


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I had a stroke in 2015", CONCERN),  # the client's own long past: at most a concern
        ("I had a stroke in 2015, fully recovered", NONE),  # ... and nothing when fine
        ("back in my twenties I tried to overdose, that's all behind me", NONE),
        ("used to have panic attacks as a teen", NONE),
    ],
)
def test_the_clients_long_past(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level, explanation(judge(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("had chest pain last night, it's gone now", CONCERN),  # passed: one level down
        ("It hurt like hell yesterday, better today", NONE),
        ("my face drooped for a few minutes then went back to normal", URGENT),  # TIA
        ("felt suicidal last week but it passed", URGENT),
        ("keep passing out for a few seconds at a time", URGENT),
        # it keeps coming back, so it has not passed
        ("every time i stand up i get dizzy, then it goes away", CONCERN),
    ],
)
def test_what_has_passed(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level, explanation(judge(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("this stiff neck is murdering me haha", NONE),
        ("I could strangle my landlord", NONE),
        ("nearly had a stroke when i saw the petrol price haha", NONE),
        ("head's going to explode with all these emails", NONE),
        ("I was laughing so hard I couldn't breathe", NONE),
        ("he said he'd kill me haha", CONCERN),  # violence words said laughing: a concern
        ("want to die lol", CONCERN),  # self-harm words said laughing: still a concern
        ("lol my words are coming out all jumbled", URGENT),  # a plain sign, not a joke
        ("I'm dying for a coffee", NONE),
        ("Can't go on holiday this year but feeling good", NONE),
        # words taken back as a joke are still a concern, never nothing
        ("if my back doesnt sort itself out im going to start cutting again haha jk", CONCERN),
        ("i'm going to start cutting again", URGENT),
        ("i'm not joking, i'm going to start cutting again", URGENT),
    ],
)
def test_idioms_and_jokes(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level, explanation(judge(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("took the train to work, planning to rest tonight", NONE),  # a method needs more
        ("shaved my legs with a new razor and got a rash on my thigh", CONCERN),
        ("the cold sea swim had me gasping but it was amazing", NONE),
        ("feeling better for the session, i wish the knots would fade out", NONE),
        ("i wish i could just fade out and not be anywhere", URGENT),
        ("my baby has a slight temperature after her jabs but is feeding fine", NONE),
        ("my baby is 5 weeks old and has a 38.8 temperature, very floppy", URGENT),
        ("pressing the hot iron against my leg when things get too much", URGENT),
    ],
)
def test_ordinary_words_beside_red_flag_words(text: str, level: TriageLevel) -> None:
    assert judge(text).level is level, explanation(judge(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Selbstmordgedanken habe ich keine, keine Sorge.", NONE),
        ("suizidal oder so? nee gar ned, bin einfach nur bissl platt", NONE),
        ("suizidal? nein, naja manchmal schon", URGENT),
        ("manchmal denk ich die kids wären ohne mich echt besser dran", URGENT),
    ],
)
def test_german_denials_and_passive_wishes(text: str, level: TriageLevel) -> None:
    result = judge(text, locale="de")
    assert result.level is level, explanation(result)


@pytest.mark.parametrize(
    ("text", "locale", "level"),
    [
        ("fingers on my right hand are tingly and a bit numb, pins and needles", "en", CONCERN),
        ("my right arm went numb suddenly and i dropped my cup", "en", URGENT),
        ("die zehen am rechten fuss sind so taub, kommt das vom liegen?", "de", CONCERN),
        ("mein linker arm ist plötzlich ganz taub", "de", URGENT),
    ],
)
def test_pins_and_needles_on_one_side_is_no_stroke(
    text: str, locale: str, level: TriageLevel
) -> None:
    result = judge(text, locale=locale)
    assert result.level is level, explanation(result)


def test_explanation_names_concepts_context_and_effect() -> None:
    found = finding("my grandfather had a heart attack in 2010", "chest_pain")
    assert found == {
        "category": "chest",
        "flag": "chest_pain",
        "words": "heart attack",
        "negated": False,
        "time": "historical",
        "experiencer": "other",
        "joke": False,
        "passed": False,
        "effect": "none (someone else, long ago)",
    }


# --- the policy ----------------------------------------------------------------------

URGENT_SIGN = Flag("chest_pain", "chest", URGENT, (("chest",),), reason="chest pain")
SELF_HARM = Flag(
    "suicide_words",
    "suicide",
    URGENT,
    (("suicide_word",),),
    reason="self-harm language",
    persists=True,
    denial="clear",
    figurative="concern",
)


@pytest.mark.parametrize(
    ("flag", "context", "fine", "expected"),
    [
        (URGENT_SIGN, Context(), False, (URGENT, "as found")),
        (URGENT_SIGN, Context(negated=True), False, (NONE, "negated")),
        (SELF_HARM, Context(negated=True), False, (URGENT, "as found")),
        (SELF_HARM, Context(negated=True, clear_denial=True), False, (NONE, "denied")),
        (URGENT_SIGN, Context(time="hypothetical"), False, (NONE, "hypothetical")),
        (SELF_HARM, Context(time="hypothetical"), False, (CONCERN, "hypothetical")),
        (URGENT_SIGN, Context(experiencer="other"), False, (URGENT, "someone else now")),
        (
            URGENT_SIGN,
            Context(experiencer="other", time="past"),
            False,
            (CONCERN, "someone else, past"),
        ),
        (
            URGENT_SIGN,
            Context(experiencer="other", time="past"),
            True,
            (NONE, "someone else, past"),
        ),
        (
            URGENT_SIGN,
            Context(experiencer="other", time="historical"),
            False,
            (NONE, "someone else, long ago"),
        ),
        (URGENT_SIGN, Context(time="historical"), False, (CONCERN, "long ago")),
        (URGENT_SIGN, Context(time="historical"), True, (NONE, "long ago, fine now")),
        (URGENT_SIGN, Context(passed=True), False, (CONCERN, "passed")),
        (SELF_HARM, Context(passed=True), False, (URGENT, "as found")),
        (URGENT_SIGN, Context(joke=True), False, (URGENT, "as found")),
        (SELF_HARM, Context(joke=True), False, (CONCERN, "joke")),
    ],
)
def test_effect_is_the_documented_policy(
    flag: Flag, context: Context, fine: bool, expected: tuple[TriageLevel, str]
) -> None:
    assert effect(flag, context, fine=fine) == expected


# --- scores and changes ----------------------------------------------------------------


def test_a_written_score_counts_beside_a_symptom_only() -> None:
    assert judge("Pain 9/10 in my neck").reasons == ("describes discomfort as 9/10",)
    assert judge("neck pain 9 out of 10").level is CONCERN
    assert judge("The session was 10/10!").level is NONE
    assert judge("lower back sore, 3/10").level is NONE


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
    assert judge("okay", score, previous).level is level


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
        judge("okay", score, previous, change=change)


def test_unknown_change_is_refused() -> None:
    with pytest.raises(ValueError, match="change"):
        judge("okay", change="terrible")


def test_no_text_is_fine() -> None:
    assert judge(None) == TriageResult(NONE)
    assert judge("") == TriageResult(NONE)
    assert judge(None, 9).level is CONCERN


def test_level_rank_orders_levels() -> None:
    assert sorted(TriageLevel, key=level_rank) == [NONE, CONCERN, URGENT]


# --- spelling ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "i wanna die",
        "want 2 end it",
        "feeling suicidle tonight",
        "sucidal again",
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


# --- languages and the rules files -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Bin müde, aber gut", NONE),
        ("Keine Kopfschmerzen heute", NONE),
        ("Ich bin nicht in der Krise, nur etwas wund", NONE),
        ("Die Schmerzen sind unerträglich", CONCERN),
        ("Können Sie mich bitte anrufen?", CONCERN),
        ("Ich will nicht mehr leben", URGENT),
        ("Mir tut die Brust weh", URGENT),
        ("mein mann hat mich gewuergt", URGENT),
        ("bin heute morgen umgekippt", URGENT),
        ("muede", NONE),
    ],
)
def test_german(text: str, level: TriageLevel) -> None:
    assert judge(text, locale="de").level is level, explanation(judge(text, locale="de"))


def test_german_reasons_are_german() -> None:
    assert judge("Ich will sterben", locale="de").reasons == (
        "Sprache von Suizid oder Selbstverletzung",
    )
    assert judge("", 9, locale="de").reasons == ("starke Beschwerden: 9/10",)


def test_self_harm_words_are_heard_in_every_locale_with_the_hosts_reason() -> None:
    assert judge("Ich will nicht mehr leben").reasons == ("self-harm language",)
    assert judge("I don't want to live anymore", locale="de").level is URGENT
    assert judge("quiero morir", locale="de").level is URGENT
    assert judge("I'm not suicidal, just tired", locale="de").level is NONE


def test_locales_resolve_and_are_cached() -> None:
    assert triage_rules.available_locales()[0] == "en"
    assert {"en", "de"} <= set(triage_rules.available_locales())
    assert load_lexicon("de-AT") is DE
    assert load_lexicon("de_CH").locale == "de"
    assert load_lexicon("xx") is EN
    assert load_lexicon(None) is EN


MINIMAL: dict[str, Any] = {
    "context": {"negation": ["no"]},
    "concepts": {"pain": ["pain"], "bad": ["bad", "awful"]},
    "flag": [{"id": "pain", "level": "concern", "reason": "pain", "when": ["bad + pain"]}],
}


def test_a_lexicon_can_be_built_from_a_dict() -> None:
    lexicon = build_lexicon("xx", MINIMAL)
    assert triage("PAIN   is awful", None, [], lexicon).reasons == ("pain",)
    assert triage("no bad pain", None, [], lexicon).level is NONE


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"spelling": {}}, "unknown keys"),
        ({"flag": [{"id": "a", "level": "severe", "when": ["pain"]}]}, "level"),
        ({"flag": [{"id": "a", "level": "concern", "when": ["pain"]}]}, "needs a reason"),
        ({"flag": [{"id": "a", "level": "urgent", "reason": "r", "when": ["pain"]}]}, "source"),
        ({"flag": [{"id": "a", "level": "none", "when": "pain"}]}, "list"),
        ({"flag": [{"id": "a", "level": "none", "when": ["pain"], "shard": True}]}, "unknown"),
        ({"flag": [{"id": "a", "level": "none", "when": ["pain + nope"]}]}, "nope"),
        ({"flag": [{"id": "a", "level": "none", "when": ["pain +"]}]}, "joined by"),
        ({"flag": [{"id": "a", "level": "none", "when": ["pain"], "scope": "page"}]}, "scope"),
        ({"context": {"scope": -1}}, "whole number"),
        ({"concepts": {"pain": ["* pain"], "bad": ["bad"]}}, "phrase"),
        ({"concepts": {"pain": ["pain"], "bad": ["pain"]}}, "share"),
    ],
)
def test_malformed_rules_are_refused_with_a_reason(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(RulesError, match=problem):
        build_lexicon("xx", {**MINIMAL, **change})


@pytest.mark.parametrize("locale", triage_rules.available_locales())
def test_every_rules_file_loads_and_every_urgent_flag_names_its_source(locale: str) -> None:
    lexicon = load_lexicon(locale)
    assert lexicon.locale == locale
    assert all(flag.reason for flag in lexicon.flags if flag.level is not NONE)
    assert all(flag.source for flag in lexicon.flags if flag.level is URGENT)
    categories = {flag.category for flag in lexicon.flags if flag.level is URGENT}
    assert {
        "suicide",
        "self_harm",
        "overdose",
        "stroke",
        "chest",
        "dvt",
        "cauda_equina",
        "headache_meningitis",
        "violence_abuse",
        "fainting_collapse",
        "anaphylaxis",
        "breathing",
    } <= categories


# --- hostile input -------------------------------------------------------------------

EMOJI = st.sampled_from(
    ["😭", "🔪", "⚰️", "💀", "🙏", "👍🏽", "👨‍👩‍👧", "🇩🇪", "1️⃣", "\ufe0f", "\u200d"]
)
ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8")),
    st.lists(
        st.one_of(
            EMOJI,
            st.sampled_from(["no", "not", "pain", "chest", "pills", "all", ",", ".", "?", " "]),
        )
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
    """Only words after it that take it back ("JK") lower it, and never below a concern."""
    assert judge(f"{text}\nI want to die.").level is URGENT
    result = judge(f"{text}\nI want to die.\n{text}")
    if any(finding.context.retracted for finding in result.findings):
        assert result.level is CONCERN
    else:
        assert result.level is URGENT


@pytest.mark.parametrize("after", ["\n?no", ".?no", "\n? no thanks"])
def test_a_question_mark_after_a_full_stop_asks_nothing(after: str) -> None:
    """Only a sentence that ends in "?" is a question a "no" can answer."""
    assert judge(f"I want to die{after}").level is URGENT
    assert judge("suicidal thoughts?\nno").level is NONE


@pytest.mark.parametrize("emoji", ["😭", "🔪", "⚰️", "👍🏽"])
def test_four_thousand_emoji(emoji: str) -> None:
    text = emoji * 4000
    result = judge(text)
    assert result == judge(text)
    assert result.level is (NONE if emoji in ("😭", "👍🏽") else CONCERN)
    assert judge(text + " I want to die").level is URGENT


# --- a question the client tells of ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("saw ur q about bladder n numbness down there - no nothing like that, just achy", "en"),
        ("u asked about dizziness - no, not at all, im ok", "en"),
        ("My daughter asked if I was having a stroke because I was tired. No, all fine.", "en"),
        ("Sie fragten nach Taubheit im Intimbereich - nein, gar nichts", "de"),
        ("Schlaganfall?? na geh, nein, nix dergleichen", "de"),
    ],
)  # fmt: skip
def test_an_answer_to_a_question_the_client_tells_of_denies(text: str, locale: str) -> None:
    assert judge(text, locale=locale).level is NONE


@pytest.mark.parametrize(
    "text",
    [
        "you asked about suicidal thoughts. yes, every day. no one knows",
        "u asked about chest pain - yes it's crushing and my arm aches. no idea why",
        "you asked if i had numbness down there, i do. no control of my bladder either",
    ],
)
def test_telling_of_a_question_takes_nothing_back_without_a_denial(text: str) -> None:
    assert judge(text).level is URGENT


def test_an_insurer_is_no_low_mood() -> None:
    assert judge("can I move Thursday? also do you take Blue Cross?").level is NONE


def test_working_on_icu_is_no_emergency_but_being_taken_there_is() -> None:
    assert judge("tired but that's my nights on ICU for you").level is not URGENT
    assert judge("i was rushed to icu last night").level is not NONE


# --- words that only look like signs, and the signs beside them ------------------------


@pytest.mark.parametrize(
    ("text", "locale", "level"),
    [
        ("the lot was full so i got a ticket lol", "en", NONE),
        ("i took the lot last night", "en", URGENT),
        ("i od'd back in 09, clean 14 yrs now. body feels real good today", "en", NONE),
        ("this heatwave is killing me 🥵 but back is lovely", "en", NONE),
        ("my lower back is killing me since the session", "en", CONCERN),
        ("nae numbness nae tinglin, nothin like that", "en", NONE),
        ("stroke? no lah nothing like that, face just tired from smiling", "en", NONE),
        ("odd dreams, but feeling rather lighter in myself", "en", NONE),
        ("held the lighter to my arm again last night", "en", URGENT),
        ("Slurred speech? No my speech is fine, she was teasing me", "en", NONE),
        ("my speech is slurred and my face feels odd", "en", URGENT),
        ("my boss will literally unalive me if im late again lol", "en", NONE),
        ("ich bringe mich um", "de", URGENT),
        ("er bringt mich noch um", "de", URGENT),
        ("die hitze bringt mich noch um", "de", NONE),
        ("umgekippt bin ich ned, schwindlig auch ned", "de", NONE),
        ("Schlaganfall? Naa, ganz sicher nicht 😅", "de", NONE),
        ("mein kleiner hatte letzte woche fieber, is jetzt wieder fit und ich auch", "de", NONE),
        ("der kleine hat durchgeschlafen und ich auch, nacken locker", "de", NONE),
        ("wo parkt man am besten, letztes mal ein knöllchen 😤", "de", NONE),
        ("alles super 🙃 kann den kopf nicht drehen", "de", CONCERN),
        ("wollt mir die arme aufritzen so nervig war der tag 😂 jk jk", "de", CONCERN),
        ("hab mir gestern die arme aufgeritzt", "de", URGENT),
        ("chest pain? nope 😂 only pain is my electricity bill", "en", NONE),
        ("a stroke? nope just my face drooping on one side since lunch", "en", URGENT),
        ("You asked me to tell you if my face drooped. It did not.", "en", NONE),
        ("she asked if my face was drooping 🙄 no it absolutely is not", "en", NONE),
        ("I had a seizure once when I was like 12, never since. Feeling good", "en", NONE),
        ("mein vater hatte 2012 einen schlaganfall, aber mir gehts bestens", "de", NONE),
        ("meine oma is letzten winter umgekippt, der gehts wieder gut. mir auch", "de", NONE),
        ("wenn ich wieder zu spät komm bringt mich meine frau um 😂", "de", NONE),
        ("er hat gesagt wenn ich gehe bringt er mich um", "de", URGENT),
        ("die bahn fällt aus, ich krieg die krise 🤬", "de", NONE),
    ],
)  # fmt: skip
def test_what_a_word_is_depends_on_the_words_around_it(
    text: str, locale: str, level: TriageLevel
) -> None:
    assert judge(text, locale=locale).level is level, explanation(judge(text, locale=locale))
