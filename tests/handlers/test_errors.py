"""What the bot logs and tells the operator when something goes wrong, by what it means."""

import asyncio
import dataclasses
import logging
from typing import Any

import pytest

import messages
from bot.domain.outgoing import Text
from bot.runtime import install, runtime_of
from bot.services.access import Refused
from handlers.errors import OperatorAlerts, operator_alerts
from handlers.privacy import ERASE_CONFIRM
from tests.handlers.conftest import GUEST_ID, Harness

OPERATOR = 4040
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


def _press(data: str, text: str = "Erase everything?") -> dict[str, Any]:
    return {
        "callback_query": {
            "id": "cb-7",
            "chat_instance": "ci",
            "data": data,
            "from": {"id": GUEST_ID, "is_bot": False, "first_name": "User"},
            "message": {
                "message_id": 55,
                "date": 1_767_000_000,
                "chat": {"id": GUEST_ID, "type": "private", "first_name": "User"},
                "text": text,
            },
        }
    }


def _with_operator(harness: Harness) -> None:
    rt = runtime_of(harness.app)
    settings = rt.settings.model_copy(update={"operator_chat_id": OPERATOR})
    install(harness.app, dataclasses.replace(rt, settings=settings))


def _loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_a_press_answered_too_late_is_still_acted_on_and_is_one_info_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _with_operator(harness)
    harness.request.fail_next("answerCallbackQuery", 400, TOO_OLD)
    await harness.feed(_press(ERASE_CONFIRM))
    [edit] = [c for c in harness.request.calls if c.method == "editMessageText"]
    assert edit.params["text"] == messages.render("erase.nothing")
    assert "answered too late" in caplog.text
    assert _loud(caplog) == []
    assert harness.request.sent_texts() == []  # no apology, nothing to the operator


async def test_a_double_tap_that_changes_nothing_is_one_info_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _with_operator(harness)
    harness.request.fail_next("editMessageText", 400, NOT_MODIFIED)
    await harness.feed(_press(ERASE_CONFIRM))
    assert "changed nothing" in caplog.text
    assert _loud(caplog) == []
    assert harness.request.sent_texts() == []


async def test_a_press_whose_answer_is_already_on_screen_edits_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    shown = messages.render_plain("erase.nothing")
    await harness.feed(_press(ERASE_CONFIRM, text=shown))
    assert [c for c in harness.request.calls if c.method == "editMessageText"] == []
    assert "changed nothing" in caplog.text


async def test_the_button_is_answered_before_the_work_is_done(harness: Harness) -> None:
    await harness.feed(_press(ERASE_CONFIRM))
    methods = [c.method for c in harness.request.calls if c.method != "getMe"]
    assert methods.index("answerCallbackQuery") < methods.index("editMessageText")


async def test_a_message_too_old_to_edit_gets_the_answer_as_a_new_message(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.request.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    await harness.feed(_press(ERASE_CONFIRM))
    assert harness.request.sent_texts(GUEST_ID) == [messages.render("erase.nothing")]
    assert _loud(caplog) == []


async def test_telegram_out_of_reach_is_a_warning_without_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _with_operator(harness)
    harness.request.fail_next("answerCallbackQuery", 502, "Bad Gateway")
    await harness.feed(_press(ERASE_CONFIRM))
    [warning] = _loud(caplog)
    assert warning.levelno == logging.WARNING
    assert warning.exc_info is None
    assert harness.request.sent_texts(OPERATOR) == []


async def test_faults_reach_the_operator_at_most_once_per_window(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _with_operator(harness)

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    harness.db.clients.by_telegram_id = broken  # type: ignore[method-assign,assignment]
    for _ in range(5):
        await harness.send(GUEST_ID, "/help")
    [alert] = harness.request.sent_texts(OPERATOR)
    assert alert == messages.render("operator.bot_error", error="RuntimeError")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 5
    assert all(r.exc_info for r in errors)
    assert operator_alerts(harness.app).unreported == 4


async def test_the_next_operator_alert_counts_those_held_back() -> None:
    alerts = OperatorAlerts(every_s=0.2)
    assert await alerts.take() == 0
    assert await alerts.take() is None
    assert await alerts.take() is None
    await asyncio.sleep(0.25)
    assert await alerts.take() == 2
    assert alerts.unreported == 0


async def test_a_refusal_that_reaches_the_error_handler_is_answered_kindly_and_is_info(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _with_operator(harness)

    def refuse(*_args: object) -> None:
        raise Refused(Text("access.not_found"))

    harness.db.clients.by_telegram_id = refuse  # type: ignore[method-assign,assignment]
    assert await harness.send(GUEST_ID, "/help") == [messages.render("access.not_found")]
    assert "was refused" in caplog.text
    assert _loud(caplog) == []
    assert harness.request.sent_texts(OPERATOR) == []
