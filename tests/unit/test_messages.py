import re
from pathlib import Path

import pytest

import messages
from bot.sandbox.errors import ApiError
from bot.sandbox.text import message_text, utf16_length
from messages import Markup, MissingMessageError, render

LOCALES = messages.available_locales()
KEYS = sorted(messages.catalog(messages.DEFAULT_LOCALE))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_exists_in_every_locale(locale: str) -> None:
    assert set(messages.catalog(locale)) == set(KEYS)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_agree_across_locales(locale: str) -> None:
    default = messages.catalog(messages.DEFAULT_LOCALE)
    for key, text in messages.catalog(locale).items():
        assert messages.placeholders(text) == messages.placeholders(default[key]), key


def test_parameters_are_escaped() -> None:
    text = render("input.unknown_command", "en", command="/<b>&amp;")
    assert "/&lt;b&gt;&amp;amp;" in text
    assert "<b>" not in text


def test_markup_parameters_are_not_escaped_again() -> None:
    assert "<i>x</i>" in render("input.unknown_command", "en", command=Markup("<i>x</i>"))


def test_a_missing_parameter_is_an_error() -> None:
    with pytest.raises(ValueError, match="command"):
        render("input.unknown_command", "en")


def test_an_unknown_key_is_an_error() -> None:
    with pytest.raises(MissingMessageError):
        render("no.such.key")


def test_unknown_locales_fall_back_to_the_default() -> None:
    assert render("privacy.text", "xx") == render("privacy.text", messages.DEFAULT_LOCALE)


@pytest.mark.parametrize(
    ("code", "expected"), [("en-GB", "en"), ("EN", "en"), (None, "en"), ("", "en"), ("zz", "en")]
)
def test_language_codes_map_to_locales(code: str | None, expected: str) -> None:
    assert messages.normalize_locale(code) == expected


def test_no_user_facing_literals_in_handlers() -> None:
    handlers_dir = Path(__file__).resolve().parents[2] / "handlers"
    source = "\n".join(p.read_text() for p in handlers_dir.glob("*.py"))
    # reply_text / answer / send_message are only ever given rendered catalog texts
    assert not re.search(r"(reply_text|reply_html|send_message|answer)\(\s*[\"']", source)


SAMPLE_VALUES = {
    "name": "A <b>&",
    "command": "/x<i>",
    "limit": 4096,
    "client": "C & D",
    "error": "E",
    "count": 3,
}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_text_is_telegram_html_within_limits(locale: str) -> None:
    for key, template in messages.catalog(locale).items():
        params = {name: SAMPLE_VALUES[name] for name in messages.placeholders(template)}
        html = render(key, locale, **params)
        try:
            shown = message_text(html, "HTML")
        except ApiError as error:
            pytest.fail(f"{locale}:{key} is refused by Telegram's HTML rules: {error}")
        assert 0 < utf16_length(shown.text) <= 4096, key


def test_german_speakers_get_german() -> None:
    assert render("privacy.text", messages.normalize_locale("de-AT")).startswith("<b>Deine")
