"""Texts as Telegram stores them: clean-up, trimming, limits, bot commands."""

from __future__ import annotations

import pytest

from bot.sandbox.errors import ApiError
from bot.sandbox.text import caption_text, message_text, user_text


def bad(call: object) -> str:
    assert isinstance(call, ApiError)
    return call.description


def test_surrounding_spaces_and_newlines_are_trimmed() -> None:
    assert message_text("  \n hello \n\n", None).text == "hello"


def test_entities_follow_the_trim_and_whitespace_only_entities_vanish() -> None:
    trimmed = message_text("<b>hi </b>", "HTML")
    assert (trimmed.text, trimmed.entities) == ("hi", ({"type": "bold", "offset": 0, "length": 2},))
    blank = message_text("<b> </b>hi", "HTML")
    assert (blank.text, blank.entities) == ("hi", ())
    shifted = message_text(" <i>x</i>", "HTML")
    assert shifted.entities == ({"type": "italic", "offset": 0, "length": 1},)


def test_leading_spaces_inside_the_first_entity_are_kept_like_telegram() -> None:
    kept = message_text("<b> x</b>", "HTML")
    assert (kept.text, kept.entities) == (" x", ({"type": "bold", "offset": 0, "length": 2},))


def test_control_characters_become_spaces_and_carriage_returns_go() -> None:
    assert message_text("a\tb\r\nc\x00d", None).text == "a b\nc d"


def test_removed_characters_shift_entities() -> None:
    cleaned = message_text("a\r\r<b>b</b>", "html")
    assert (cleaned.text, cleaned.entities) == ("ab", ({"type": "bold", "offset": 1, "length": 1},))


@pytest.mark.parametrize("raw", [None, "", "   ", "\n\t", "<b></b>", "<b> </b>"])
def test_empty_text_is_refused(raw: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        message_text(raw, "HTML")
    assert caught.value.description == "Bad Request: message text is empty"


def test_length_limit_counts_code_points_after_parsing() -> None:
    assert len(message_text("a" * 4096, None).text) == 4096
    assert len(message_text("😀" * 4096, None).text) == 4096
    assert len(message_text("<b>" + "a" * 4096 + "</b>", "HTML").text) == 4096
    assert len(message_text("&amp;" * 4096, "HTML").text) == 4096
    with pytest.raises(ApiError) as caught:
        message_text("a" * 4097, None)
    assert caught.value.description == "Bad Request: message is too long"


def test_caption_limit_and_empty_caption() -> None:
    assert caption_text(None, None) is None
    assert caption_text("  ", None) is None
    caption = caption_text("c" * 1024, None)
    assert caption is not None
    assert len(caption.text) == 1024
    with pytest.raises(ApiError) as caught:
        caption_text("c" * 1025, None)
    assert caught.value.description == "Bad Request: message caption is too long"


def test_parse_modes() -> None:
    assert message_text("<b>x</b>", "hTmL").entities
    assert message_text("<b>x</b>", "").text == "<b>x</b>"
    with pytest.raises(ApiError) as caught:
        message_text("x", "Klingon")
    assert caught.value.description == "Bad Request: unsupported parse_mode"


def test_parse_errors_carry_telegrams_prefix() -> None:
    with pytest.raises(ApiError) as caught:
        message_text("<x>", "HTML")
    assert caught.value.error_code == 400
    assert caught.value.description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0'
    )


def test_explicit_entities_are_kept_when_inside_the_text() -> None:
    given = [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "italic", "offset": 5, "length": 9},
    ]
    assert message_text("hello", None, given).entities == (
        {"type": "bold", "offset": 0, "length": 2},
    )
    with pytest.raises(ApiError):
        message_text("hello", None, [{"type": "sparkles", "offset": 0, "length": 1}])


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("/start", 6),
        ("/start payload", 6),
        ("/start@stillpoint_sandbox_bot go", 29),
        ("/book Client 2030-01-01 09:00", 5),
    ],
)
def test_leading_command_gets_a_bot_command_entity(text: str, length: int) -> None:
    assert user_text(text).entities == ({"type": "bot_command", "offset": 0, "length": length},)


@pytest.mark.parametrize("text", ["hello /start", "/", "/ start", "//x", "/start/x"])
def test_no_command_entity_otherwise(text: str) -> None:
    assert user_text(text).entities == ()
