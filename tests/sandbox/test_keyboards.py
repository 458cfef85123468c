"""reply_markup validation as Telegram does it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.errors import ApiError
from bot.sandbox.keyboards import parse_reply_markup


def refusal(markup: Any) -> str:
    with pytest.raises(ApiError) as caught:
        parse_reply_markup(markup)
    assert caught.value.error_code == 400
    return caught.value.description


def keyboard(**button: Any) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": "Tap", **button}]]}


def test_callback_data_up_to_64_bytes_is_accepted() -> None:
    markup = parse_reply_markup(keyboard(callback_data="x" * 64))
    assert markup.inline_keyboard == [[{"text": "Tap", "callback_data": "x" * 64}]]
    assert parse_reply_markup(keyboard(callback_data="é" * 32)).inline_keyboard


@pytest.mark.parametrize("data", ["x" * 65, "é" * 33, "😀" * 17])
def test_callback_data_over_64_bytes_is_refused(data: str) -> None:
    assert refusal(keyboard(callback_data=data)) == "Bad Request: BUTTON_DATA_INVALID"


@pytest.mark.parametrize(
    "url", ["https://t.me/stillpoint_sandbox_bot?start=x", "http://example.org", "tg://user?id=1"]
)
def test_good_urls(url: str) -> None:
    assert parse_reply_markup(keyboard(url=url)).inline_keyboard == [[{"text": "Tap", "url": url}]]


@pytest.mark.parametrize("url", ["ftp://example.org", "example.org", "https://", "http://a b.org"])
def test_bad_urls(url: str) -> None:
    assert refusal(keyboard(url=url)) == "Bad Request: BUTTON_URL_INVALID"


def test_a_button_needs_exactly_one_action_and_some_text() -> None:
    assert refusal(keyboard()) == "Bad Request: text buttons are unallowed in the inline keyboard"
    assert refusal(keyboard(callback_data="")) == (
        "Bad Request: text buttons are unallowed in the inline keyboard"
    )
    assert "exactly one" in refusal(keyboard(callback_data="a", url="https://example.org"))
    assert refusal({"inline_keyboard": [[{"text": " ", "callback_data": "a"}]]}) == (
        "Bad Request: BUTTON_TEXT_INVALID"
    )
    assert "text" in refusal({"inline_keyboard": [[{"callback_data": "a"}]]})


def test_shapes() -> None:
    assert "Array of Arrays" in refusal({"inline_keyboard": [{"text": "a"}]})
    assert "Array of Arrays" in refusal({"inline_keyboard": "nope"})
    assert "must be an Object" in refusal({"inline_keyboard": [["a"]]})
    assert refusal([1]) == "Bad Request: can't parse reply keyboard markup JSON object"
    assert parse_reply_markup(None).inline_keyboard is None


def test_other_keyboards_are_kept_for_the_listing() -> None:
    reply = parse_reply_markup({"keyboard": [["Yes", {"text": "No"}]]})
    assert reply.other == {"keyboard": [["Yes", "No"]]}
    assert parse_reply_markup({"remove_keyboard": True}).other == {"remove_keyboard": True}
    assert parse_reply_markup({"force_reply": True}).other == {"force_reply": True}


def test_a_hundred_buttons_fit_and_more_or_a_huge_markup_is_too_long() -> None:
    row = [{"text": str(n), "callback_data": str(n)} for n in range(10)]
    assert parse_reply_markup({"inline_keyboard": [row] * 10}).inline_keyboard
    too_long = "Bad Request: reply markup is too long"
    assert refusal({"inline_keyboard": [row] * 10 + [row[:1]]}) == too_long
    wide = [{"text": "x" * 200, "callback_data": "d"} for _ in range(60)]
    assert refusal({"inline_keyboard": [[b] for b in wide]}) == too_long
