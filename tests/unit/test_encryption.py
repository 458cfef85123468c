"""Data keys and single-value encryption (AES-256-GCM)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cli import main
from bot.encryption import (
    PREFIX,
    DataKeyError,
    DecryptionError,
    KeyRing,
    key_id_of,
    new_key,
)

WORDS = "my neck is worse, I can't sleep 😞 <b>"
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def test_a_value_comes_back_as_it_went_in_and_never_shows_in_the_clear() -> None:
    ring = KeyRing.parse(new_key(NOW))
    sealed = ring.encrypt(WORDS, "replies.text")
    assert sealed.startswith(f"{PREFIX}:{ring.current}:")
    assert "neck" not in sealed
    assert ring.decrypt(sealed, "replies.text") == WORDS


def test_the_same_words_twice_give_different_values() -> None:
    ring = KeyRing.parse(new_key(NOW))
    assert ring.encrypt(WORDS, "replies.text") != ring.encrypt(WORDS, "replies.text")


def test_a_value_moved_to_another_column_or_altered_does_not_decrypt() -> None:
    ring = KeyRing.parse(new_key(NOW))
    sealed = ring.encrypt(WORDS, "replies.text")
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, "clients.full_name")
    altered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DecryptionError):
        ring.decrypt(altered, "replies.text")


def test_a_value_names_its_key_and_a_ring_without_it_says_which_is_missing() -> None:
    old, new = new_key(NOW), new_key(NOW)
    sealed = KeyRing.parse(old).encrypt(WORDS, "replies.text")
    old_id = old.partition(":")[0]
    assert key_id_of(sealed) == old_id
    assert key_id_of(WORDS) is None
    with pytest.raises(DataKeyError, match=old_id):
        KeyRing.parse(new).decrypt(sealed, "replies.text")
    rotating = KeyRing.parse(f"{new},{old}")  # the first encrypts, all decrypt
    assert rotating.current == new.partition(":")[0]
    assert rotating.decrypt(sealed, "replies.text") == WORDS


def test_new_keys_are_fresh_dated_and_readable() -> None:
    first, second = new_key(datetime(2026, 12, 4, tzinfo=UTC)), new_key(NOW)
    assert first.startswith("20261204-")
    assert first != second
    assert KeyRing.parse(first).keys != KeyRing.parse(second).keys


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("no-colon", "id:key"),
        ("k1:@@@", "base64"),
        ("k1:c2hvcnQ", "32 bytes"),
    ],
)
def test_a_bad_key_ring_is_refused_with_its_reason(text: str, problem: str) -> None:
    with pytest.raises(DataKeyError, match=problem):
        KeyRing.parse(text)


def test_a_refusal_never_shows_the_key() -> None:
    key = new_key(NOW)
    secret = key.partition(":")[2]
    with pytest.raises(DataKeyError) as refused:
        KeyRing.parse(f"{key},{key}")
    assert secret not in str(refused.value)


def test_a_key_ring_shown_in_a_log_line_shows_no_key() -> None:
    key = new_key(NOW)
    ring = KeyRing.parse(key)
    shown = f"{ring!r} {ring}"
    assert key.partition(":")[0] in shown
    assert key.partition(":")[2] not in shown
    assert str(ring.keys[ring.current]) not in shown


def test_the_same_key_id_twice_is_refused() -> None:
    key = new_key(NOW)
    with pytest.raises(DataKeyError, match="twice"):
        KeyRing.parse(f"{key},{key}")


def test_keys_new_prints_a_key_the_ring_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new"]) == 0
    [line] = [li for li in capsys.readouterr().out.splitlines() if li.startswith("DATA_KEY=")]
    ring = KeyRing.parse(line.removeprefix("DATA_KEY="))
    assert ring.decrypt(ring.encrypt("x", "t"), "t") == "x"
