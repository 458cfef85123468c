"""One line per answered check-in, for a client card and the morning digest: the score
with its change from the check-in before, the comparison with before the session, body
areas, the first words of any text, and the level.

Each fact is its own catalog text starting with its separator, or ``""`` when the client
did not give it, so a line reads the same in every language without empty slots.
"""

from __future__ import annotations

from typing import Any

from bot.domain.aftercare import CHANGES
from bot.domain.outgoing import Text
from bot.domain.text_params import embed
from bot.domain.trend import Answers
from bot.services.flags.views import areas_list, level_text, shorten

FIRST_WORDS = 60
"""How much of a client's words a one-line summary shows, in UTF-16 code units."""


def answer_facts(
    answers: Answers, previous_score: int | None, *, with_areas: bool = True
) -> dict[str, Any]:
    """The parameters ``score``, ``change``, ``areas``, ``words`` and ``level`` of a line."""
    return {
        "score": _score(answers.score, previous_score),
        "change": (
            embed(Text("card.change", {"change": embed(Text(f"flag.change_{answers.change}"))}))
            if answers.change in CHANGES
            else ""
        ),
        "areas": _areas(answers.areas) if with_areas else "",
        "words": _first_words(answers.words),
        "level": level_text(answers.level),
    }


def _score(score: int | None, previous: int | None) -> dict[str, Any] | str:
    if score is None:
        return ""
    if previous is None:
        return embed(Text("card.score", {"score": score}))
    if score == previous:
        return embed(Text("card.score_same", {"score": score}))
    key = "card.score_up" if score > previous else "card.score_down"
    return embed(Text(key, {"score": score, "by": abs(score - previous)}))


def _areas(areas: tuple[str, ...]) -> dict[str, Any] | str:
    listed = areas_list(areas)
    return "" if listed is None else embed(Text("card.areas", {"areas": listed}))


def _first_words(words: str | None) -> dict[str, Any] | str:
    if not words:
        return ""
    shown, cut = shorten(" ".join(words.split()), FIRST_WORDS)
    if cut and " " in shown:
        shown = shown.rsplit(" ", 1)[0]  # end on a whole word
    return embed(Text("card.words_cut" if cut else "card.words", {"words": shown}))
