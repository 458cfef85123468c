"""How a check-in looks: the question of each step and its buttons."""

from __future__ import annotations

from bot.domain import callbacks
from bot.domain.callbacks import CheckInAction
from bot.ports import Button, OutgoingMessage, Text

SCORES = range(11)


def score_question(checkin_id: int) -> OutgoingMessage:
    """ "How is your body feeling today?" with 0-10, Skip and Remind me later."""
    scores = [
        Button(
            Text("button.score", {"score": n}),
            callbacks.checkin(checkin_id, CheckInAction.SCORE, n),
        )
        for n in SCORES
    ]
    return OutgoingMessage(
        Text("checkin.score_question"),
        (
            tuple(scores[:6]),
            tuple(scores[6:]),
            (
                Button(Text("button.skip"), callbacks.checkin(checkin_id, CheckInAction.SKIP)),
                Button(Text("button.later"), callbacks.checkin(checkin_id, CheckInAction.LATER)),
            ),
        ),
    )
